using System.Diagnostics;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>Many concurrent sessions between two peers that share one socket each, on the virtual network.</summary>
public sealed class IceScaleTests : IceVirtualNetworkTestBase
{
    private readonly ITestOutputHelper _log;

    public IceScaleTests(ITestOutputHelper output) : base(output) => _log = output;

    [Fact]
    public async Task A_thousand_concurrent_sessions_between_two_peers_all_connect()
    {
        const int count = 1000;
        // this test is about numbers, not timeouts: a busy CI machine must not make 30 s of virtual time pass
        // before a thousand agents had their turn, so the connect timeout is stretched
        var (a, b) = await BuildAsync("FullCone", "PortRestrictedCone", IceSettings.Default with { ConnectTimeout = TimeSpan.FromMinutes(10) }, turn: false);
        var wall = Stopwatch.StartNew();
        var elapsed = ConnectMany(a, b, count, TimeSpan.FromSeconds(120));
        wall.Stop();
        _log.WriteLine($"{count} sessions: all {2 * count} ends connected after {elapsed.TotalSeconds:0.0} s virtual, {wall.Elapsed.TotalSeconds:0.0} s wall");

        var stats = await a.Peer.Ask<LocalPeerProtocol.Stats>(new LocalPeerProtocol.GetStats(), Wait);
        Assert.Equal(count, stats.Sessions);
    }
}
