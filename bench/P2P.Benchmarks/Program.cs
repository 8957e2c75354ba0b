using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/P2P.Benchmarks -- --filter '*StunCodec*'   (BenchmarkDotNet)
// dotnet run -c Release --project bench/P2P.Benchmarks -- tcp [MiB]                (raw loopback TCP, the ceiling)
// dotnet run -c Release --project bench/P2P.Benchmarks -- connect [runs]           (connect time p50/p99, host and relay-only)
// dotnet run -c Release --project bench/P2P.Benchmarks -- datachannel [runs] [--turn 127.0.0.1:port user pass]  (ours<->ours data channel, direct or relay-only)
// dotnet run -c Release --project bench/P2P.Benchmarks -- sessions [1,10,...] [--secure] [--load N] [--plot f.png]  (many sessions, two processes)
// dotnet run -c Release --project bench/P2P.Benchmarks -- hostcycles [10000] [--batch 100] [--warmup 1000]  (open/close cycles in one p2p host: back to baseline?)
// dotnet run -c Release --project bench/P2P.Benchmarks -- relayload <host:port> <user> <pass> <server-pid>
//     [--allocations A] [--window W] [--seconds D] [--size B] [--label name]         (TURN relay load; bench/run-relay.sh)
// dotnet run -c Release --project bench/P2P.Benchmarks -- signalload --urls ws://a/,ws://b/ --pids 1,2 [--rooms R] [--concurrency C]
//     [--idle M] [--idle-seconds S] [--label name]                                    (p2p signal, one node or a fleet; bench/run-fleet.sh)
// dotnet run -c Release --project bench/P2P.Benchmarks -- browser [--runs 10]       (connect time, Chromium's page <-> p2p and page <-> page; root, chromium)
// dotnet run -c Release --project bench/P2P.Benchmarks -- userfelt [--mib 200] [--lines 200] [--runs 3]  (two p2p processes: file, first line, line latency)
if (args.Length > 0 && args[0] == "tcp")
    return await P2P.Benchmarks.LoopbackTcpBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int mib) ? mib : 2048);
if (args.Length > 0 && args[0] == "connect")
    return await P2P.Benchmarks.ConnectBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int connectRuns) ? connectRuns : 200);
if (args.Length > 0 && args[0] == "sessions")
    return await P2P.Benchmarks.ManySessionsBench.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "sessions-peer")
    return await P2P.Benchmarks.ManySessionsBench.PeerMainAsync(args[1..]);
if (args.Length > 0 && args[0] == "datachannel")
{
    // datachannel [runs] [--turn 127.0.0.1:port user pass]: relay-only through that TURN server
    int turnAt = Array.IndexOf(args, "--turn");
    var turn = turnAt > 0 && turnAt + 3 < args.Length
        ? new P2P.Actors.Turn.TurnServer(System.Net.IPEndPoint.Parse(args[turnAt + 1]), new P2P.Actors.Turn.TurnCredentials(args[turnAt + 2], args[turnAt + 3]))
        : null;
    return await P2P.Benchmarks.DataChannelBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int runs) ? runs : 5, turn);
}
if (args.Length > 0 && args[0] == "hostcycles")
    return await P2P.Benchmarks.HostCyclesBench.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "userfelt")
    return await P2P.Benchmarks.UserFeltBench.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "tcp-reader")
    return P2P.Benchmarks.UserFeltBench.TcpReaderMain(args[1..]);
if (args.Length > 0 && args[0] == "browser")
    return await P2P.Benchmarks.BrowserConnectBench.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "signalload")
    return await P2P.Benchmarks.SignalLoad.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "relayload")
    return await P2P.Benchmarks.RelayLoad.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(P2P.Benchmarks.StunCodecBenchmarks).Assembly).Run(args);
return 0;
