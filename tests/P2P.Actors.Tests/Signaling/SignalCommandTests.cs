using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>`p2p signal` as a real process.</summary>
public sealed class SignalCommandTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Signal_prints_the_url_it_listens_on_and_a_websocket_can_join_a_room()
    {
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0");
        try
        {
            var line = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ", StringComparison.Ordinal), Timeout);
            var url = new Uri(line["signal listening on ".Length..]);
            Assert.Equal("ws", url.Scheme);
            Assert.Equal("127.0.0.1", url.Host);
            Assert.NotEqual(0, url.Port);
            Assert.Equal("/", url.AbsolutePath);

            var (alice, joined) = await SignalTestSocket.JoinAsync(url, "lobby", "alice");
            await using var _ = alice;
            Assert.Equal("lobby", joined.GetProperty("room").GetString());
            Assert.True(joined.GetProperty("controlling").GetBoolean());

            var (bob, bobJoined) = await SignalTestSocket.JoinAsync(url, "lobby", "bob");
            await using var __ = bob;
            Assert.False(bobJoined.GetProperty("controlling").GetBoolean());
            await alice.SendAsync(new { type = "candidate", candidate = "1 1 UDP 2130706431 127.0.0.1 5000 typ host" });
            await bob.ExpectAsync("peer-joined");
            Assert.Equal("alice", (await bob.ExpectAsync("candidate")).GetProperty("from").GetString());

            // SIGTERM: the peers are told to reconnect (to another node of a fleet), then the server closes, and it exits 0
            using var kill = Process.Start("kill", ["-TERM", signal.Process.Id.ToString(CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
            await alice.ExpectAsync("peer-joined");
            await alice.ExpectAsync("reconnect");
            await bob.ExpectAsync("reconnect");
            Assert.Null(await alice.ReceiveAsync());
            Assert.Null(await bob.ReceiveAsync());
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, alice.CloseStatus);
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, bob.CloseStatus);
            Assert.Equal(0, await signal.WaitForExitAsync(Timeout));
        }
        finally
        {
            output.WriteLine(signal.Transcript);
        }
    }

    [Fact]
    public async Task Rooms_are_cluster_sharded_entities_that_passivate_when_empty_and_come_back()
    {
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0");
        try
        {
            var line = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ", StringComparison.Ordinal), Timeout);
            var url = new Uri(line["signal listening on ".Length..]);
            // the process runs Akka.Cluster.Sharding for the rooms (it logs the coordinator of the signal-room type); the
            // log line may come after the listening line, and the transcript fills from a reader thread: wait for it
            const string coordinator = "signal-room: ShardCoordinator was moved to the active state";
            Assert.True(await signal.WaitForTranscriptAsync(coordinator, Timeout), signal.Transcript);
            for (int round = 0; round < 2; round++)
            {
                // a room used, emptied (its entity passivates), then used again from scratch: the first comer controls again
                var (alice, joined) = await SignalTestSocket.JoinAsync(url, "kitchen", "alice");
                Assert.True(joined.GetProperty("controlling").GetBoolean());
                var (bob, bobJoined) = await SignalTestSocket.JoinAsync(url, "kitchen", "bob");
                Assert.False(bobJoined.GetProperty("controlling").GetBoolean());
                Assert.Equal("bob", (await alice.ExpectAsync("peer-joined")).GetProperty("name").GetString());
                Assert.Equal("alice", (await bob.ExpectAsync("peer-joined")).GetProperty("name").GetString());
                await bob.SendAsync(new { type = "description", description = $"round {round}" });
                Assert.Equal($"round {round}", (await alice.ExpectAsync("description")).GetProperty("description").GetString());
                await alice.SendAsync(new { type = "leave" });
                await bob.ExpectAsync("peer-left");
                await bob.SendAsync(new { type = "leave" });
                await alice.DisposeAsync();
                await bob.DisposeAsync();
                await Task.Delay(500); // the empty room stops (its shard holds any message meanwhile)
            }
        }
        finally
        {
            output.WriteLine(signal.Transcript);
        }
    }

    [Fact]
    public async Task The_one_node_cluster_runs_its_periodic_tasks_seldom_but_still_comes_up_at_the_first_leader_action()
    {
        var hocon = Akka.Configuration.ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "akka.hocon")));
        var system = Akka.Actor.ActorSystem.Create("signal-settings", P2P.Host.Commands.SignalCommand.ActorSystemConfig(hocon));
        try
        {
            var cluster = Akka.Cluster.Cluster.Get(system).Settings;
            Assert.Equal(TimeSpan.FromSeconds(10), cluster.GossipInterval);
            Assert.Equal(TimeSpan.FromSeconds(10), cluster.UnreachableNodesReaperInterval);
            Assert.Equal(TimeSpan.FromSeconds(10), cluster.HeartbeatInterval);
            Assert.Equal(typeof(Akka.Cluster.NoDowning), cluster.DowningProviderType);
            Assert.Equal(TimeSpan.FromSeconds(1), cluster.LeaderActionsInterval); // Joining -> Up at the first one
            var config = system.Settings.Config;
            Assert.Equal(TimeSpan.FromSeconds(10), config.GetTimeSpan("akka.cluster.sharding.distributed-data.gossip-interval"));
            Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.cluster.sharding.distributed-data.notify-subscribers-interval"));
            Assert.Equal(TimeSpan.FromSeconds(10), config.GetTimeSpan("akka.cluster.sharding.retry-interval"));
            Assert.Equal(TimeSpan.FromSeconds(10), config.GetTimeSpan("akka.remote.watch-failure-detector.heartbeat-interval"));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_bad_listen_address_gives_one_sentence_on_stderr_and_exit_2()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "signal", "--listen", "nowhere"), Timeout);
        output.WriteLine(result.ToString());
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("p2p signal: --listen 'nowhere' is not an address with a port such as 127.0.0.1:8090 or [::1]:8090.", result.Stderr.Trim());
    }
}
