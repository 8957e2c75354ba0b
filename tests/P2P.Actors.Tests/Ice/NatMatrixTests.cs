using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// Every NAT behaviour on side A against every one on side B (no NAT, full cone, address-restricted cone,
/// port-restricted cone, symmetric), with our STUN/TURN relay on the public side, in virtual time: every pair
/// connects, directly wherever hole punching can work and through the relay where it cannot
/// (symmetric↔symmetric, symmetric↔port-restricted), and data flows both ways.
/// </summary>
public sealed class NatMatrixTests : IceVirtualNetworkTestBase
{
    private readonly ITestOutputHelper _log;

    public NatMatrixTests(ITestOutputHelper output) : base(output) => _log = output;

    private static readonly string?[] Kinds = [null, "FullCone", "AddressRestrictedCone", "PortRestrictedCone", "Symmetric"];

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var a in Kinds)
            foreach (var b in Kinds)
                data.Add(a ?? "NoNat", b ?? "NoNat");
        return data;
    }

    private static bool NeedsRelay(string a, string b) =>
        (a, b) is ("Symmetric", "Symmetric") or ("Symmetric", "PortRestrictedCone") or ("PortRestrictedCone", "Symmetric");

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Every_nat_pair_connects_on_the_expected_path(string natA, string natB)
    {
        var (a, b) = await BuildAsync(natA == "NoNat" ? null : natA, natB == "NoNat" ? null : natB);
        var events = OpenSessions(a, b, "m");
        var (sessions, pairs, elapsed) = Connect(events, "m");
        _log.WriteLine($"{natA} x {natB}: {pairs["m/a"]} | {pairs["m/b"]} after {elapsed.TotalMilliseconds} ms virtual");

        bool relayed = IsRelayed(pairs["m/a"]);
        Assert.Equal(relayed, IsRelayed(pairs["m/b"]));
        Assert.Equal(NeedsRelay(natA, natB), relayed);
        if (natA == "NoNat" && natB == "NoNat")
        {
            Assert.Equal(CandidateType.Host, pairs["m/a"].Local.Type);
            Assert.Equal(CandidateType.Host, pairs["m/a"].Remote.Type);
        }
        // both ends agree on the path: what one sends from is what the other sends to
        if (!relayed) Assert.Equal(pairs["m/a"].Local.Address.Address.Equals(pairs["m/b"].Remote.Address.Address), natA == "NoNat");
        ExchangeData(events, sessions, "m");
    }
}
