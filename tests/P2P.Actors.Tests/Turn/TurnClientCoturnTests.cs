using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Tests.Support;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>The TURN client against a real coturn on 127.0.0.1, with a plain UDP echo peer behind the relay.</summary>
public sealed class TurnClientCoturnTests : TestKit, IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private readonly ITestOutputHelper _output;
    private CoturnServer _coturn = null!;

    public TurnClientCoturnTests(ITestOutputHelper output) : base(string.Empty, output) => _output = output;

    public async Task InitializeAsync() => _coturn = await CoturnServer.StartAsync();

    public async Task DisposeAsync()
    {
        _output.WriteLine("---- coturn log ----");
        _output.WriteLine(_coturn.Log);
        await _coturn.DisposeAsync();
    }

    private IActorRef StartHost(Akka.TestKit.TestProbe owner, string password, out IPEndPoint local, bool automaticChannels = false)
    {
        // These tests bind channels themselves, step by step; the automatic binding has a test of its own.
        var settings = TurnClientSettings.From(TurnClientSettingsTests.RepoHocon()) with { BindChannels = automaticChannels };
        var server = _coturn.EndPoint;
        var credentials = new TurnCredentials(_coturn.Username, password);
        var host = Sys.ActorOf(UdpSocketHost.Props(new IPEndPoint(IPAddress.Loopback, 0), server,
            socket => TurnClient.Props(settings, server, credentials, socket, owner.Ref), owner.Ref));
        local = owner.ExpectMsg<UdpSocketProtocol.Bound>(Generous).LocalEndPoint;
        return host;
    }

    [Fact]
    public void Data_to_a_peer_moves_to_a_channel_the_allocator_binds_by_itself_on_coturn()
    {
        using var echo = new UdpEchoPeer();
        var owner = CreateTestProbe();
        var host = StartHost(owner, _coturn.Password, out _, automaticChannels: true);
        var allocated = owner.ExpectMsg<AllocationSucceeded>(Generous);
        host.Tell(new CreatePermission(IPAddress.Loopback));
        owner.ExpectMsg<PermissionCreated>(Generous);

        var viaChannel = new List<bool>();
        for (int i = 0; i < 20; i++)
        {
            var payload = Encoding.UTF8.GetBytes($"datagram {i}");
            host.Tell(new SendToPeer(echo.EndPoint, payload));
            // only data comes back: the binding is the allocator's own business (no ChannelBound for the owner)
            var echoed = owner.ExpectMsg<PeerData>(Generous);
            Assert.Equal(payload, echoed.Data.ToArray());
            viaChannel.Add(echoed.ViaChannel);
            if (!echoed.ViaChannel) Thread.Sleep(20); // give the ChannelBind its round trip
        }

        // coturn sends the echoes by channel once one is bound to the peer (the first may already come that way on
        // loopback: the binding's answer can overtake the echo; the order is checked in TurnClientAutomaticChannelTests)
        Assert.True(viaChannel[^1]);
        Assert.Equal(20, echo.Received.Count(r => r.From.Equals(allocated.Relayed)));
    }

    [Fact]
    public void Allocates_on_coturn_and_relays_to_a_peer_by_send_indication_then_by_channel_data()
    {
        using var echo = new UdpEchoPeer();
        var owner = CreateTestProbe();
        var host = StartHost(owner, _coturn.Password, out var local);

        var allocated = owner.ExpectMsg<AllocationSucceeded>(Generous);
        Assert.Equal(IPAddress.Loopback, allocated.Relayed.Address);
        Assert.InRange(allocated.Relayed.Port, _coturn.MinRelayPort, _coturn.MaxRelayPort);
        Assert.Equal(local, allocated.Mapped);
        Assert.True(allocated.Lifetime > TimeSpan.Zero);

        host.Tell(new CreatePermission(IPAddress.Loopback));
        Assert.Equal(IPAddress.Loopback, owner.ExpectMsg<PermissionCreated>(Generous).Peer);

        var first = Encoding.UTF8.GetBytes("hello through a Send indication");
        host.Tell(new SendToPeer(echo.EndPoint, first));
        var echoed = owner.ExpectMsg<PeerData>(Generous);
        Assert.Equal(echo.EndPoint, echoed.Peer);
        Assert.Equal(first, echoed.Data.ToArray());
        Assert.False(echoed.ViaChannel);
        Assert.Contains(echo.Received, r => r.From.Equals(allocated.Relayed) && r.Data.SequenceEqual(first));

        host.Tell(new BindChannel(echo.EndPoint));
        var bound = owner.ExpectMsg<ChannelBound>(Generous);
        Assert.Equal(echo.EndPoint, bound.Peer);
        Assert.Equal(0x4000, bound.Channel);

        var second = Encoding.UTF8.GetBytes("hello through ChannelData");
        host.Tell(new SendToPeer(echo.EndPoint, second));
        var echoedByChannel = owner.ExpectMsg<PeerData>(Generous);
        Assert.Equal(echo.EndPoint, echoedByChannel.Peer);
        Assert.Equal(second, echoedByChannel.Data.ToArray());
        Assert.True(echoedByChannel.ViaChannel);
        Assert.Contains(echo.Received, r => r.From.Equals(allocated.Relayed) && r.Data.SequenceEqual(second));

        host.Tell(Deallocate.Instance);
        owner.ExpectMsg<Deallocated>(Generous);
    }

    [Fact]
    public void Wrong_password_fails_with_401_and_a_readable_reason()
    {
        var owner = CreateTestProbe();
        StartHost(owner, "not-the-password", out _);

        var failed = owner.ExpectMsg<AllocationFailed>(Generous);
        Assert.Equal(401, failed.Code);
        Assert.Contains($"TURN server {_coturn.EndPoint} refused credentials", failed.Reason);
        Assert.Contains("401", failed.Reason);
    }

    [Fact]
    public void Stopping_the_allocator_releases_the_allocation_so_the_same_socket_can_allocate_again()
    {
        var owner = CreateTestProbe();
        var host = StartHost(owner, _coturn.Password, out var local);
        var first = owner.ExpectMsg<AllocationSucceeded>(Generous);

        host.Tell(UdpSocketHost.StopClient.Instance);

        // PostStop sent Refresh LIFETIME=0: coturn logs it and deletes the session about a second later
        // (with the requested 600 s lifetime it would keep it for ten minutes).
        AwaitCondition(() => _coturn.Log.Contains("refreshed, realm=<r>, username=<u>, lifetime=0") && _coturn.Log.Contains("delete: realm=<r>"),
            Generous, TimeSpan.FromMilliseconds(100));

        // An Allocate from a 5-tuple that still had an allocation would get 437 Allocation Mismatch.
        host.Tell(UdpSocketHost.StartClient.Instance);
        var second = owner.ExpectMsg<AllocationSucceeded>(Generous);
        Assert.Equal(local, second.Mapped);
        Assert.Equal(first.Mapped, second.Mapped);
    }
}
