using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Threading.Channels;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;

namespace P2P.Benchmarks;

/// <summary>
/// Data channel throughput ours to ours on 127.0.0.1 (ICE host pair, DTLS 1.2, SCTP, DCEP): bulk MB/s with 16 KiB
/// binary messages and the 1 KiB message rate. Wall-clock, median of the runs after three warm-up runs. Run:
/// <c>dotnet run -c Release --project bench/P2P.Benchmarks -- datachannel [runs]</c>
/// </summary>
public static class DataChannelBench
{
    /// <param name="turn">Relay-only through this TURN server when given (the via-relay figures), else host candidates.</param>
    public static async Task<int> RunAsync(int runs, TurnServer? turn = null)
    {
        var config = BenchConfig.Load();
        using var system = ActorSystem.Create("bench", config);
        var bulk = new List<double>();
        var rate = new List<double>();
        var open = new List<double>();
        // Warm-up runs, not counted: the first runs of a .NET process execute code the JIT has not optimized yet
        // (tiered compilation), while the anchor is native code; a host that runs for a while is past this.
        for (int run = 0; run < WarmUpRuns; run++)
        {
            var (o, b, r) = await OneRunAsync(system, -1 - run, turn);
            Console.WriteLine($"warm-up {run + 1}: open {o:0.0} ms, bulk {b:0.0} MiB/s, 1 KiB messages {r:0} /s");
        }
        for (int run = 0; run < runs; run++)
        {
            var (o, b, r) = await OneRunAsync(system, run, turn);
            open.Add(o);
            bulk.Add(b);
            rate.Add(r);
            Console.WriteLine($"run {run + 1}: open {o:0.0} ms, bulk {b:0.0} MiB/s, 1 KiB messages {r:0} /s");
        }
        Console.WriteLine($"median: open {Median(open):0.0} ms, bulk {Median(bulk):0.0} MiB/s (16 KiB messages, 10 MiB), {Median(rate):0} messages/s (1 KiB, 10,000)");
        return 0;
    }

    private const int WarmUpRuns = 3;

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Two peers and a secure session between them, up to an open "bench" channel; the time that took.</summary>
    public sealed record OpenPair(double OpenMs, IActorRef Host, IActorRef Sink, Channel<object> Events, Dictionary<string, IActorRef> Sessions)
    {
        /// <summary>Where the time went, each step until both sessions had reached it (see <see cref="OpenSteps"/>).</summary>
        public OpenSteps Steps { get; init; } = OpenSteps.None;
    }

    /// <summary>
    /// The connect time split into its steps, in ms, each until both sessions had reached it (the later one decides):
    /// first local candidate (<see cref="Gather"/>, from the start), then a valid ICE pair, on which DTLS begins
    /// (<see cref="IceValid"/>), the DTLS handshake (<see cref="Dtls"/>), the SCTP association (<see cref="Sctp"/>), and
    /// the channel open on the far side once both sides reported Connected and the association is up (<see cref="Dcep"/>).
    /// ICE selects its pair meanwhile (nomination, paced by Ta): <see cref="IceSelected"/> is when, from the start.
    /// </summary>
    public sealed record OpenSteps(double Gather, double IceValid, double Dtls, double Sctp, double Dcep, double IceSelected)
    {
        public static readonly OpenSteps None = new(0, 0, 0, 0, 0, 0);
    }

