using Akka.Configuration;

namespace P2P.Benchmarks;

/// <summary>
/// The settings every bench runs with: the product's own akka.hocon (copied next to the binary), so the figures are
/// those of its settings, with warnings only in the log, or what BENCH_AKKA says instead (e.g. "akka.loglevel = DEBUG").
/// </summary>
public static class BenchConfig
{
    public static Config Load() =>
        ConfigurationFactory.ParseString(Environment.GetEnvironmentVariable("BENCH_AKKA") ?? "akka.loglevel = WARNING")
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "akka.hocon"))));
}
