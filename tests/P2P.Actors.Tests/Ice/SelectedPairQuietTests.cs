using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// RFC 8445 §8.3: once a pair is selected, checks on the other pairs stop; only consent checks on the selected pair
/// (RFC 7675, every ~5 s) go on. Counted on the virtual network, in virtual time.
/// </summary>
public sealed class SelectedPairQuietTests(ITestOutputHelper output) : IceVirtualNetworkTestBase(output)
{
    private readonly ITestOutputHelper _log = output;

    [Theory]
    [InlineData("FullCone", "PortRestrictedCone")]
    [InlineData(null, "FullCone")]
    [InlineData("PortRestrictedCone", "PortRestrictedCone")]
    public async Task Once_a_direct_pair_is_selected_nothing_more_goes_to_the_relay_and_only_consent_checks_go_on(string? natA, string? natB)
    {
        var (a, b) = await BuildAsync(natA, natB);
        var events = OpenSessions(a, b, "q");
        var (sessions, pairs, _) = Connect(events, "q");
        Assert.False(IsRelayed(pairs["q/a"]), $"a direct pair was expected, got {pairs["q/a"]}");
        RunUntil(events, _ => false, TimeSpan.FromSeconds(1), failAtLimit: false); // the nomination's answer, DTLS-free data path

        var relayBefore = await Relay!.Ask<RelayServerProtocol.Stats>(new RelayServerProtocol.GetStats(), Wait);
        var wireBefore = await Net.GetStatsAsync();
        var checksBefore = await ChecksSentAsync(sessions);
        var window = TimeSpan.FromSeconds(60);
        RunUntil(events, _ => false, window, failAtLimit: false, step: TimeSpan.FromMilliseconds(50));
        var relayAfter = await Relay!.Ask<RelayServerProtocol.Stats>(new RelayServerProtocol.GetStats(), Wait);
        var wireAfter = await Net.GetStatsAsync();
        var checksAfter = await ChecksSentAsync(sessions);

        long toRelay = relayAfter.Received - relayBefore.Received;
        long checksA = checksAfter.A - checksBefore.A, checksB = checksAfter.B - checksBefore.B;
        long datagrams = wireAfter.Sent - wireBefore.Sent;
        _log.WriteLine($"in {window.TotalSeconds} s after selection: {toRelay} packets to the relay, {datagrams} datagrams in all, checks sent {checksA} by a, {checksB} by b");
        Assert.Equal(0, toRelay);
        // a lossless network and no data sent: every datagram is a consent check or its answer, none retransmitted
        Assert.InRange(datagrams, 0, 2 * (checksA + checksB));
        // consent checks every 5 s randomized to 4-6 s (RFC 7675 §5.1): at most 15 in 60 s, and nothing else
        int consentAtMost = (int)(window.TotalSeconds / 4);
        Assert.InRange(checksA, 1, consentAtMost);
        Assert.InRange(checksB, 1, consentAtMost);
    }

    private async Task<(long A, long B)> ChecksSentAsync(Dictionary<string, IActorRef> sessions)
    {
        var a = await sessions["q/a"].Ask<PairCheckerProtocol.Stats>(new PairCheckerProtocol.GetStats(), Wait);
        var b = await sessions["q/b"].Ask<PairCheckerProtocol.Stats>(new PairCheckerProtocol.GetStats(), Wait);
        return (a.ChecksSent, b.ChecksSent);
    }
}
