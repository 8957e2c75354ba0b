using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Signaling;
using P2P.Host.Signal;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>The signaling server in-process on 127.0.0.1 (a free port), spoken to with raw WebSockets and JSON.</summary>
public sealed class SignalServerTests(ITestOutputHelper output) : TestKit(string.Empty, output), IAsyncLifetime
{
    private SignalServer _server = null!;
    private readonly List<SignalTestSocket> _sockets = [];

    private Uri Url => _server.Url;

    public async Task InitializeAsync() => _server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0));

    public async Task DisposeAsync()
    {
        foreach (var socket in _sockets) await socket.DisposeAsync();
        await _server.DisposeAsync();
    }

    private async Task<(SignalTestSocket Socket, JsonElement Joined)> Join(string room, string name)
    {
        var joined = await SignalTestSocket.JoinAsync(Url, room, name);
        _sockets.Add(joined.Socket);
        return joined;
    }

    /// <summary>alice, then bob, in <paramref name="room"/>, each having read the other's peer-joined.</summary>
    private async Task<(SignalTestSocket Alice, SignalTestSocket Bob)> JoinPair(string room)
    {
        var (alice, _) = await Join(room, "alice");
        var (bob, _) = await Join(room, "bob");
        await alice.ExpectAsync("peer-joined");
        await bob.ExpectAsync("peer-joined");
        return (alice, bob);
    }

    private async Task<SignalTestSocket> Connect()
    {
        var socket = await SignalTestSocket.ConnectAsync(Url);
        _sockets.Add(socket);
        return socket;
    }

    private static string Text(JsonElement message, string field) => message.GetProperty(field).GetString()!;

    [Fact]
    public async Task The_first_to_join_is_controlling_the_second_controlled_and_each_learns_the_other()
    {
        Assert.Equal("ws", Url.Scheme);
        Assert.NotEqual(0, Url.Port);

        var (alice, aliceJoined) = await Join("r1", "alice");
        Assert.Equal("r1", Text(aliceJoined, "room"));
        Assert.True(aliceJoined.GetProperty("controlling").GetBoolean());
        Assert.Equal(1, aliceJoined.GetProperty("peers").GetInt32());

        var (bob, bobJoined) = await Join("r1", "bob");
        Assert.False(bobJoined.GetProperty("controlling").GetBoolean());
        Assert.Equal(2, bobJoined.GetProperty("peers").GetInt32());

        Assert.Equal("bob", Text(await alice.ExpectAsync("peer-joined"), "name"));
        Assert.Equal("alice", Text(await bob.ExpectAsync("peer-joined"), "name"));
    }

    [Fact]
    public async Task Description_candidates_and_end_of_candidates_are_relayed_both_ways_with_from()
    {
        var (alice, bob) = await JoinPair("r2");

        await alice.SendAsync(new { type = "description", description = "a=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\n" });
        await alice.SendAsync(new { type = "candidate", candidate = "1 1 UDP 2130706431 127.0.0.1 5000 typ host" });
        await alice.SendAsync(new { type = "end-of-candidates" });
        var description = await bob.ExpectAsync("description");
        Assert.Equal("alice", Text(description, "from"));
        Assert.Equal("a=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\n", Text(description, "description"));
        var candidate = await bob.ExpectAsync("candidate");
        Assert.Equal("alice", Text(candidate, "from"));
        Assert.Equal("1 1 UDP 2130706431 127.0.0.1 5000 typ host", Text(candidate, "candidate"));
        Assert.Equal("alice", Text(await bob.ExpectAsync("end-of-candidates"), "from"));

        await bob.SendAsync(new { type = "description", description = "bob's" });
        await bob.SendAsync(new { type = "candidate", candidate = "2 1 UDP 1 127.0.0.1 6000 typ host" });
        var back = await alice.ExpectAsync("description");
        Assert.Equal(("bob", "bob's"), (Text(back, "from"), Text(back, "description")));
        Assert.Equal("bob", Text(await alice.ExpectAsync("candidate"), "from"));
    }

    [Fact]
    public async Task Messages_sent_before_the_peer_joined_are_delivered_in_order_when_it_joins()
    {
        var (alice, _) = await Join("early", "alice");
        await alice.SendAsync(new { type = "description", description = "d" });
        for (int i = 0; i < 5; i++) await alice.SendAsync(new { type = "candidate", candidate = $"c{i}" });
        await alice.SendAsync(new { type = "end-of-candidates" });

        var (bob, _) = await Join("early", "bob");
        Assert.Equal("alice", Text(await bob.ExpectAsync("peer-joined"), "name"));
        Assert.Equal("d", Text(await bob.ExpectAsync("description"), "description"));
        for (int i = 0; i < 5; i++) Assert.Equal($"c{i}", Text(await bob.ExpectAsync("candidate"), "candidate"));
        Assert.Equal("alice", Text(await bob.ExpectAsync("end-of-candidates"), "from"));
        Assert.Equal("bob", Text(await alice.ExpectAsync("peer-joined"), "name"));
    }

    [Fact]
    public async Task A_third_peer_is_refused_with_an_error_and_closed_and_the_two_stay()
    {
        var (alice, bob) = await JoinPair("full");

        var carol = await Connect();
        await carol.SendAsync(new { type = "join", room = "full", name = "carol" });
        var error = await carol.ExpectAsync("error");
        Assert.Contains("full", Text(error, "reason"));
        Assert.Null(await carol.ReceiveAsync()); // then the server closes the connection
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, carol.CloseStatus);

        await alice.SendAsync(new { type = "candidate", candidate = "still here" });
        Assert.Equal("still here", Text(await bob.ExpectAsync("candidate"), "candidate"));
    }

    [Fact]
    public async Task Leave_and_disconnect_tell_the_other_peer_and_free_the_seat()
    {
        var (alice, bob) = await JoinPair("seats");

        await alice.SendAsync(new { type = "leave" });
        Assert.Equal("alice", Text(await bob.ExpectAsync("peer-left"), "name"));

        // the controlling seat is free again: the next peer takes it
        var (carol, carolJoined) = await Join("seats", "carol");
        Assert.True(carolJoined.GetProperty("controlling").GetBoolean());
        Assert.Equal("carol", Text(await bob.ExpectAsync("peer-joined"), "name"));
        await carol.ExpectAsync("peer-joined");

        carol.Abort(); // a lost connection counts as leaving
        Assert.Equal("carol", Text(await bob.ExpectAsync("peer-left"), "name"));

        // alice left but kept her connection: she may join again, now controlling
        await alice.SendAsync(new { type = "join", room = "seats", name = "alice" });
        Assert.True((await alice.ExpectAsync("joined")).GetProperty("controlling").GetBoolean());
    }

    [Fact]
    public async Task Bad_messages_each_get_an_error_are_counted_and_the_connection_keeps_working()
    {
        var socket = await Connect();
        var oversize = JsonSerializer.Serialize(new { type = "candidate", candidate = new string('x', 70_000) });
        var bad = new Func<Task>[]
        {
            () => socket.SendTextAsync("this is not json {"),
            () => socket.SendTextAsync("[1, 2, 3]"),
            () => socket.SendAsync(new { type = "shout", text = "hello" }),
            () => socket.SendAsync(new { type = "join", name = "alice" }),
            () => socket.SendAsync(new { type = "candidate", candidate = "1 1 UDP 1 127.0.0.1 1 typ host" }),
            () => socket.SendAsync(new { type = "description" }),
            () => socket.SendTextAsync(oversize),
            () => socket.SendBinaryAsync([1, 2, 3]),
        };
        var reasons = new List<string>();
        foreach (var send in bad)
        {
            await send();
            reasons.Add(Text(await socket.ExpectAsync("error"), "reason"));
        }
        Output?.WriteLine(string.Join("\n", reasons));
        Assert.Contains("not JSON", reasons[0]);
        Assert.Contains("unknown message type 'shout'", reasons[2]);
        Assert.Contains("\"room\"", reasons[3]);
        Assert.Contains("join a room", reasons[4]);
        Assert.Contains("over the limit of 65536", reasons[6]);
        Assert.All(reasons, r => Assert.False(string.IsNullOrWhiteSpace(r)));

        // the connection still works: it can join and is answered
        await socket.SendAsync(new { type = "join", room = "after-bad", name = "alice" });
        Assert.True((await socket.ExpectAsync("joined")).GetProperty("controlling").GetBoolean());

        var stats = await _server.Connections.Ask<SignalingConnections.Stats>(new SignalingConnections.GetStats(), TimeSpan.FromSeconds(10));
        Assert.Equal(bad.Length, stats.BadMessages);
        Assert.Equal(1, stats.Connections);
    }

    [Fact]
    public async Task A_room_that_empties_stops_and_can_be_used_again()
    {
        var rooms = await Sys.ActorSelection("/user/" + SignalingRooms.Name).ResolveOne(TimeSpan.FromSeconds(10));
        var (alice, bob) = await JoinPair("short-lived");
        Assert.Equal(1, (await rooms.Ask<SignalingRoomProtocol.RoomCount>(new SignalingRoomProtocol.GetRoomCount())).Rooms);

        await alice.SendAsync(new { type = "leave" });
        await bob.CloseAsync();
        await AwaitAssertAsync(async () =>
            Assert.Equal(0, (await rooms.Ask<SignalingRoomProtocol.RoomCount>(new SignalingRoomProtocol.GetRoomCount())).Rooms),
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(50));

        await alice.SendAsync(new { type = "join", room = "short-lived", name = "alice" });
        var again = await alice.ExpectAsync("joined");
        Assert.Equal(1, again.GetProperty("peers").GetInt32());
    }
}
