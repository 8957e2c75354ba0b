using Xunit;
using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Relay;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>Starts a <see cref="RelayServer"/> on 127.0.0.1 port 0 (never a fixed port) with test users.</summary>
public abstract class RelayTestBase(ITestOutputHelper output) : TestKit("akka.loglevel = INFO", output)
{
    protected const string Realm = "test.realm";
    protected static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    protected static RelaySettings Settings => new()
    {
        Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
        Realm = Realm,
        Users = new Dictionary<string, string> { ["alice"] = "secret", ["bob"] = "hunter2" },
        AllowLoopback = true,
    };

    protected sealed record RunningRelay(IActorRef Actor, IPEndPoint Udp, IPEndPoint Tcp);

    protected async Task<RunningRelay> StartRelay(RelaySettings? settings = null)
    {
        var actor = Sys.ActorOf(RelayServer.Props(settings ?? Settings), $"relay-{Guid.NewGuid():N}");
        var reply = await actor.Ask<object>(new RelayServerProtocol.AwaitListening(), AskTimeout);
        var listening = Assert.IsType<RelayServerProtocol.Listening>(reply);
        return new RunningRelay(actor, listening.Udp[0], listening.Tcp[0]);
    }

    protected static TurnTestClient Alice(RunningRelay relay) => TurnTestClient.Udp(relay.Udp, "alice", "secret");

    protected static async Task<IReadOnlyList<RelayServerProtocol.AllocationEntry>> Allocations(RunningRelay relay) =>
        (await relay.Actor.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), AskTimeout)).Allocations;

    protected static Task<RelayServerProtocol.Stats> Stats(RunningRelay relay) =>
        relay.Actor.Ask<RelayServerProtocol.Stats>(new RelayServerProtocol.GetStats(), AskTimeout);

    /// <summary>Allocates and checks success; returns the relayed address.</summary>
    protected static async Task<IPEndPoint> AllocateOk(TurnTestClient client, uint? lifetime = null)
    {
        var reply = await client.Allocate(lifetime);
        Assert.True(reply.IsSuccess, $"Allocate failed: {reply}");
        return reply.Address(P2P.Protocol.Stun.StunAttributeType.XorRelayedAddress)!;
    }

    /// <summary>Polls until <paramref name="condition"/> holds (generous timeout), for state that changes on timers.</summary>
    protected static async Task Eventually(Func<Task<bool>> condition, TimeSpan? timeout = null, string? because = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(because ?? "condition not reached in time");
            await Task.Delay(50);
        }
    }
}
