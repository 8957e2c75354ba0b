using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Fleet;

/// <summary>
/// Two <c>p2p relay</c> processes on 127.0.0.1 joined in one fleet (free ports picked at run time, --allow-loopback): the user
/// quota held across both, a full node's 300 Try Alternate followed by our TURN client and by coturn's turnutils_uclient,
/// and a kill -9 of one node leaving the other serving.
/// </summary>
[Trait("Category", "Fleet")]
public sealed class RelayFleetTests : TestKit, IAsyncLifetime
{
    private readonly ITestOutputHelper output;

    public RelayFleetTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output) => this.output = output;

    private const string User = "fleetuser", Password = "fleetpass";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly List<RelayProcess> _relays = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var relay in _relays)
        {
            output.WriteLine($"--- relay {relay.UdpPort}\n{relay.Output}");
            await relay.DisposeAsync();
        }
    }

    /// <summary>Node A (the seed, the oldest) and node B, each up in the fleet and each in the other's view.</summary>
    private async Task<(RelayProcess A, RelayProcess B)> StartFleet(string[]? aOptions = null, string[]? bOptions = null)
    {
        var nodes = await StartNodes(aOptions ?? [], bOptions ?? []);
        return (nodes[0], nodes[1]);
    }

    /// <summary>One relay per options array, the first the seed; each up in the fleet and each in every other's view. Ports
    /// rise with the order (with two nodes keep-majority keeps the first's side, so a dead first node means a downed second).</summary>
    private async Task<List<RelayProcess>> StartNodes(params string[][] options)
    {
        var ports = options.Select(_ => InteractiveProcess.FindFreeTcpPort()).Order().ToList();
        string seed = $"127.0.0.1:{ports[0]}";
        var nodes = new List<RelayProcess>();
        for (int i = 0; i < options.Length; i++)
        {
            var node = await RelayProcess.Start(["--user", $"{User}:{Password}", "--allow-loopback", "--seed", seed, "--cluster-port", ports[i].ToString(), .. options[i]]);
            _relays.Add(node);
            nodes.Add(node);
        }
        for (int i = 0; i < nodes.Count; i++)
        {
            Assert.True(await nodes[i].WaitForOutputAsync("relay fleet node akka.tcp://p2p@", Wait), $"relay {i} did not join the fleet");
            for (int j = 0; j < nodes.Count; j++)
                if (j != i) Assert.True(await nodes[i].WaitForOutputAsync($"@127.0.0.1:{ports[j]}#", Wait), $"relay {i} never saw relay {j}'s entry");
        }
        return nodes;
    }

    private static IPEndPoint Tcp(RelayProcess relay) => new(IPAddress.Loopback, relay.TcpPort);

    /// <summary>An allocation over TCP (its own connection) on <paramref name="relay"/>: the client and the owner that hears from it.</summary>
    private (IActorRef Client, TestProbe Owner) Allocate(RelayProcess relay)
    {
        var owner = CreateTestProbe();
        var client = Sys.ActorOf(TurnClient.PropsOverTcp(TurnClientSettings.Default, Tcp(relay), new TurnCredentials(User, Password), owner.Ref));
        return (client, owner);
    }

    private static object Outcome(TestProbe owner) =>
        owner.FishForMessage(m => m is TurnClientProtocol.AllocationSucceeded or TurnClientProtocol.AllocationFailed, Wait);

    private static int? CodeOf(object outcome) => outcome is TurnClientProtocol.AllocationFailed f ? f.Code : null;

    private static void Release(IActorRef client, TestProbe owner)
    {
        client.Tell(TurnClientProtocol.Deallocate.Instance, owner.Ref);
        owner.FishForMessage(m => m is TurnClientProtocol.Deallocated, Wait);
    }

    /// <summary>Allocates on <paramref name="relay"/> until the answer is <paramref name="expected"/> (null: success), releasing what should not have been had; the time it took.</summary>
    private async Task<TimeSpan> UntilAnswered(RelayProcess relay, int? expected, string why)
    {
        var started = Stopwatch.StartNew();
        while (started.Elapsed < Wait)
        {
            var (client, owner) = Allocate(relay);
            var outcome = Outcome(owner);
            if (CodeOf(outcome) == expected && (expected is not null || outcome is TurnClientProtocol.AllocationSucceeded)) return started.Elapsed;
            if (outcome is TurnClientProtocol.AllocationSucceeded) Release(client, owner); // within the replication delay
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException($"{why}: not within {Wait.TotalSeconds:0} s");
    }

    [Fact]
    public async Task The_user_quota_holds_across_the_fleet_and_a_release_on_one_node_frees_a_place_on_the_other()
    {
        var (a, b) = await StartFleet(["--user-quota", "2"], ["--user-quota", "2"]);
        var (_, ownerA) = Allocate(a);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(ownerA));
        var (onB, ownerB) = Allocate(b);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(ownerB));

        var seenOnA = await UntilAnswered(a, 486, "A did not refuse a third allocation with 486");
        output.WriteLine($"A refused the third allocation {seenOnA.TotalMilliseconds:0} ms after B's allocation succeeded");
        var (_, third) = Allocate(b);
        Assert.Equal(486, CodeOf(Outcome(third)));

        Release(onB, ownerB);
        var freedOnA = await UntilAnswered(a, null, "A did not take an allocation after B's was released");
        output.WriteLine($"A took an allocation {freedOnA.TotalMilliseconds:0} ms after B's was released");
    }

    [Fact]
    public async Task A_full_node_redirects_our_turn_client_to_the_node_with_room()
    {
        var (a, b) = await StartFleet(["--max-allocations", "1"]);
        var (_, first) = Allocate(a);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(first));
        var (_, second) = Allocate(a);
        var redirected = second.FishForMessage<TurnClientProtocol.AllocationRedirected>(_ => true, Wait);
        Assert.Equal((Tcp(a), Tcp(b)), (redirected.From, redirected.To));
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(second));
        Assert.True(await b.WaitForOutputAsync($"for {User} relays on", Wait), "B made no allocation");
    }

    [Fact]
    public async Task A_full_node_redirects_turnutils_uclient_which_then_relays_through_the_node_with_room()
    {
        var (a, b) = await StartFleet(["--max-allocations", "1"]);
        var (_, first) = Allocate(a);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(first));
        // client-to-client mode: a probe Allocate to A (answered 300 with B's UDP address), then both clients on B
        string[] args = ["-u", User, "-w", Password, "-p", a.UdpPort.ToString(), "-e", "127.0.0.1", "-X", "-y", "-c",
            "-n", "50", "-m", "1", "-l", "120", "-z", "5", "127.0.0.1"];
        var result = await Processes.Run(Processes.Program("turnutils_uclient", args), TimeSpan.FromSeconds(50));
        output.WriteLine($"turnutils_uclient {string.Join(' ', args)}\n{result}");
        Assert.False(result.TimedOut, "turnutils_uclient timed out");
        var text = result.Stdout + result.Stderr;
        Assert.Contains("error 300 (Try Alternate)", text);
        var lost = Regex.Match(text, @"Total lost packets (\d+) \(");
        Assert.True(lost.Success, "no lost-packet statistics in turnutils_uclient's output");
        Assert.Equal(0, int.Parse(lost.Groups[1].Value));
        Assert.Equal(2, Regex.Matches(b.Output, $@"Allocation udp 127\.0\.0\.1:\d+->127\.0\.0\.1:{b.UdpPort} for {User}").Count);
    }

    [Fact]
    public async Task A_kill_9_of_the_seed_relay_leaves_the_other_relaying_its_allocation_and_taking_new_ones()
    {
        var (a, b) = await StartFleet();
        var (held, heldOwner) = Allocate(b);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(heldOwner));
        a.Process.Kill(); // SIGKILL: no leaving, the fleet must find out by itself
        // the resolver decides once the partition is stable (keep-majority: with two nodes the side of the lowest address
        // stays, so B either removes A or is downed itself); either way B goes on relaying
        var decided = Stopwatch.StartNew();
        while (!b.Output.Contains("left the fleet; its entry is removed") && !b.Output.Contains("was removed from its fleet"))
        {
            Assert.True(decided.Elapsed < TimeSpan.FromSeconds(45), "no split-brain decision on B");
            await Task.Delay(50);
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // a relay that stops on being downed would be gone by now
        Assert.False(b.Process.HasExited, "B exited after the split-brain decision");
        held.Tell(TurnClientProtocol.CheckAllocation.Instance, heldOwner.Ref); // its allocation is still there
        heldOwner.FishForMessage(m => m is TurnClientProtocol.AllocationRefreshed, Wait);
        var (_, owner) = Allocate(b);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(owner));
    }

    [Fact]
    public async Task A_draining_node_redirects_new_allocations_keeps_its_own_and_stops_when_the_last_one_ends()
    {
        var (a, b) = await StartFleet();
        var (held, heldOwner) = Allocate(a);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(heldOwner));
        using (var usr1 = Process.Start("kill", ["-USR1", a.Process.Id.ToString()])!) await usr1.WaitForExitAsync();
        Assert.True(await a.WaitForOutputAsync("relay draining: new allocations go to other nodes; stopping when the 1 allocations here have ended", Wait));

        var (_, newcomer) = Allocate(a);
        var redirected = newcomer.FishForMessage<TurnClientProtocol.AllocationRedirected>(_ => true, Wait);
        Assert.Equal(Tcp(b), redirected.To);
        Assert.IsType<TurnClientProtocol.AllocationSucceeded>(Outcome(newcomer));
        held.Tell(TurnClientProtocol.CheckAllocation.Instance, heldOwner.Ref); // the drained node's allocation still works
        heldOwner.FishForMessage(m => m is TurnClientProtocol.AllocationRefreshed, Wait);
        Assert.False(a.Process.HasExited);

        Release(held, heldOwner);
        Assert.True(await a.WaitForOutputAsync("relay drained: stopping", Wait));
        using var exit = new CancellationTokenSource(Wait);
        await a.Process.WaitForExitAsync(exit.Token);
        Assert.Equal(0, a.Process.ExitCode);
    }

    [Fact]
    public async Task A_kill_9_of_the_relay_a_chat_was_redirected_to_restarts_the_chat_onto_another_node()
    {
        // A takes one allocation, B and D have room; both chats name A only (the fleet's front door)
        var nodes = await StartNodes(["--max-allocations", "1"], [], []);
        var a = nodes[0];
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0");
        var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ws://127.0.0.1:", StringComparison.Ordinal), Wait);
        var url = listening["signal listening on ".Length..].Trim();
        string[] chat = ["--signal", url, "--room", "fleet", "--relay-only", "--stun", "none", "--local-address", "127.0.0.1",
            "--turn", "127.0.0.1", "--turn-port", a.UdpPort.ToString(), "--turn-user", User, "--turn-pass", Password];
        var quickConsent = new Dictionary<string, string> { ["P2P__ICE__CONSENT_TIMEOUT"] = "5s" };
        await using var bob = P2pProcess.Start(chat, environment: quickConsent);
        await bob.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        Assert.True(await a.WaitForOutputAsync($"for {User} relays on", Wait), "bob's allocation is not on A");
        await using var alice = P2pProcess.Start(chat, environment: quickConsent);
        try
        {
            await alice.WaitForLineAsync(l => l == "Connected", Wait);
            await bob.WaitForLineAsync(l => l == "Connected", Wait);
            var redirectedTo = nodes.Skip(1).Single(n => n.Output.Contains($"for {User} relays on", StringComparison.Ordinal));
            await alice.WriteLineAsync("before");
            await bob.WaitForLineAsync(l => l == "Received: before", Wait);

            redirectedTo.Process.Kill();
            // whichever side misses consent first restarts ICE; the other restarts because the remote did, without that line
            var lost = Stopwatch.StartNew();
            while (!alice.Transcript.Contains("p2p: connection lost", StringComparison.Ordinal) && !bob.Transcript.Contains("p2p: connection lost", StringComparison.Ordinal))
            {
                Assert.True(lost.Elapsed < Wait, "neither chat lost its connection after the relay was killed");
                await Task.Delay(100);
            }
            var other = nodes.Skip(1).Single(n => n != redirectedTo);
            Assert.True(await other.WaitForOutputAsync($"for {User} relays on", Wait), "alice never allocated on the live node");
            await bob.WriteLineAsync("after the relay died");
            await alice.WaitForLineAsync(l => l == "Received: after the relay died", Wait);
        }
        finally
        {
            output.WriteLine($"--- alice\n{alice.Transcript}\n--- bob\n{bob.Transcript}");
        }
    }
}
