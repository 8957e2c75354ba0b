using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Sctp;
using P2P.Actors.Transport;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sctp;

/// <summary>
/// RFC 9260 §8.3 heartbeats of an idle association on the shared grid (p2p.sctp.heartbeat-grid), in virtual time. The
/// associations and the wire between them run on the calling thread, so each HEARTBEAT is seen at the virtual instant
/// its timer fired.
/// </summary>
public sealed class SctpHeartbeatGridTests(ITestOutputHelper output) : SctpVirtualTimeTestKit(output)
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    /// <summary>Carries packets between two associations and notes when A sent a HEARTBEAT (chunk type 4, RFC 9260 §3.3.5).</summary>
    private sealed class Wire(List<DateTimeOffset> heartbeats) : UntypedActor
    {
        private IActorRef _a = ActorRefs.Nobody, _b = ActorRefs.Nobody;

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case (IActorRef a, IActorRef b):
                    (_a, _b) = (a, b);
                    break;
                case DatagramProtocol.Send m:
                    bool fromA = Sender.Equals(_a);
                    if (fromA && m.Datagram.Length > 12 && m.Datagram.Span[12] == 4) heartbeats.Add(Context.System.Scheduler.Now);
                    (fromA ? _b : _a).Tell(new DatagramProtocol.Received(m.Datagram));
                    break;
            }
        }
    }

    [Fact]
    public void Heartbeats_of_an_idle_association_fall_on_the_grid_each_within_hb_interval_plus_a_jittered_rto()
    {
        var settings = SctpSettings.Default;
        Assert.Equal(TimeSpan.FromMilliseconds(250), settings.HeartbeatGrid);
        Scheduler.Advance(TimeSpan.FromTicks((Step.Ticks - Scheduler.Now.UtcTicks % Step.Ticks) % Step.Ticks));
        var heartbeats = new List<DateTimeOffset>();
        var events = new ConcurrentQueue<object>();
        var wire = Sys.ActorOf(Props.Create(() => new Wire(heartbeats)).WithDispatcher(CallingThreadDispatcher.Id));
        var sink = Sys.ActorOf(EventSink.Props(events));
        var a = Sys.ActorOf(SctpAssociation.Props(settings, wire, sink, isDtlsClient: true).WithDispatcher(CallingThreadDispatcher.Id));
        var b = Sys.ActorOf(SctpAssociation.Props(settings, wire, Sys.ActorOf(EventSink.Props(new ConcurrentQueue<object>())), isDtlsClient: false).WithDispatcher(CallingThreadDispatcher.Id));
        wire.Tell((a, b));
        a.Tell(SctpProtocol.Associate.Instance);
        AwaitCondition(() => events.OfType<SctpProtocol.AssociationEstablished>().Any(), TimeSpan.FromSeconds(10));
        for (var t = TimeSpan.Zero; t < TimeSpan.FromSeconds(400); t += Step) Scheduler.Advance(Step);

        // a path MTU probe is a HEARTBEAT too (RFC 8899), sent within seconds of the association coming up: skip those
        var regular = heartbeats.Where(h => h - heartbeats[0] > TimeSpan.FromSeconds(20) || heartbeats.Count(x => x - h < TimeSpan.FromSeconds(20)) == 1).ToList();
        Assert.True(regular.Count >= 11, $"{regular.Count} heartbeats in 400 s");
        var intervals = regular.Zip(regular.Skip(1), (x, y) => y - x).ToList();
        // RTO is RTO.initial (500 ms) until a heartbeat measured the round trip, then RTO.min (200 ms; the virtual round
        // trip is 0): each interval is HB.interval + 0.5..1.5 RTO
        Assert.All(intervals, i => Assert.InRange(i, TimeSpan.FromMilliseconds(30_100), TimeSpan.FromMilliseconds(30_750)));
        Assert.All(intervals.Skip(1), i => Assert.InRange(i, TimeSpan.FromMilliseconds(30_100), TimeSpan.FromMilliseconds(30_300)));
        // every heartbeat after the first follows one on the grid, and its window holds a grid point: it is on the grid
        Assert.All(regular.Skip(1), h => Assert.Equal(0, h.UtcTicks % settings.HeartbeatGrid.Ticks));
    }
}
