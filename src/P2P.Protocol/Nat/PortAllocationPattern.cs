namespace P2P.Protocol.Nat;

/// <summary>One fresh socket's local port and the external port its NAT mapping got.</summary>
public readonly record struct PortPair(int Local, int Mapped);

/// <summary>
/// How a NAT picks the external port of new mappings (RFC 4787 §4.2), told from the mappings of fresh sockets made one
/// after the other: every mapped port equal to its local port is port preservation; the same difference between each
/// mapping and the one before, no larger than a limit, is sequential allocation; anything else is random.
/// </summary>
public static class PortAllocationPattern
{
    /// <summary>Classifies the pairs in the order their mappings were made; <paramref name="step"/> is set for <see cref="PortAllocation.Sequential"/>.</summary>
    /// <param name="pairs">At least two pairs, in the order the mappings were made; fewer is <see cref="PortAllocation.Unknown"/>.</param>
    /// <param name="maxStep">The largest difference (either sign) still called sequential.</param>
    public static PortAllocation Classify(IReadOnlyList<PortPair> pairs, int maxStep, out int? step)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        step = null;
        if (pairs.Count < 2) return PortAllocation.Unknown;
        bool preserving = true;
        foreach (var pair in pairs) preserving &= pair.Local == pair.Mapped;
        if (preserving) return PortAllocation.Preserving;
        int first = pairs[1].Mapped - pairs[0].Mapped;
        if (first == 0 || Math.Abs(first) > maxStep) return PortAllocation.Random;
        for (int i = 2; i < pairs.Count; i++)
            if (pairs[i].Mapped - pairs[i - 1].Mapped != first) return PortAllocation.Random;
        step = first;
        return PortAllocation.Sequential;
    }
}
