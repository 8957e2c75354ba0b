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
    public async Task A_client_whose_server_goes_away_reports_SignalingFailed()
    {
        var (client, owner) = Client("going", "alice");
        owner.ExpectMsg<SignalingProtocol.Joined>(Wait);
        Watch(client);
        await _server.DisposeAsync();
        var failed = owner.ExpectMsg<SignalingProtocol.SignalingFailed>(Wait);
        Output?.WriteLine(failed.Reason);
        Assert.Equal($"lost the signaling server at {_server.Url}: the other side closed the connection: the signaling server is shutting down", failed.Reason);
        ExpectTerminated(client, Wait);
    }
}
