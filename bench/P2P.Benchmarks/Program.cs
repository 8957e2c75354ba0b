using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/P2P.Benchmarks -- --filter '*StunCodec*'   (BenchmarkDotNet)
// dotnet run -c Release --project bench/P2P.Benchmarks -- tcp [MiB]                (raw loopback TCP, the ceiling)
// dotnet run -c Release --project bench/P2P.Benchmarks -- connect [runs]           (connect time p50/p99, host and relay-only)
// dotnet run -c Release --project bench/P2P.Benchmarks -- datachannel [runs]       (ours<->ours data channel on 127.0.0.1)
// dotnet run -c Release --project bench/P2P.Benchmarks -- relayload <host:port> <user> <pass> <server-pid>
//     [--allocations A] [--window W] [--seconds D] [--size B] [--label name]         (TURN relay load; bench/run-relay.sh)
if (args.Length > 0 && args[0] == "tcp")
    return await P2P.Benchmarks.LoopbackTcpBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int mib) ? mib : 2048);
if (args.Length > 0 && args[0] == "connect")
    return await P2P.Benchmarks.ConnectBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int connectRuns) ? connectRuns : 200);
if (args.Length > 0 && args[0] == "datachannel")
    return await P2P.Benchmarks.DataChannelBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int runs) ? runs : 5);
if (args.Length > 0 && args[0] == "relayload")
    return await P2P.Benchmarks.RelayLoad.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(P2P.Benchmarks.StunCodecBenchmarks).Assembly).Run(args);
return 0;
