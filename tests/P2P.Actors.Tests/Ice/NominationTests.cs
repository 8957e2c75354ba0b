using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// Regular nomination (RFC 8445 §8.1.1) on the virtual network, in virtual time: the controlling agent nominates the
/// best valid pair as soon as no better pair can still be expected to succeed, with nomination-wait only as the upper
/// bound; a relayed pair waits for better direct ones.
/// </summary>
public sealed class NominationTests(ITestOutputHelper output) : IceVirtualNetworkTestBase(output)
{
    private readonly ITestOutputHelper _log = output;

    // a nomination-wait far longer than anything else here, so that waiting it out shows in the connect time
    private static readonly IceSettings LongWait = IceSettings.Default with { NominationWait = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task An_unanswered_better_pair_does_not_hold_the_nomination_for_the_whole_wait()
    {
        // both behind NATs: the host pairs (private to private) have the highest priority and never get an answer;
        // the server-reflexive pair works at once
        var (a, b) = await BuildAsync("FullCone", "FullCone", LongWait);
        var events = OpenSessions(a, b, "n");
        TimeSpan? valid = null;
        var (_, pairs, elapsed) = ConnectWatching(events, "n", m =>
        {
            if (m is SessionProtocol.Connected or IceAgentProtocol.PairValid) valid ??= Elapsed;
        });
        _log.WriteLine($"connected after {elapsed.TotalMilliseconds} ms virtual over {pairs["n/a"]}");
        Assert.False(IsRelayed(pairs["n/a"]));
        Assert.Equal(CandidateType.Host, pairs["n/a"].Local.Type);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"connected only after {elapsed}: the nomination waited for the host pairs");
    }

    [Fact]
    public async Task Host_pair_is_nominated_at_once_when_nothing_better_is_left()
    {
        var (a, b) = await BuildAsync(null, null, LongWait, turn: false, stun: false);
        var events = OpenSessions(a, b, "h");
        var (_, pairs, elapsed) = Connect(events, "h");
        _log.WriteLine($"connected after {elapsed.TotalMilliseconds} ms virtual over {pairs["h/a"]}");
        Assert.Equal(CandidateType.Host, pairs["h/a"].Remote.Type);
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"connected only after {elapsed}");
    }

    [Theory]
    [InlineData("Symmetric", "FullCone")]
    [InlineData("FullCone", "Symmetric")]
    [InlineData("AddressRestrictedCone", "Symmetric")]
    public async Task A_relayed_pair_waits_for_the_direct_pair_that_hole_punching_opens(string natA, string natB)
    {
        // a symmetric NAT against a cone: only the peer-reflexive pair learned from the symmetric side's checks works
        // directly, and it may come after a relayed pair is valid
        var (a, b) = await BuildAsync(natA, natB);
        var events = OpenSessions(a, b, "r");
        var (_, pairs, elapsed) = Connect(events, "r");
        _log.WriteLine($"{natA} x {natB}: {pairs["r/a"]} | {pairs["r/b"]} after {elapsed.TotalMilliseconds} ms virtual");
        Assert.False(IsRelayed(pairs["r/a"]), $"relayed: {pairs["r/a"]}");
        Assert.False(IsRelayed(pairs["r/b"]), $"relayed: {pairs["r/b"]}");
    }
}