    /// <summary>
    /// Opens a pair of peers on 127.0.0.1 and a secure session between them (descriptions and trickled candidates
    /// handed over in-process), and times it from OpenSession to the "bench" data channel open on the far side.
    /// </summary>
    public static async Task<OpenPair> OpenPairAsync(ActorSystem system, string tag, CandidatePolicy policy = CandidatePolicy.All, IReadOnlyList<TurnServer>? turn = null)
    {
        var events = Channel.CreateUnbounded<object>();
        var sink = system.ActorOf(Props.Create(() => new Sink(events.Writer)), $"sink-{tag}");
        var config = system.Settings.Config;
        var host = system.ActorOf(PeerHost.Props(config), $"peers-{tag}");
        foreach (var name in new[] { "a", "b" })
            await host.Ask<PeerHostProtocol.PeerAdded>(new PeerHostProtocol.AddPeer(new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], turn ?? [])), TimeSpan.FromSeconds(10));

        var clock = Stopwatch.StartNew();
        long start = Stopwatch.GetTimestamp();
        host.Tell(new PeerHostProtocol.OpenSession("a", "x/a", true, sink, policy, Secure: true));
        host.Tell(new PeerHostProtocol.OpenSession("b", "x/b", false, sink, policy, Secure: true));
        var sessions = new Dictionary<string, IActorRef>();
        var descriptions = new Dictionary<string, IceDescription>();
        int connected = 0;
        var early = new Queue<object>(); // trickle that arrives before both sessions have started waits here
        while (connected < 2)
        {
            object next = descriptions.Count == 2 && early.Count > 0 ? early.Dequeue() : await events.Reader.ReadAsync();
            if (descriptions.Count < 2 && next is SessionProtocol.LocalCandidate or SessionProtocol.LocalDescription)
            {
                early.Enqueue(next);
                continue;
            }
            switch (next)
            {
                case SessionProtocol.Started s:
                    sessions[s.SessionId] = s.Session;
                    descriptions[s.SessionId] = s.Description!;
                    if (descriptions.Count == 2)
                    {
                        sessions["x/a"].Tell(new SessionProtocol.SetRemoteDescription(descriptions["x/b"]));
                        sessions["x/b"].Tell(new SessionProtocol.SetRemoteDescription(descriptions["x/a"]));
                    }
                    break;
                case SessionProtocol.LocalCandidate c:
                    Other(sessions, c.SessionId).Tell(new SessionProtocol.AddRemoteCandidate(c.Candidate));
                    break;
                case SessionProtocol.LocalDescription d:
                    Other(sessions, d.SessionId).Tell(new SessionProtocol.RemoteEndOfCandidates());
                    break;
                case SessionProtocol.Connected:
                    connected++;
                    break;
                case SessionProtocol.Failed f:
                    throw new InvalidOperationException(f.Reason);
            }
        }
        sessions["x/a"].Tell(new SessionProtocol.OpenChannel("bench"));
        await Until<SessionProtocol.ChannelOpened>(events, m => m.SessionId == "x/b");
        double openMs = clock.Elapsed.TotalMilliseconds;
        var a = await sessions["x/a"].Ask<SessionProtocol.Timeline>(new SessionProtocol.GetTimeline(), TimeSpan.FromSeconds(5));
        var b = await sessions["x/b"].Ask<SessionProtocol.Timeline>(new SessionProtocol.GetTimeline(), TimeSpan.FromSeconds(5));
        double At(Func<SessionProtocol.Timeline, long> step) => Stopwatch.GetElapsedTime(start, Math.Max(step(a), step(b))).TotalMilliseconds;
        double gathered = At(t => t.FirstLocalCandidate), valid = At(t => t.DataPath), selected = At(t => t.IceConnected);
        double dtls = At(t => t.DtlsConnected), sctp = At(t => t.Associated);
        return new OpenPair(openMs, host, sink, events, sessions)
        {
            Steps = new OpenSteps(gathered, valid - gathered, dtls - valid, sctp - dtls, openMs - Math.Max(sctp, selected), selected),
        };
    }

    private static async Task<(double OpenMs, double BulkMiBps, double MessagesPerSecond)> OneRunAsync(ActorSystem system, int run, TurnServer? turn)
    {
        var (openMs, host, sink, events, sessions) = turn is null
            ? await OpenPairAsync(system, run.ToString(CultureInfo.InvariantCulture))
            : await OpenPairAsync(system, run.ToString(CultureInfo.InvariantCulture), CandidatePolicy.RelayOnly, [turn]);
        var clock = Stopwatch.StartNew();

        // bulk: 10 MiB in 16 KiB binary messages
        var payload = RandomNumberGenerator.GetBytes(16 * 1024);
        const int bulkMessages = 640;
        clock.Restart();
        for (int i = 0; i < bulkMessages; i++) sessions["x/a"].Tell(new SessionProtocol.SendOnChannel("bench", payload));
        for (int got = 0; got < bulkMessages;) if (await events.Reader.ReadAsync() is SessionProtocol.ChannelMessage) got++;
        double bulk = bulkMessages * 16.0 / 1024 / clock.Elapsed.TotalSeconds;

        // message rate: 10,000 messages of 1 KiB
        var small = RandomNumberGenerator.GetBytes(1024);
        const int smallMessages = 10_000;
        clock.Restart();
        for (int i = 0; i < smallMessages; i++) sessions["x/a"].Tell(new SessionProtocol.SendOnChannel("bench", small));
        for (int got = 0; got < smallMessages;) if (await events.Reader.ReadAsync() is SessionProtocol.ChannelMessage) got++;
        double messagesPerSecond = smallMessages / clock.Elapsed.TotalSeconds;

        await host.GracefulStop(TimeSpan.FromSeconds(10));
        await sink.GracefulStop(TimeSpan.FromSeconds(5));
        return (openMs, bulk, messagesPerSecond);
    }

    private static IActorRef Other(Dictionary<string, IActorRef> sessions, string id) => sessions[id.EndsWith("/a") ? "x/b" : "x/a"];

    private static async Task Until<T>(Channel<object> events, Func<T, bool> predicate)
    {
        while (true)
            if (await events.Reader.ReadAsync() is T t && predicate(t)) return;
    }

    private sealed class Sink : ReceiveActor
    {
        public Sink(ChannelWriter<object> writer) => ReceiveAny(m => writer.TryWrite(m));
    }
}
