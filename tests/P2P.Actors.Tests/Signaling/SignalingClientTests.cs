using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Signaling;
using P2P.Host.Signal;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>Two <see cref="SignalingClient"/> actors meeting through the in-process server, probes as their owners.</summary>
public sealed class SignalingClientTests(ITestOutputHelper output) : TestKit(string.Empty, output), IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private SignalServer _server = null!;

    public async Task InitializeAsync() => _server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static IceCandidate Candidate(string text) =>
        IceCandidate.TryParse(text, out var candidate, out var error) ? candidate : throw new ArgumentException(error);

    private (IActorRef Client, TestProbe Owner) Client(string room, string name)
    {
        var owner = CreateTestProbe(name);
        var client = Sys.ActorOf(SignalingClient.Props(_server.Url, room, name, owner), $"signaling-{name}");
        return (client, owner);
    }

    [Fact]
    public void Two_clients_meet_in_a_room_and_exchange_a_description_and_candidates()
    {
        var (alice, aliceOwner) = Client("meet", "alice");
        Assert.True(aliceOwner.ExpectMsg<SignalingProtocol.Joined>(Wait).Controlling);

        // alice trickles before bob is there: the room keeps it for him
        var description = new IceDescription(IceCredentials.Generate(), [Candidate("1 1 UDP 2130706431 127.0.0.1 50000 typ host")])
        {
            Options = ["trickle"],
        };
        alice.Tell(new SignalingProtocol.SendDescription(description.Write()));
        var late = Candidate("2 1 UDP 1694498815 192.0.2.7 40000 typ srflx raddr 127.0.0.1 rport 50000");
        alice.Tell(new SignalingProtocol.SendCandidate(late.ToAttributeValue()));
        alice.Tell(new SignalingProtocol.SendEndOfCandidates());

        var (bob, bobOwner) = Client("meet", "bob");
        Assert.False(bobOwner.ExpectMsg<SignalingProtocol.Joined>(Wait).Controlling);
        Assert.Equal("alice", bobOwner.ExpectMsg<SignalingProtocol.PeerJoined>(Wait).Name);
        var received = bobOwner.ExpectMsg<SignalingProtocol.RemoteDescription>(Wait);
        Assert.True(IceDescription.TryParse(received.Text, out var parsed, out var parseError), parseError.ToString());
        Assert.Equal(description, parsed);
        var candidate = bobOwner.ExpectMsg<SignalingProtocol.RemoteCandidate>(Wait);
        Assert.True(IceCandidate.TryParse(candidate.Attribute, out var parsedCandidate, out _));
        Assert.Equal(late, parsedCandidate);
        bobOwner.ExpectMsg<SignalingProtocol.RemoteEndOfCandidates>(Wait);
        Assert.Equal("bob", aliceOwner.ExpectMsg<SignalingProtocol.PeerJoined>(Wait).Name);

        // and back
        bob.Tell(new SignalingProtocol.SendDescription("a=ice-ufrag:bobb\na=ice-pwd:bobbobbobbobbobbobbobbob\n"));
        bob.Tell(new SignalingProtocol.SendCandidate("7 1 UDP 2130706431 127.0.0.1 50001 typ host"));
        Assert.Equal("a=ice-ufrag:bobb\na=ice-pwd:bobbobbobbobbobbobbobbob\n", aliceOwner.ExpectMsg<SignalingProtocol.RemoteDescription>(Wait).Text);
        Assert.Equal("7 1 UDP 2130706431 127.0.0.1 50001 typ host", aliceOwner.ExpectMsg<SignalingProtocol.RemoteCandidate>(Wait).Attribute);

        // bob leaves: alice hears it, bob's actor stops
        Watch(bob);
        bob.Tell(new SignalingProtocol.Leave());
        Assert.Equal("bob", aliceOwner.ExpectMsg<SignalingProtocol.PeerLeft>(Wait).Name);
        ExpectTerminated(bob, Wait);
        bobOwner.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_client_made_to_join_when_told_joins_only_then_and_sends_what_it_was_given_after_the_join()
    {
        var (bob, bobOwner) = Client("told", "bob");
        Assert.True(bobOwner.ExpectMsg<SignalingProtocol.Joined>(Wait).Controlling);

        var aliceOwner = CreateTestProbe("alice");
        var alice = Sys.ActorOf(SignalingClient.Props(_server.Url, "told", "alice", aliceOwner, joinWhenTold: true), "signaling-alice");
        alice.Tell(new SignalingProtocol.SendCandidate("7 1 UDP 2130706431 127.0.0.1 50001 typ host")); // kept until the join
        aliceOwner.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        bobOwner.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        alice.Tell(SignalingProtocol.Join.Instance);
        Assert.False(aliceOwner.ExpectMsg<SignalingProtocol.Joined>(Wait).Controlling);
        Assert.Equal("alice", bobOwner.ExpectMsg<SignalingProtocol.PeerJoined>(Wait).Name);
        Assert.Equal("7 1 UDP 2130706431 127.0.0.1 50001 typ host", bobOwner.ExpectMsg<SignalingProtocol.RemoteCandidate>(Wait).Attribute);
        alice.Tell(SignalingProtocol.Join.Instance); // a second one changes nothing
        aliceOwner.ExpectMsg<SignalingProtocol.PeerJoined>(Wait);
        aliceOwner.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_client_pointed_at_a_closed_port_reports_SignalingFailed_with_a_sentence()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var owner = CreateTestProbe();
        var url = new Uri($"ws://127.0.0.1:{port}/");
        var client = Sys.ActorOf(SignalingClient.Props(url, "r", "alice", owner));
        Watch(client);
        var failed = owner.ExpectMsg<SignalingProtocol.SignalingFailed>(Wait);
        Output?.WriteLine(failed.Reason);
        Assert.Equal($"cannot reach the signaling server at {url}: connection refused", failed.Reason);
        ExpectTerminated(client, Wait);
    }

    [Fact]
    public void A_third_client_is_told_the_room_is_full_and_stops()
    {
        var (_, aliceOwner) = Client("crowded", "alice");
        aliceOwner.ExpectMsg<SignalingProtocol.Joined>(Wait);
        var (_, bobOwner) = Client("crowded", "bob");
        bobOwner.ExpectMsg<SignalingProtocol.Joined>(Wait);

        var (carol, carolOwner) = Client("crowded", "carol");
        Watch(carol);
        var failed = carolOwner.ExpectMsg<SignalingProtocol.SignalingFailed>(Wait);
        Assert.Contains("room crowded is full", failed.Reason);
        ExpectTerminated(carol, Wait);
    }

    [Fact]
    public async Task A_client_made_not_to_reconnect_whose_server_goes_away_reports_SignalingFailed()
    {
        var owner = CreateTestProbe();
        var client = Sys.ActorOf(SignalingClient.Props(_server.Url, "going", "alice", owner, SignalSettings.Default with { ReconnectFor = TimeSpan.Zero }));
        owner.ExpectMsg<SignalingProtocol.Joined>(Wait);
        Watch(client);
        await _server.DisposeAsync();
        var failed = owner.ExpectMsg<SignalingProtocol.SignalingFailed>(Wait);
        Output?.WriteLine(failed.Reason);
        Assert.Equal($"lost the signaling server at {_server.Url}: the other side closed the connection: the signaling server is shutting down", failed.Reason);
        ExpectTerminated(client, Wait);
    }

    [Fact]
    public async Task A_client_whose_only_server_goes_away_tries_it_again_for_a_while_then_reports_SignalingFailed()
    {
        var owner = CreateTestProbe();
        var settings = SignalSettings.Default with { ReconnectFor = TimeSpan.FromSeconds(1), ReconnectBackoff = TimeSpan.FromMilliseconds(100), ReconnectBackoffMax = TimeSpan.FromMilliseconds(200) };
        var client = Sys.ActorOf(SignalingClient.Props(_server.Url, "going", "alice", owner, settings));
        owner.ExpectMsg<SignalingProtocol.Joined>(Wait);
        Watch(client);
        await _server.DisposeAsync();
        var failed = owner.ExpectMsg<SignalingProtocol.SignalingFailed>(Wait);
        Output?.WriteLine(failed.Reason);
        // (a try may still reach the server while it stops, and have its connection reset)
        Assert.StartsWith($"lost the signaling server at {_server.Url}: the other side closed the connection: the signaling server is shutting down; ", failed.Reason);
        Assert.Contains($"; no server answered for 1 s (last {_server.Url}: ", failed.Reason);
        ExpectTerminated(client, Wait);
    }

    [Fact]
    public void A_client_given_several_servers_passes_over_one_it_cannot_reach_before_its_first_join()
    {
        var closed = new Uri($"ws://127.0.0.1:{FreePort()}/");
        var owner = CreateTestProbe();
        Sys.ActorOf(SignalingClient.Props([closed, _server.Url], "failover", "alice", owner));
        Assert.True(owner.ExpectMsg<SignalingProtocol.Joined>(Wait).Controlling);
        owner.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no failure, no reconnect: the first join is news
    }

    [Fact]
    public void A_client_that_can_reach_none_of_its_servers_names_each_with_its_reason()
    {
        var first = new Uri($"ws://127.0.0.1:{FreePort()}/");
        var second = new Uri($"ws://127.0.0.1:{FreePort()}/");
        var owner = CreateTestProbe();
        var client = Sys.ActorOf(SignalingClient.Props([first, second], "nowhere", "alice", owner));
        Watch(client);
        Assert.Equal($"cannot reach any of the signaling servers ({first}: connection refused; {second}: connection refused)",
            owner.ExpectMsg<SignalingProtocol.SignalingFailed>(Wait).Reason);
        ExpectTerminated(client, Wait);
    }

    [Fact]
    public async Task Clients_whose_server_goes_away_rejoin_through_the_next_one_and_their_owners_hear_only_that()
    {
        // a second server (its own actor system: its rooms start empty, as a fleet's room rebuilt on another node does)
        using var second = ActorSystem.Create("second", Sys.Settings.Config);
        var next = await SignalServer.StartAsync(second, new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            var servers = new[] { _server.Url, next.Url };
            var aliceOwner = CreateTestProbe();
            var alice = Sys.ActorOf(SignalingClient.Props(servers, "moving", "alice", aliceOwner));
            Assert.True(aliceOwner.ExpectMsg<SignalingProtocol.Joined>(Wait).Controlling);
            var bobOwner = CreateTestProbe();
            var bob = Sys.ActorOf(SignalingClient.Props(servers, "moving", "bob", bobOwner));
            bobOwner.ExpectMsg<SignalingProtocol.Joined>(Wait);
            Assert.Equal("alice", bobOwner.ExpectMsg<SignalingProtocol.PeerJoined>(Wait).Name);
            Assert.Equal("bob", aliceOwner.ExpectMsg<SignalingProtocol.PeerJoined>(Wait).Name);

            // the first server goes away: it tells both to reconnect; they rejoin the room on the second
            await _server.DisposeAsync();
            foreach (var owner in new[] { aliceOwner, bobOwner })
            {
                var reconnected = owner.ExpectMsg<SignalingProtocol.Reconnected>(Wait);
                Assert.Equal(next.Url, reconnected.Server);
                Assert.Equal("moving", reconnected.Room);
            }
            // no second joined, no peer-left, no second peer-joined for the peer each already knows
            aliceOwner.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
            bobOwner.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

            // and the room works on the second server
            alice.Tell(new SignalingProtocol.SendCandidate("1 1 UDP 2130706431 127.0.0.1 50000 typ host"));
            Assert.Equal("1 1 UDP 2130706431 127.0.0.1 50000 typ host", bobOwner.ExpectMsg<SignalingProtocol.RemoteCandidate>(Wait).Attribute);
            bob.Tell(new SignalingProtocol.Leave());
            Assert.Equal("bob", aliceOwner.ExpectMsg<SignalingProtocol.PeerLeft>(Wait).Name);
        }
        finally
        {
            await next.DisposeAsync();
        }
    }

    [Fact]
    public async Task What_a_client_sent_alone_into_a_room_lost_with_its_server_is_sent_again_into_the_room_it_rejoins()
    {
        using var second = ActorSystem.Create("second", Sys.Settings.Config);
        var next = await SignalServer.StartAsync(second, new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            var aliceOwner = CreateTestProbe();
            var alice = Sys.ActorOf(SignalingClient.Props([_server.Url, next.Url], "early", "alice", aliceOwner));
            aliceOwner.ExpectMsg<SignalingProtocol.Joined>(Wait);
            alice.Tell(new SignalingProtocol.SendDescription("alice's description"));
            alice.Tell(new SignalingProtocol.SendEndOfCandidates());

            // the first server, and the room that kept those for whoever comes, go away; alice rejoins on the second
            await _server.DisposeAsync();
            aliceOwner.ExpectMsg<SignalingProtocol.Reconnected>(Wait);
            var bobOwner = CreateTestProbe();
            Sys.ActorOf(SignalingClient.Props(next.Url, "early", "bob", bobOwner));
            bobOwner.ExpectMsg<SignalingProtocol.Joined>(Wait);
            Assert.Equal("alice", bobOwner.ExpectMsg<SignalingProtocol.PeerJoined>(Wait).Name);
            Assert.Equal("alice's description", bobOwner.ExpectMsg<SignalingProtocol.RemoteDescription>(Wait).Text);
            bobOwner.ExpectMsg<SignalingProtocol.RemoteEndOfCandidates>(Wait);
            bobOwner.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // once
        }
        finally
        {
            await next.DisposeAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
