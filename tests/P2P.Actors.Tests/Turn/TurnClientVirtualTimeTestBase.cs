using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Turn;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// TurnClient against a server played by the test (<see cref="FakeTurnServer"/>, a probe in place of the
/// socket), with TestKit's virtual-time scheduler, for the UDP and the TCP transport alike.
/// </summary>
public abstract class TurnClientVirtualTimeTestBase : TestKit
{
    private const string VirtualTime = """
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = DEBUG
        """;

    protected TurnClientVirtualTimeTestBase(ITestOutputHelper output) : base(VirtualTime, output)
    {
        Server = new FakeTurnServer(CreateTestProbe());
        Owner = CreateTestProbe();
    }

    protected FakeTurnServer Server { get; }

    protected TestProbe Owner { get; }

    protected TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    protected static TurnClientSettings Settings => TurnClientSettings.From(TurnClientSettingsTests.RepoHocon());

    protected IActorRef StartAllocator(string password = FakeTurnServer.Password, TurnClientSettings? settings = null, TurnTransport transport = TurnTransport.Udp)
    {
        var allocator = Sys.ActorOf(TurnClient.Props(settings ?? Settings, FakeTurnServer.Server,
            new TurnCredentials(FakeTurnServer.Username, password), Server.Socket, Owner.Ref, transport));
        Server.Allocator = allocator;
        return allocator;
    }

    /// <summary>Waits until the allocator has handled everything sent to it so far.</summary>
    protected void Sync(IActorRef allocator)
    {
        allocator.Tell(GetStats.Instance, TestActor);
        ExpectMsg<Stats>();
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Server.Dispose();
    }
}
