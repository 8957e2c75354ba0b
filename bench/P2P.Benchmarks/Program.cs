using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/P2P.Benchmarks -- --filter '*StunCodec*'   (BenchmarkDotNet)
// dotnet run -c Release --project bench/P2P.Benchmarks -- tcp [MiB]                (raw loopback TCP, the ceiling)
// dotnet run -c Release --project bench/P2P.Benchmarks -- connect [runs]           (connect time p50/p99, host and relay-only)
// dotnet run -c Release --project bench/P2P.Benchmarks -- datachannel [runs]       (ours<->ours data channel on 127.0.0.1)
// dotnet run -c Release --project bench/P2P.Benchmarks -- sessions [1,10,...] [--secure] [--plot f.png]  (many sessions, two processes)
if (args.Length > 0 && args[0] == "tcp")
    return await P2P.Benchmarks.LoopbackTcpBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int mib) ? mib : 2048);
if (args.Length > 0 && args[0] == "connect")
    return await P2P.Benchmarks.ConnectBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int connectRuns) ? connectRuns : 200);
if (args.Length > 0 && args[0] == "sessions")
    return await P2P.Benchmarks.ManySessionsBench.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "sessions-peer")
    return await P2P.Benchmarks.ManySessionsBench.PeerMainAsync(args[1..]);
if (args.Length > 0 && args[0] == "datachannel")
    return await P2P.Benchmarks.DataChannelBench.RunAsync(args.Length > 1 && int.TryParse(args[1], out int runs) ? runs : 5);
BenchmarkSwitcher.FromAssembly(typeof(P2P.Benchmarks.StunCodecBenchmarks).Assembly).Run(args);
return 0;
