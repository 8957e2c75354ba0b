using System.Net;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;
using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Transport.Virtual;

/// <summary>Loss, delay, jitter, duplication, reordering, cut links and blocked UDP, in virtual time.</summary>
public sealed class LinkConditionTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    private (Endpoint A, Endpoint B) TwoPublicHosts(VirtualNetwork? network = null)
    {
        var net = network ?? Net;
        net.AddPublicHost("a", Ip("198.51.100.1"));
        net.AddPublicHost("b", Ip("198.51.100.2"));
        return (Open("a", 1000, network: net), Open("b", 2000, network: net));
    }

    private async Task<List<string>> SendThroughLoss(VirtualNetwork network, int count)
    {
        var (a, b) = TwoPublicHosts(network);
        network.SetLink("a", new LinkConditions { Loss = 0.3 });
        for (int i = 0; i < count; i++) Send(a, b.Local, i.ToString());
        var stats = await Settle(network);
        var received = Drain(b).Select(r => r.Text).ToList();
        Assert.Equal(count, stats.Sent);
        Assert.Equal(count, stats.Delivered + stats.DroppedByLoss);
        Assert.Equal(stats.Delivered, received.Count);
        Assert.InRange(stats.DroppedByLoss, 250, 350);
        return received;
    }

    [Fact]
    public async Task Thirty_percent_loss_drops_about_three_hundred_of_a_thousand_packets_and_repeats_with_the_same_seed()
    {
        var first = await SendThroughLoss(Net, 1000);
        var again = await SendThroughLoss(new VirtualNetwork(Sys, seed: Net.Seed, name: "vnet-again"), 1000);
        Assert.Equal(first, again); // same seed, same packets lost
    }

    [Fact]
    public async Task Delay_holds_a_packet_until_virtual_time_reaches_it_and_adds_up_along_the_path()
    {
        var (a, b) = TwoPublicHosts();
        Net.SetLink("a", new LinkConditions { Delay = TimeSpan.FromMilliseconds(200) });
        Net.SetLink("b", new LinkConditions { Delay = TimeSpan.FromMilliseconds(100) });

        Send(a, b.Local, "slow");
        await Settle();
        Assert.Empty(Drain(b));
        Scheduler.Advance(TimeSpan.FromMilliseconds(200)); // a's link crossed; b's link still ahead
        await Settle();
        Assert.Empty(Drain(b));
        Scheduler.Advance(TimeSpan.FromMilliseconds(99));
        await Settle();
        Assert.Empty(Drain(b));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        await Settle();
        Assert.Equal(["slow"], Drain(b).Select(r => r.Text));
    }

    [Fact]
    public async Task Jitter_spreads_packets_over_the_window_and_reorders_them()
    {
        var (a, b) = TwoPublicHosts();
        Net.SetLink("a", new LinkConditions { Jitter = TimeSpan.FromMilliseconds(100) });
        var sent = Enumerable.Range(0, 20).Select(i => i.ToString()).ToList();
        foreach (var text in sent) Send(a, b.Local, text);
        await Settle();
        Assert.Empty(Drain(b));

        for (int ms = 0; ms < 100; ms++) Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        await Settle();
        var received = Drain(b).Select(r => r.Text).ToList();
        Assert.Equal(sent.Order(), received.Order());
        Assert.NotEqual(sent, received);
    }

    [Fact]
    public async Task Duplication_delivers_a_packet_twice()
    {
        var (a, b) = TwoPublicHosts();
        Net.SetLink("b", new LinkConditions { Duplication = 1 });
        Send(a, b.Local, "one");
        Send(a, b.Local, "two");
        var stats = await Settle();

        Assert.Equal(["one", "one", "two", "two"], Drain(b).Select(r => r.Text));
        Assert.Equal(2, stats.Duplicated);
        Assert.Equal(4, stats.Delivered);
    }

    [Fact]
    public async Task Reordering_delivers_a_held_packet_after_the_next_one_or_after_the_hold()
    {
        var (a, b) = TwoPublicHosts();
        Net.SetLink("a", new LinkConditions { Reordering = 1, ReorderHold = TimeSpan.FromMilliseconds(50) });
        foreach (var text in new[] { "1", "2", "3", "4", "5" }) Send(a, b.Local, text);
        var stats = await Settle();
        Assert.Equal(["2", "1", "4", "3"], Drain(b).Select(r => r.Text));
        Assert.Equal(3, stats.Reordered);

        Scheduler.Advance(TimeSpan.FromMilliseconds(50)); // "5" had no successor
        await Settle();
        Assert.Equal(["5"], Drain(b).Select(r => r.Text));
    }

    [Fact]
    public async Task A_cut_link_drops_everything_until_it_is_restored()
    {
        var (a, b) = TwoPublicHosts();
        Net.Cut("b");
        Send(a, b.Local, "lost");
        Send(b, a.Local, "lost too");
        var stats = await Settle();
        Assert.Empty(Drain(a));
        Assert.Empty(Drain(b));
        Assert.Equal(2, stats.DroppedByCut);

        Net.Cut("b", false);
        Send(a, b.Local, "back");
        await Settle();
        Assert.Equal(["back"], Drain(b).Select(r => r.Text));
    }

    [Fact]
    public async Task Blocked_udp_drops_packets_across_the_nat_but_not_inside_its_lan()
    {
        var (a, _) = TwoPublicHosts();
        Net.AddNat("nat", Ip("203.0.113.1"), NatBehavior.FullCone);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        Net.AddPrivateHost("carol", Ip("10.0.0.3"), "nat");
        var alice = Open("alice", 5000);
        var carol = Open("carol", 5000);
        Net.BlockUdp("nat");

        Send(alice, a.Local, "out");
        Send(a, Ep("203.0.113.1:5000"), "in");
        Send(alice, carol.Local, "inside");
        var stats = await Settle();

        Assert.Empty(Drain(a));
        Assert.Empty(Drain(alice));
        Assert.Equal(["inside"], Drain(carol).Select(r => r.Text));
        Assert.Equal(2, stats.DroppedByFirewall);
        Assert.Equal(0, stats.MappingsCreated);
    }

    [Fact]
    public async Task Blocked_udp_on_a_public_host_drops_its_traffic_both_ways()
    {
        var (a, b) = TwoPublicHosts();
        Net.BlockUdp("b");
        Send(a, b.Local, "in");
        Send(b, a.Local, "out");
        var stats = await Settle();
        Assert.Empty(Drain(a));
        Assert.Empty(Drain(b));
        Assert.Equal(2, stats.DroppedByFirewall);

        Net.BlockUdp("b", false);
        Send(a, b.Local, "open again");
        await Settle();
        Assert.Equal(["open again"], Drain(b).Select(r => r.Text));
    }

    [Fact]
    public async Task Stun_probe_behind_blocked_udp_fails_after_its_retransmissions()
    {
        var stun = Ep("198.51.100.1:3478");
        Net.AddPublicHost("stun", stun.Address);
        await StartRelay("stun", stun);
        Net.AddNat("nat", Ip("203.0.113.1"), NatBehavior.PortRestrictedCone);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        var alice = Open("alice", 5000);
        Net.BlockUdp("nat");

        var owner = CreateTestProbe();
        alice.Actor.Tell(new VirtualEndpoint.StartClient(stun, socket => StunProber.Props(StunSettings.Default, stun, socket, owner.Ref)), owner.Ref);
        owner.ExpectMsg<VirtualEndpoint.ClientStarted>(Wait);
        StunProberProtocol.StunProbeFailed? failed = null;
        for (int step = 0; step < 200 && failed is null; step++)
        {
            await Settle(); // the prober's retransmission timer is started before time moves on
            Scheduler.Advance(TimeSpan.FromMilliseconds(500));
            failed = owner.ReceiveOne(TimeSpan.FromMilliseconds(20)) as StunProberProtocol.StunProbeFailed;
        }

        Assert.NotNull(failed);
        Assert.Contains("did not answer (7 requests", failed.Reason);
        Assert.Equal(7, (await Net.GetStatsAsync()).DroppedByFirewall);
    }
}

