using System.Diagnostics;
using System.Globalization;
using P2P.Actors.Tests.Signaling;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Fleet;

/// <summary>
/// <c>p2p signal</c> as a fleet of three real processes on 127.0.0.1 (remoting and WebSocket ports picked at run time),
/// with real <c>p2p chat</c> peers (<c>--stun none</c>: no STUN server at all) that meet through different nodes.
/// </summary>
[Trait("Category", "Fleet")]
public sealed class SignalFleetTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static readonly string[] Loopback = ["--stun", "none", "--local-address", "127.0.0.1"];

    /// <summary>Three nodes: the first seeds the fleet, the other two join it through it.</summary>
    private sealed class SignalFleet : IAsyncDisposable
    {
        public required IReadOnlyList<P2pProcess> Nodes { get; init; }
        public required IReadOnlyList<string> Urls { get; init; }

        public static async Task<SignalFleet> StartAsync(int count = 3)
        {
            var ports = Enumerable.Range(0, count).Select(_ => InteractiveProcess.FindFreeTcpPort()).ToArray();
            string seed = $"127.0.0.1:{ports[0]}";
            var nodes = ports.Select(port => P2pProcess.Start("signal", "--listen", "127.0.0.1:0",
                "--cluster-port", port.ToString(CultureInfo.InvariantCulture), "--seed", seed)).ToList();
            var urls = new List<string>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var listening = await nodes[i].WaitForLineAsync(l => l.StartsWith("signal listening on ", StringComparison.Ordinal), Wait);
                    urls.Add(listening["signal listening on ".Length..].Trim());
                    // printed once the node is Up in the fleet
                    Assert.Equal($"signal node 127.0.0.1:{ports[i]} of a fleet (seeds {seed})",
                        await nodes[i].WaitForLineAsync(l => l.StartsWith("signal node ", StringComparison.Ordinal), Wait));
                }
            }
            catch
            {
                foreach (var node in nodes) await node.DisposeAsync();
                throw;
            }
            return new SignalFleet { Nodes = nodes, Urls = urls };
        }

        /// <summary>The node whose log shows room <paramref name="room"/> seating someone: the node that runs the room.</summary>
        public int? HomeOf(string room) =>
            Enumerable.Range(0, Nodes.Count).Cast<int?>().FirstOrDefault(i => Nodes[i!.Value].Transcript.Contains($"signal room {room}: ", StringComparison.Ordinal));

        /// <summary>
        /// Names of <paramref name="count"/> rooms that live on node <paramref name="node"/> (rooms are spread over the nodes
        /// by shard): each probe joins a room through another node, and the room's node logs the seat.
        /// </summary>
        public async Task<IReadOnlyList<string>> RoomsOnAsync(int node, int count)
        {
            var found = new List<string>();
            var through = new Uri(Urls[(node + 1) % Urls.Count]);
            for (int i = 0; i < 60 && found.Count < count; i++)
            {
                string room = $"probe-{node}-{i}";
                var (probe, _) = await SignalTestSocket.JoinAsync(through, room, "probe");
                await using (probe)
                {
                    if (await Nodes[node].WaitForTranscriptAsync($"signal room {room}: probe joined", TimeSpan.FromMilliseconds(300))) found.Add(room);
                    await probe.SendAsync(new { type = "leave" }); // the room empties and passivates
                }
            }
            Assert.Equal(count, found.Count);
            return found;
        }

        /// <summary>The URLs starting at node <paramref name="first"/>, then the others in order: what a client on that node is given.</summary>
        public string From(int first) => string.Join(",", Urls.Skip(first).Concat(Urls.Take(first)));

        public void Dump(ITestOutputHelper output)
        {
            for (int i = 0; i < Nodes.Count; i++) output.WriteLine($"--- node {i}\n{Nodes[i].Transcript}");
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes) await node.DisposeAsync();
        }
    }

    private static P2pProcess Chat(string signal, string room) => P2pProcess.Start(["--signal", signal, "--room", room, .. Loopback]);

    /// <summary>Two chats in <paramref name="room"/>, the first through node 0, the second through node 1; both connected.</summary>
    private static async Task<(P2pProcess Alice, P2pProcess Bob)> MeetAsync(SignalFleet fleet, string room)
    {
        var alice = Chat(fleet.From(0), room);
        await alice.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        var bob = Chat(fleet.From(1), room);
        await alice.WaitForLineAsync(l => l == "Connected", Wait);
        await bob.WaitForLineAsync(l => l == "Connected", Wait);
        return (alice, bob);
    }

    private static async Task LineAsync(P2pProcess from, P2pProcess to, string text)
    {
        await from.WriteLineAsync(text);
        await to.WaitForLineAsync(l => l == $"Received: {text}", Wait);
    }

    [Fact]
    public async Task A_node_whose_seeds_do_not_answer_says_so_in_one_sentence_and_exits_1()
    {
        int nobody = InteractiveProcess.FindFreeTcpPort();
        await using var node = P2pProcess.Start(["signal", "--listen", "127.0.0.1:0", "--cluster-port", "0", "--seed", $"127.0.0.1:{nobody}"],
            environment: new Dictionary<string, string> { ["P2P__FLEET__JOIN_TIMEOUT"] = "2s" });
        try
        {
            Assert.Equal($"p2p signal: did not join the fleet within 2 s (seeds 127.0.0.1:{nobody}; is the first seed up?).",
                await node.WaitForLineAsync(l => l.StartsWith("p2p signal: ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr));
            Assert.Equal(1, await node.WaitForExitAsync(Wait));
            Assert.DoesNotContain(node.PrintedLines(NicePeerStream.Stdout), l => l.StartsWith("signal listening", StringComparison.Ordinal));
        }
        finally
        {
            output.WriteLine(node.Transcript);
        }
    }

    [Fact]
    public async Task Peers_connected_to_different_nodes_meet_in_one_room_and_chat()
    {
        await using var fleet = await SignalFleet.StartAsync();
        P2pProcess? alice = null, bob = null;
        try
        {
            (alice, bob) = await MeetAsync(fleet, "split");
            await LineAsync(alice, bob, "hello across the fleet");
            await LineAsync(bob, alice, "and back");
            // the room runs on one node; at least one of the two peers reached it through another node's connection
            Assert.NotNull(fleet.HomeOf("split"));
        }
        finally
        {
            if (alice is not null) { output.WriteLine(alice.Transcript); await alice.DisposeAsync(); }
            if (bob is not null) { output.WriteLine(bob.Transcript); await bob.DisposeAsync(); }
            fleet.Dump(output);
        }
    }

    [Fact]
    public async Task A_node_that_leaves_gracefully_sends_its_clients_to_another_node_and_the_chat_goes_on()
    {
        await using var fleet = await SignalFleet.StartAsync();
        P2pProcess? alice = null, bob = null;
        try
        {
            // the room lives on the node that leaves: its shard is handed over, and the room rebuilt by the rejoins
            string room = (await fleet.RoomsOnAsync(0, 1))[0];
            (alice, bob) = await MeetAsync(fleet, room);
            await LineAsync(alice, bob, "before the leave");

            // alice's node stops (SIGTERM): it tells alice to reconnect, hands its shards over, leaves the fleet and exits 0
            long signalled = Stopwatch.GetTimestamp();
            fleet.Nodes[0].Signal(PosixSignalNumber.SIGTERM);
            var reconnected = await alice.WaitForStampedLineAsync(l => l.StartsWith("signaling: reconnected to ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Equal($"signaling: reconnected to {fleet.Urls[1]} (room {room})", reconnected.Text);
            output.WriteLine($"SIGTERM to alice's reconnected line: {Stopwatch.GetElapsedTime(signalled, reconnected.ReadAt).TotalMilliseconds:0} ms");
            Assert.Equal(0, await fleet.Nodes[0].WaitForExitAsync(Wait));
            output.WriteLine($"SIGTERM to the node's exit: {Stopwatch.GetElapsedTime(signalled).TotalMilliseconds:0} ms");

            await LineAsync(alice, bob, "after the leave");
            await LineAsync(bob, alice, "still here");
            // nobody saw the other leave, join again, or signaling fail
            foreach (var peer in new[] { alice, bob })
                Assert.DoesNotContain(peer.PrintedLines(NicePeerStream.Stderr), l => l.Contains("left the room", StringComparison.Ordinal) || l.StartsWith("p2p: ", StringComparison.Ordinal));
            Assert.Single(bob.PrintedLines(NicePeerStream.Stderr), l => l.EndsWith(" joined the room.", StringComparison.Ordinal));
        }
        finally
        {
            if (alice is not null) { output.WriteLine(alice.Transcript); await alice.DisposeAsync(); }
            if (bob is not null) { output.WriteLine(bob.Transcript); await bob.DisposeAsync(); }
            fleet.Dump(output);
        }
    }

    [Fact]
    public async Task A_node_killed_during_a_chat_loses_nothing_and_its_rooms_come_back_on_the_others()
    {
        await using var fleet = await SignalFleet.StartAsync();
        P2pProcess? alice = null, bob = null, carol = null, dave = null;
        try
        {
            // two rooms on node 0, the node about to be killed: the chat's, and one for a new pair afterwards
            var doomedRooms = await fleet.RoomsOnAsync(0, 2);
            string room = doomedRooms[0], doomed = doomedRooms[1];
            (alice, bob) = await MeetAsync(fleet, room);
            await LineAsync(alice, bob, "before the kill");

            long killed = Stopwatch.GetTimestamp();
            fleet.Nodes[0].Signal(PosixSignalNumber.SIGKILL);
            // the chat never used the server: it goes on at once, long before the room is back
            await LineAsync(alice, bob, "after the kill");
            await LineAsync(bob, alice, "still here");
            // alice is connected to node 1 at once; her seat is back once the resolver has downed node 0 and the room is
            // rebuilt on a survivor (her join is sent again until then)
            var reconnected = await alice.WaitForStampedLineAsync(l => l.StartsWith("signaling: reconnected to ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Equal($"signaling: reconnected to {fleet.Urls[1]} (room {room})", reconnected.Text);
            output.WriteLine($"kill -9 to alice's reconnected line: {Stopwatch.GetElapsedTime(killed, reconnected.ReadAt).TotalMilliseconds:0} ms");
            await LineAsync(alice, bob, "after the rejoin");
            foreach (var peer in new[] { alice, bob })
                Assert.DoesNotContain(peer.PrintedLines(NicePeerStream.Stderr), l => l.Contains("left the room", StringComparison.Ordinal) || l.StartsWith("p2p: ", StringComparison.Ordinal));

            // a new pair meets in the room that was on the killed node, once the split-brain resolver has downed it
            carol = Chat(fleet.From(1), doomed);
            await carol.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            output.WriteLine($"kill -9 to a new join of a room of the killed node: {Stopwatch.GetElapsedTime(killed).TotalMilliseconds:0} ms");
            dave = Chat(fleet.From(2), doomed);
            await carol.WaitForLineAsync(l => l == "Connected", Wait);
            await dave.WaitForLineAsync(l => l == "Connected", Wait);
            await LineAsync(carol, dave, "a new pair after the kill");
            Assert.True(fleet.Nodes[1].Transcript.Contains($"signal room {doomed}: ", StringComparison.Ordinal)
                || fleet.Nodes[2].Transcript.Contains($"signal room {doomed}: ", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var peer in new[] { alice, bob, carol, dave })
            {
                if (peer is null) continue;
                output.WriteLine(peer.Transcript);
                await peer.DisposeAsync();
            }
            fleet.Dump(output);
        }
    }
}
