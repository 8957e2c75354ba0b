using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/P2P.Benchmarks -- --filter '*StunCodec*'
BenchmarkSwitcher.FromAssembly(typeof(P2P.Benchmarks.StunCodecBenchmarks).Assembly).Run(args);
