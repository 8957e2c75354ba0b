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
        // A gets the lower address: with two nodes keep-majority keeps A's side, so a dead A means a downed B
        int one = InteractiveProcess.FindFreeTcpPort(), two = InteractiveProcess.FindFreeTcpPort();
        int seedPort = Math.Min(one, two), bPort = Math.Max(one, two);
        string seed = $"127.0.0.1:{seedPort}";
        string[] common = ["--user", $"{User}:{Password}", "--allow-loopback", "--seed", seed];
        var a = await RelayProcess.Start([.. common, "--cluster-port", seedPort.ToString(), .. aOptions ?? []]);
        _relays.Add(a);
        var b = await RelayProcess.Start([.. common, "--cluster-port", bPort.ToString(), .. bOptions ?? []]);
        _relays.Add(b);
        foreach (var relay in new[] { a, b })
            Assert.True(await relay.WaitForOutputAsync("relay fleet node akka.tcp://p2p@", Wait), "a relay did not join the fleet");
        Assert.True(await a.WaitForOutputAsync($"@127.0.0.1:{bPort}#", Wait), "A never saw B's entry");
        Assert.True(await b.WaitForOutputAsync($"@127.0.0.1:{seedPort}#", Wait), "B never saw A's entry");
        return (a, b);
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
}