/// <summary>How virtual sockets bind on their host.</summary>
public sealed class VirtualSocketTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    [Fact]
    public void Sockets_bind_like_real_ones_on_their_host()
    {
        Net.AddPublicHost("a", Ip("198.51.100.1"));
        var first = Open("a");
        var second = Open("a");
        var fixedPort = Open("a", 3478, Ip("198.51.100.1"));
        Assert.Equal(new IPEndPoint(Ip("198.51.100.1"), 49152), first.Local); // 0.0.0.0:0 → the host's address, a free port
        Assert.Equal(49153, second.Local.Port);
        Assert.Equal(3478, fixedPort.Local.Port);

        var observer = CreateTestProbe();
        Sys.ActorOf(VirtualEndpoint.Props(Net.SocketsOf("a"), new IPEndPoint(IPAddress.Any, 3478), observer.Ref));
        Assert.Contains("already in use", observer.ExpectMsg<UdpSocketProtocol.BindFailed>(Wait).Reason);
        Sys.ActorOf(VirtualEndpoint.Props(Net.SocketsOf("a"), new IPEndPoint(Ip("198.51.100.77"), 0), observer.Ref));
        Assert.Contains("is not an address of host a", observer.ExpectMsg<UdpSocketProtocol.BindFailed>(Wait).Reason);

        Watch(fixedPort.Socket);
        Sys.Stop(fixedPort.Socket);
        ExpectTerminated(fixedPort.Socket); // its Unbind reached the wire before this
        Sys.ActorOf(VirtualEndpoint.Props(Net.SocketsOf("a"), new IPEndPoint(IPAddress.Any, 3478), observer.Ref));
        Assert.Equal(3478, observer.ExpectMsg<VirtualEndpoint.Ready>(Wait).Local.Port); // the port was released
    }

    [Fact]
    public async Task Sends_before_the_bind_completes_are_kept_and_payloads_are_copied()
    {
        Net.AddPublicHost("a", Ip("198.51.100.1"));
        Net.AddPublicHost("b", Ip("198.51.100.2"));
        var b = Open("b", 2000);
        var observer = CreateTestProbe();
        var socket = Sys.ActorOf(Net.SocketsOf("a").Create(new IPEndPoint(IPAddress.Any, 1000), observer.Ref));
        var buffer = "early"u8.ToArray();
        socket.Tell(new UdpSocketProtocol.Send(b.Local, buffer));
        observer.ExpectMsg<UdpSocketProtocol.Bound>(Wait);
        await socket.Ask<UdpSocketProtocol.Stats>(new UdpSocketProtocol.GetStats(), Wait);
        buffer[0] = (byte)'E'; // the sender reuses its buffer: the packet in flight must not change

        await Settle();
        var received = Assert.Single(Drain(b));
        Assert.Equal((new IPEndPoint(Ip("198.51.100.1"), 1000), "early"), received);
        var stats = await socket.Ask<UdpSocketProtocol.Stats>(new UdpSocketProtocol.GetStats(), Wait);
        Assert.Equal(1, stats.DatagramsOut);
        Assert.Equal(5, stats.BytesOut);
    }

    [Fact]
    public void The_network_refuses_a_topology_that_makes_no_sense()
    {
        Net.AddPublicHost("a", Ip("198.51.100.1"));
        Net.AddNat("nat", Ip("203.0.113.1"), NatBehavior.FullCone);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        Assert.Throws<ArgumentException>(() => Net.AddPublicHost("a", Ip("198.51.100.5")));
        Assert.Throws<ArgumentException>(() => Net.AddPublicHost("b", Ip("198.51.100.1")));
        Assert.Throws<ArgumentException>(() => Net.AddNat("nat2", Ip("198.51.100.1"), NatBehavior.FullCone));
        Assert.Throws<ArgumentException>(() => Net.AddPrivateHost("carol", Ip("10.0.0.2"), "nat"));
        Assert.Throws<ArgumentException>(() => Net.AddPrivateHost("dave", Ip("10.0.0.4"), "no-such-nat"));
        Assert.Throws<ArgumentException>(() => Net.SocketsOf("nobody"));
        Assert.Throws<ArgumentException>(() => Net.SetLink("a", new LinkConditions { Loss = 1.5 }));
        Assert.Throws<ArgumentException>(() => Net.AddNat("nat3", Ip("203.0.113.3"), NatBehavior.Symmetric with { MappingTimeout = TimeSpan.Zero }));
    }
}
