using System.Net;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Transport.Virtual;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using P2P.Protocol.Nat;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sessions;

/// <summary>
/// A peer whose STUN server announces OTHER-ADDRESS runs RFC 5780 discovery once in the background (real time on the
/// virtual network, with akka.hocon's settings): gathering does not wait for it, the sessions it has then learn the report,
/// and the descriptions of later sessions carry it as a=x-p2p-nat.
/// </summary>
public sealed class BackgroundNatDiscoveryTests(ITestOutputHelper output)
    : RealTimeVirtualNetworkTestBase(Hocon(), output, seed: 5780)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Hocon()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, "akka.hocon");
            if (File.Exists(file)) return "akka.loglevel = INFO\n" + File.ReadAllText(file) + "\np2p.stun.nat-discovery.background-delay = 50ms\n";
        }
        throw new FileNotFoundException("akka.hocon not found above " + AppContext.BaseDirectory);
    }

    private IActorRef PeerBehindNat(NatBehavior behavior)
    {
        Net.AddNat("nat", IPAddress.Parse("203.0.113.1"), behavior);
        Net.AddPrivateHost("alice", IPAddress.Parse("10.0.0.2"), "nat");
        var settings = new LocalPeerSettings("alice", new IPEndPoint(IPAddress.Any, 5000), [VirtualRfc5780Server.Server], []) { Sockets = Net.SocketsOf("alice") };
        var parent = CreateTestProbe();
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, IceSettings.From(Sys.Settings.Config), StunSettings.From(Sys.Settings.Config),
            TurnClientSettings.From(Sys.Settings.Config)), "alice");
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Wait);
        return peer;
    }

    private (TestProbe Owner, SessionProtocol.Started Started) Open(IActorRef peer, string id)
    {
        var owner = CreateTestProbe();
        peer.Tell(new LocalPeerProtocol.OpenSession(id, Controlling: true, owner.Ref));
        return (owner, owner.FishForMessage<SessionProtocol.Started>(_ => true, Wait));
    }

    [Fact]
    public async Task The_report_reaches_open_sessions_and_the_descriptions_of_later_ones()
    {
        await VirtualRfc5780Server.StartAsync(Net, Sys);
        var peer = PeerBehindNat(NatBehavior.PortRestrictedCone);
        var (firstOwner, firstStarted) = Open(peer, "first");
        var first = firstStarted.Session;

        // gathering is not held up: the first description comes before discovery has finished, without the line
        var early = firstOwner.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Wait);
        Assert.Null(early.Description.Nat);

        SessionProtocol.NatReports reports = null!;
        await AwaitAssertAsync(async () =>
        {
            reports = await first.Ask<SessionProtocol.NatReports>(new SessionProtocol.GetNat(), Wait);
            Assert.NotNull(reports.Local);
        }, Wait, TimeSpan.FromMilliseconds(100));
        var report = reports.Local!;
        Assert.Equal(MappingBehavior.EndpointIndependent, report.Mapping);
        Assert.Equal(FilteringBehavior.AddressAndPortDependent, report.Filtering);
        Assert.Equal(IPAddress.Parse("203.0.113.1"), report.PublicAddress);
        Assert.True(report.PortPrediction); // p2p.ice.port-prediction = on
        Assert.Null(report.MappingLifetime); // never probed in the background
        Assert.Null(reports.Remote);

        var identity = await Sys.ActorSelection(peer.Path / "nat-discovery").Ask<ActorIdentity>(new Identify(1), Wait);
        Assert.Null(identity.Subject); // it ran once and stopped
        var (laterOwner, laterStarted) = Open(peer, "later");
        Assert.Equal(report, laterStarted.Description?.Nat); // what the remote gets first carries it too
        var described = laterOwner.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Wait).Description;
        Assert.Equal(report, described.Nat);
        var text = described.Write();
        Assert.Contains("a=x-p2p-nat:v=1 map=eim filt=apdf", text);
        Assert.True(IceDescription.TryParse(text, out var parsed, out _));
        Assert.Equal(report, parsed.Nat);
    }

    [Fact]
    public async Task The_remote_report_is_read_from_its_description()
    {
        await VirtualRfc5780Server.StartAsync(Net, Sys, alternate: false);
        var peer = PeerBehindNat(NatBehavior.FullCone);
        var (owner, started) = Open(peer, "s");
        var session = started.Session;
        owner.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Wait); // the STUN server has answered
        var remote = new NatReport(MappingBehavior.AddressAndPortDependent, FilteringBehavior.AddressAndPortDependent, PortAllocation.Random) { PortPrediction = true };
        var description = new IceDescription(new IceCredentials("abcd", "0123456789012345678901"), []) { Nat = remote };
        session.Tell(new SessionProtocol.SetRemoteDescription(description));
        var reports = await session.Ask<SessionProtocol.NatReports>(new SessionProtocol.GetNat(), Wait);
        Assert.Equal(remote, reports.Remote);
        // a server without OTHER-ADDRESS: no background discovery (it would have started 50 ms after the answer)
        await Task.Delay(500);
        var identity = await Sys.ActorSelection(peer.Path / "nat-discovery").Ask<ActorIdentity>(new Identify(1), Wait);
        Assert.Null(identity.Subject);
        Assert.Null(reports.Local);
    }
    /// <summary>
    /// Discovery finishes seconds after a chat's description went out, so without a second word the remote would never
    /// learn the report (and port prediction would never run between two peers that start together). The session then
    /// tells its owner, which sends a description with the same credentials and the report; only to a p2p peer.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_report_that_comes_after_the_description_goes_to_a_p2p_remote_through_the_owner_and_to_no_other(bool remoteIsP2p)
    {
        await VirtualRfc5780Server.StartAsync(Net, Sys);
        var peer = PeerBehindNat(NatBehavior.PortRestrictedCone);
        var (owner, started) = Open(peer, "s");
        Assert.Null(started.Description?.Nat); // discovery has not finished when the first description goes out
        var remote = new IceDescription(new IceCredentials("abcd", "0123456789012345678901"), []) { SessionTag = remoteIsP2p ? 0x1234u : null };
        started.Session.Tell(new SessionProtocol.SetRemoteDescription(remote));
        if (remoteIsP2p)
        {
            var update = owner.FishForMessage<SessionProtocol.LocalNatReported>(_ => true, Wait).Description;
            Assert.Equal(MappingBehavior.EndpointIndependent, update.Nat?.Mapping);
            Assert.True(update.Nat!.PortPrediction);
            Assert.Equal(started.Credentials, update.Credentials);
            Assert.Empty(update.Candidates);
            Assert.Equal(started.Description?.SessionTag, update.SessionTag);
            Assert.True(IceDescription.TryParse(update.Write(), out var parsed, out _) && parsed.Nat == update.Nat);
            return;
        }
        await AwaitAssertAsync(async () =>
            Assert.NotNull((await started.Session.Ask<SessionProtocol.NatReports>(new SessionProtocol.GetNat(), Wait)).Local), Wait, TimeSpan.FromMilliseconds(100));
        var told = owner.ReceiveWhile(TimeSpan.FromMilliseconds(500), m => m);
        Assert.DoesNotContain(told, m => m is SessionProtocol.LocalNatReported);
    }
}
