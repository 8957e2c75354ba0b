using System.Globalization;
using System.Net;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Turn;

namespace P2P.Benchmarks;

/// <summary>
/// Connect time ours to ours on 127.0.0.1: from OpenSession on both peers to the data channel open on the far side
/// (ICE, DTLS 1.2, SCTP, DCEP), p50 and p99 over the runs; once with host candidates, once relay-only through our
/// relay (in the process, on 127.0.0.1). Fresh peers every run, after warm-up runs (tiered JIT). Run:
/// <c>dotnet run -c Release --project bench/P2P.Benchmarks -- connect [runs]</c>
/// </summary>
public static class ConnectBench
{
    private const int WarmUpRuns = 10;

    public static async Task<int> RunAsync(int runs)
    {
        var config = BenchConfig.Load();
        using var system = ActorSystem.Create("connect", config);

        var host = await MeasureAsync(system, "host", runs, CandidatePolicy.All, []);
        Console.WriteLine(Line("host candidates", host));
        Console.WriteLine(Steps(host));

        var relayed = await MeasureAsync(system, "relay", runs, CandidatePolicy.RelayOnly, null);
        Console.WriteLine(Line("relay-only (p2p relay)", relayed));
        Console.WriteLine(Steps(relayed));
        return 0;
    }

    /// <param name="turn">Host candidates when empty; null for relay-only through a relay of the run's own (a
    /// stopped peer leaves its allocation to time out, and a later peer on the same port would meet 437).</param>
    private static async Task<List<DataChannelBench.OpenPair>> MeasureAsync(ActorSystem system, string name, int runs, CandidatePolicy policy, IReadOnlyList<TurnServer>? turn)
    {
        var times = new List<DataChannelBench.OpenPair>();
        for (int run = -WarmUpRuns; run < runs; run++)
        {
            string tag = $"{name}-{run + WarmUpRuns}";
            IActorRef? relay = null;
            if (turn is null)
            {
                relay = system.ActorOf(RelayServer.Props(RelaySettings.From(system.Settings.Config) with
                {
                    Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
                    Users = new Dictionary<string, string> { ["bench"] = "bench" },
                    AllowLoopback = true,
                }), $"relay-{tag}");
                var listening = (RelayServerProtocol.Listening)await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), TimeSpan.FromSeconds(10));
                turn = [new TurnServer(listening.Udp[0], new TurnCredentials("bench", "bench"))];
            }
            var pair = await DataChannelBench.OpenPairAsync(system, tag, policy, turn);
            if (run >= 0) times.Add(pair);
            await pair.Host.GracefulStop(TimeSpan.FromSeconds(10));
            await pair.Sink.GracefulStop(TimeSpan.FromSeconds(5));
            if (relay is not null)
            {
                await relay.GracefulStop(TimeSpan.FromSeconds(10));
                turn = null;
            }
        }
        return times;
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static string Line(string what, List<DataChannelBench.OpenPair> pairs)
    {
        var times = pairs.Select(p => p.OpenMs).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"connect {what}: p50 {Percentile(times, 50):0.0} ms, p99 {Percentile(times, 99):0.0} ms over {times.Count} runs");
    }

    /// <summary>The p50 of each step (each from the end of the one before, when both sessions had reached it).</summary>
    private static string Steps(List<DataChannelBench.OpenPair> pairs)
    {
        double P50(Func<DataChannelBench.OpenSteps, double> step) => Percentile(pairs.Select(p => step(p.Steps)).ToList(), 50);
        return string.Create(CultureInfo.InvariantCulture,
            $"  steps p50: gathering {P50(s => s.Gather):0.0} ms, ice to a valid pair {P50(s => s.IceValid):0.0} ms, dtls {P50(s => s.Dtls):0.0} ms, " +
            $"sctp {P50(s => s.Sctp):0.0} ms, channel open {P50(s => s.Dcep):0.0} ms; ice selection {P50(s => s.IceSelected):0.0} ms from the start");
    }
}
