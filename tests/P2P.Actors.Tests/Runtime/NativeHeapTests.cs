using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Runtime;

/// <summary>A peer gives the native heap's freed pages back once its last session has gone (p2p.ice.trim-native-heap-when-idle).</summary>
public sealed class NativeHeapTests(ITestOutputHelper output) : IceVirtualNetworkTestBase(output)
{
    [Fact]
    public async Task A_peer_trims_the_native_heap_when_its_last_session_has_gone_not_before()
    {
        var (a, b) = await BuildAsync(null, null, IceSettings.Default with { TrimNativeHeapWhenIdle = true }, turn: false, stun: false);
        var first = Connect(OpenSessions(a, b, "one"), "one").Sessions;
        var second = Connect(OpenSessions(a, b, "two"), "two").Sessions;

        first["one/a"].Tell(new SessionProtocol.Close());
        var afterFirst = await StatsWhen(a, s => s.Sessions == 1);
        Assert.Equal(0, afterFirst.NativeHeapTrims); // a session is left
        second["two/a"].Tell(new SessionProtocol.Close());
        var afterLast = await StatsWhen(a, s => s.Sessions == 0);
        Assert.Equal(1, afterLast.NativeHeapTrims);
    }

    private async Task<LocalPeerProtocol.Stats> StatsWhen(Side side, Func<LocalPeerProtocol.Stats, bool> ready)
    {
        LocalPeerProtocol.Stats stats = null!;
        await AwaitAssertAsync(async () =>
        {
            stats = await side.Peer.Ask<LocalPeerProtocol.Stats>(new LocalPeerProtocol.GetStats(), Wait);
            Assert.True(ready(stats), $"{stats.Sessions} sessions");
        }, Wait);
        return stats;
    }
}
