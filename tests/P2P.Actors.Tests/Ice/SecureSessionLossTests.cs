using System.Text;
using Akka.Actor;
using P2P.Actors.Sessions;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>Ours to ours over ICE, DTLS and SCTP on the virtual network with 10 % loss each way: every message arrives, in order, once.</summary>
public sealed class SecureSessionLossTests(ITestOutputHelper output) : IceVirtualNetworkTestBase(output)
{
    [Fact]
    public async Task At_ten_percent_loss_every_message_arrives_in_order_exactly_once()
    {
        var (a, b) = await BuildAsync("FullCone", "PortRestrictedCone", turn: false);
        Net.SetLink("alice", new LinkConditions { Loss = 0.1 }); // crossed once by every packet, either way
        var events = CreateTestProbe();
        var link = Sys.ActorOf(Support.SessionLink.Props(events.Ref));
        a.Peer.Tell(new PeerProtocol.OpenSession("z/a", true, link, Secure: true));
        b.Peer.Tell(new PeerProtocol.OpenSession("z/b", false, link, Secure: true));
        var (sessions, _, _) = Connect(events, "z", TimeSpan.FromSeconds(120));

        sessions["z/a"].Tell(new SessionProtocol.OpenChannel("chat"));
        RunUntil(events, m => m is SessionProtocol.ChannelOpened o && o.SessionId == "z/b", TimeSpan.FromSeconds(60));

        const int count = 300;
        for (int i = 0; i < count; i++) sessions["z/a"].Tell(new SessionProtocol.SendOnChannel("chat", Encoding.UTF8.GetBytes($"{i}:" + new string('x', i % 3000)), Binary: false));
        var got = new List<int>();
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.ChannelMessage c && c.SessionId == "z/b") got.Add(int.Parse(Encoding.UTF8.GetString(c.Data.Span).Split(':')[0]));
            return got.Count >= count;
        }, TimeSpan.FromSeconds(120), step: TimeSpan.FromMilliseconds(20));
        Assert.Equal(Enumerable.Range(0, count), got);
        var stats = await Net.GetStatsAsync(Wait);
        Assert.True(stats.DroppedByLoss > 0, "the link really lost packets");
    }
}
