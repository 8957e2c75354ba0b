namespace P2P.Protocol.Nat;

/// <summary>What one peer does in port prediction.</summary>
public enum PredictionRole
{
    /// <summary>No prediction: ICE alone goes direct, or prediction cannot help, or a peer does not take part.</summary>
    None,

    /// <summary>The side behind the NAT that maps per destination: it opens many sockets toward the other's mapped address, each a new mapping.</summary>
    OpenMappings,

    /// <summary>The side with an endpoint-independent mapping: it probes ports of the other side's signalled public address from its one socket.</summary>
    Probe,
}

/// <summary>How the probing side guesses the ports of the other side's new mappings.</summary>
public enum PredictionMethod
{
    /// <summary>No guess.</summary>
    None,

    /// <summary>Random ports: with N mappings open, each probe to a random port meets one with probability N/65,512 (the birthday paradox).</summary>
    Birthday,

    /// <summary>Consecutive ports: the next mappings take the last observed port plus a step, so a short window of ports is probed.</summary>
    Sequential,
}

/// <summary>The outcome of <see cref="PredictionPlan.Decide"/>: this side's role, the method, and a sentence saying why, for the log.</summary>
public sealed record PredictionDecision(PredictionRole Role, PredictionMethod Method, string Reason)
{
    /// <summary>For <see cref="PredictionMethod.Sequential"/>: the distance between two consecutive mappings' ports.</summary>
    public int PortStep { get; init; } = 1;

    /// <summary>Prediction runs (this side has a role).</summary>
    public bool Runs => Role != PredictionRole.None;

    internal static PredictionDecision No(string reason) => new(PredictionRole.None, PredictionMethod.None, reason);
}

/// <summary>
/// Decides whether port prediction runs between two peers, and who does what, from the two <see cref="NatReport"/>s
/// (this side's, found by RFC 5780 discovery, and the remote's, signalled in its description). Both peers decide
/// from the same two reports, so they agree: one opens mappings, the other probes, or neither does anything.
/// <para>
/// Prediction runs only where RFC 8445 ICE cannot go direct and prediction can: one side's NAT maps per destination
/// (address- or address-and-port-dependent mapping, RFC 4787 §4.1) and the other's maps endpoint-independently but
/// filters on address and port (RFC 4787 §5). An endpoint-independent or address-dependent filter on the easy side
/// already admits the hard side's new port (ICE learns it as a peer-reflexive candidate), and two per-destination
/// mappings leave no port to aim at (the probes themselves come from ports nobody knows), so neither is tried.
/// </para>
/// </summary>
public static class PredictionPlan
{
    public static PredictionDecision Decide(NatReport local, NatReport remote)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        if (!local.PortPrediction) return PredictionDecision.No("port prediction is off here");
        if (!remote.PortPrediction) return PredictionDecision.No("the remote peer does not take part in port prediction");
        if (local.Mapping == MappingBehavior.Unknown || remote.Mapping == MappingBehavior.Unknown)
            return PredictionDecision.No("a NAT's mapping behaviour is unknown (no RFC 5780 server, or discovery did not finish)");
        bool localHard = IsPerDestination(local.Mapping), remoteHard = IsPerDestination(remote.Mapping);
        if (!localHard && !remoteHard) return PredictionDecision.No("both mappings are endpoint-independent: ICE alone goes direct");
        if (localHard && remoteHard)
            return PredictionDecision.No("both NATs map per destination: a probe leaves from a port nobody can predict, so prediction cannot meet it; the session relays");
        var (hard, easy) = localHard ? (local, remote) : (remote, local);
        if (easy.Filtering is FilteringBehavior.EndpointIndependent or FilteringBehavior.AddressDependent)
            return PredictionDecision.No("the endpoint-independent side's NAT admits any port of an address it has sent to: ICE's peer-reflexive candidates go direct");
        if (hard.PublicAddress is null)
            return PredictionDecision.No("the per-destination side signalled no public address, and no other address may be probed");
        var role = localHard ? PredictionRole.OpenMappings : PredictionRole.Probe;
        if (hard.Allocation == PortAllocation.Sequential)
        {
            int step = hard.PortStep is { } s && s is >= 1 and <= MaxPortStep ? s : 1;
            return new PredictionDecision(role, PredictionMethod.Sequential,
                $"the {(localHard ? "local" : "remote")} NAT maps per destination on consecutive ports (step {step}): predicting the next ones") { PortStep = step };
        }
        return new PredictionDecision(role, PredictionMethod.Birthday,
            $"the {(localHard ? "local" : "remote")} NAT maps per destination on unpredictable ports: the birthday method");
    }

    /// <summary>The largest port step a sequential prediction believes (larger ones are treated as 1, as a report may be wrong).</summary>
    public const int MaxPortStep = 1000;

    private static bool IsPerDestination(MappingBehavior mapping) =>
        mapping is MappingBehavior.AddressDependent or MappingBehavior.AddressAndPortDependent;
}
