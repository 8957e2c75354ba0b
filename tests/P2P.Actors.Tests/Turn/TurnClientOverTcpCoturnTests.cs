using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;
using static P2P.Actors.Tests.Turn.TurnOverTcpScenario;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// The TURN client reaching a real coturn over TCP (RFC 8656 §3.1): coturn listens on TCP on the same address and
/// port as on UDP (no <c>--no-tcp</c>); relaying goes to a plain UDP echo peer on 127.0.0.1.
/// </summary>
public sealed class TurnClientOverTcpCoturnTests : TestKit, IAsyncLifetime
{
    private readonly ITestOutputHelper _output;
    private CoturnServer _coturn = null!;
    private bool _coturnStopped;

    public TurnClientOverTcpCoturnTests(ITestOutputHelper output) : base(string.Empty, output) => _output = output;

    public async Task InitializeAsync() => _coturn = await CoturnServer.StartAsync();

    public async Task DisposeAsync()
    {
        _output.WriteLine("---- coturn log ----");
        _output.WriteLine(_coturn.Log);
        if (!_coturnStopped) await _coturn.DisposeAsync();
    }

    private IActorRef StartAllocator(Akka.TestKit.TestProbe owner, string? password = null) =>
        Sys.ActorOf(TurnClient.PropsOverTcp(TurnClientSettings.From(TurnClientSettingsTests.RepoHocon()) with { BindChannels = false }, _coturn.EndPoint,
            new TurnCredentials(_coturn.Username, password ?? _coturn.Password), owner.Ref));

    [Fact]
    public void Allocates_on_coturn_over_tcp_and_relays_by_send_indication_and_padded_channel_data()
    {
        using var echo = new UdpEchoPeer();
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner);

        var allocated = ExpectAllocated(owner);
        Assert.InRange(allocated.Relayed.Port, _coturn.MinRelayPort, _coturn.MaxRelayPort);
        // XOR-MAPPED-ADDRESS is the client end of the TCP connection coturn accepted.
        Assert.Contains($"tcp or tls connected to: {allocated.Mapped}", _coturn.Log);

        RelaysBothWaysThenReleases(owner, allocator, echo, allocated);
    }

    [Fact]
    public void Wrong_password_over_tcp_fails_with_401()
    {
        var owner = CreateTestProbe();
        StartAllocator(owner, "not-the-password");

        var failed = owner.ExpectMsg<AllocationFailed>(Generous);
        Assert.Equal(401, failed.Code);
        Assert.Contains($"TURN server {_coturn.EndPoint} refused credentials", failed.Reason);
    }

    [Fact]
    public async Task Coturn_going_away_after_the_allocation_is_a_dropped_allocation_then_lost_when_it_cannot_be_made_again()
    {
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner);
        Watch(allocator);
        ExpectAllocated(owner);

        _coturnStopped = true;
        await _coturn.DisposeAsync(); // kills turnserver: the kernel closes its end of the connection

        var dropped = owner.ExpectMsg<AllocationDropped>(Generous).Reason;
        Assert.True(dropped.EndsWith($"TURN server {_coturn.EndPoint} closed the TCP connection", StringComparison.Ordinal)
                    || dropped.EndsWith($"TURN server {_coturn.EndPoint} reset the TCP connection", StringComparison.Ordinal), dropped);
        var lost = owner.ExpectMsg<AllocationLost>(Generous);
        Assert.Null(lost.Code);
        Assert.StartsWith(dropped + ", and allocating again failed: ", lost.Reason);
        ExpectTerminated(allocator, Generous);
    }

    [Fact]
    public void Stopping_the_allocator_closes_its_connection_and_coturn_deletes_the_allocation()
    {
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner);
        ExpectAllocated(owner);

        Sys.Stop(allocator);

        // No Refresh with LIFETIME 0 is needed: closing the connection ends the allocation (600 s lifetime otherwise).
        AwaitCondition(() => _coturn.Log.Contains("TCP connection closed by client") && _coturn.Log.Contains("delete: realm=<r>"),
            Generous, TimeSpan.FromMilliseconds(100));
    }
}
