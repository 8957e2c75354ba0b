using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>The ICE options: aggressive nomination, and an ICE-lite remote (RFC 8445 §2.5, §6.1.1).</summary>
public sealed class IceOptionsTests(ITestOutputHelper output) : IceVirtualNetworkTestBase(output)
{
    [Fact]
    public async Task Aggressive_nomination_connects_through_cone_nats()
    {
        var (a, b) = await BuildAsync("PortRestrictedCone", "AddressRestrictedCone", IceSettings.Default with { Nomination = NominationMode.Aggressive });
        var events = OpenSessions(a, b, "g");
        var (sessions, pairs, _) = Connect(events, "g");
        // with aggressive nomination the first pair to succeed is used at once, and a better one that
        // succeeds later (nominated too) replaces it: both ends end up on the direct path
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.Connected c) pairs[c.SessionId] = c.Pair;
            return false;
        }, TimeSpan.FromSeconds(5), failAtLimit: false);
        Assert.False(IsRelayed(pairs["g/a"]), pairs["g/a"].ToString());
        Assert.False(IsRelayed(pairs["g/b"]), pairs["g/b"].ToString());
        ExchangeData(events, sessions, "g");
    }

    [Fact]
    public async Task A_full_agent_becomes_controlling_and_connects_to_an_ice_lite_agent()
    {
        await BuildAsync(null, null, turn: false, stun: false);
        Net.AddPublicHost("lite", Ip("203.0.113.50"));
        Net.AddNat("nat-full", Ip("203.0.113.5"), NatBehavior("FullCone"));
        Net.AddPrivateHost("full", Ip("10.0.5.2"), "nat-full");
        var lite = StartPeer("lite", "lite", [], [], IceSettings.Default with { Lite = true });
        var full = StartPeer("full", "full", [RelayServerEndPoint], []);

        // both opened as controlled: the full agent must take the controlling role when it sees a=ice-lite
        var events = OpenSessions(lite, full, "l", aControlling: false, bControlling: false);
        var (sessions, pairs, _) = Connect(events, "l");
        ExchangeData(events, sessions, "l");
        var liteStats = await sessions["l/a"].Ask<PairCheckerProtocol.Stats>(new PairCheckerProtocol.GetStats(), Wait);
        Assert.Equal(0, liteStats.ChecksSent);
        Assert.True(liteStats.RequestsAnswered > 0);
    }

    private static P2P.Actors.Transport.Virtual.NatBehavior NatBehavior(string name) => Preset(name);
}
