namespace P2P.Actors.Transport.Virtual;

/// <summary>
/// What happens to packets crossing one link of a <see cref="VirtualNetwork"/>: a host's link (between the host
/// and its LAN or the internet) or a NAT's external link (between the NAT and the internet). Every packet that
/// crosses the link, in either direction, is subject to it. Random choices come from a generator seeded per link
/// (from the network's seed and the link's name), so a run is repeatable.
/// </summary>
public sealed record LinkConditions
{
    /// <summary>No loss, no delay: the default of every link.</summary>
    public static LinkConditions Perfect { get; } = new();

    /// <summary>Probability (0..1) that a packet is lost.</summary>
    public double Loss { get; init; }

    /// <summary>Fixed one-way delay added by the link.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Extra delay drawn uniformly in [0, Jitter) per packet (which can reorder packets).</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Probability (0..1) that a packet is delivered twice.</summary>
    public double Duplication { get; init; }

    /// <summary>
    /// Probability (0..1) that a packet is held back and delivered right after the next packet that crosses the
    /// link (or after <see cref="ReorderHold"/> if none comes). One packet is held at a time.
    /// </summary>
    public double Reordering { get; init; }

    /// <summary>The longest a reordered packet waits for a successor before it is delivered anyway.</summary>
    public TimeSpan ReorderHold { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The link is down: every packet is dropped.</summary>
    public bool Cut { get; init; }

    /// <summary>Null when the conditions make sense, else one sentence saying what is wrong.</summary>
    public string? Validate()
    {
        if (Loss is < 0 or > 1 || Duplication is < 0 or > 1 || Reordering is < 0 or > 1) return "loss, duplication and reordering are probabilities between 0 and 1";
        if (Delay < TimeSpan.Zero || Jitter < TimeSpan.Zero) return "delay and jitter must not be negative";
        if (ReorderHold <= TimeSpan.Zero) return "the reorder hold must be positive";
        return null;
    }
}
