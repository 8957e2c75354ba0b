namespace P2P.Protocol.Ice;

/// <summary>The state of a candidate pair in a check list (RFC 8445 §6.1.2.6).</summary>
public enum CandidatePairState
{
    /// <summary>Not checked, and waiting for a pair of the same foundation to succeed first.</summary>
    Frozen,
    /// <summary>Not checked, may be checked as soon as it is the highest-priority Waiting pair.</summary>
    Waiting,
    /// <summary>A check has been sent and its transaction is running.</summary>
    InProgress,
    /// <summary>A check produced a successful response.</summary>
    Succeeded,
    /// <summary>A check timed out or got an unrecoverable error.</summary>
    Failed,
}

/// <summary>
/// A local and a remote candidate checked together (RFC 8445 §6.1.2). <see cref="Local"/> is the
/// candidate checks are sent from, which is always a base: a server-reflexive or peer-reflexive
/// local candidate is replaced by its base when pairs are formed (§6.1.2.4). Mutable: it belongs
/// to the one check list (and so the one actor) that made it.
/// </summary>
public sealed class CandidatePair
{
    public CandidatePair(IceCandidate local, IceCandidate remote, bool localIsControlling)
    {
        Local = local;
        Remote = remote;
        Foundation = local.Foundation + ":" + remote.Foundation;
        UpdatePriority(localIsControlling);
    }

    public IceCandidate Local { get; }
    public IceCandidate Remote { get; private set; }

    /// <summary>The pair foundation: local foundation ":" remote foundation (RFC 8445 §6.1.2.6).</summary>
    public string Foundation { get; private set; }

    /// <summary>The pair priority (RFC 8445 §6.1.2.3), which depends on the agent's role.</summary>
    public ulong Priority { get; private set; }

    public CandidatePairState State { get; set; } = CandidatePairState.Frozen;

    /// <summary>Nominated by the controlling agent (RFC 8445 §8.1.1).</summary>
    public bool Nominated { get; set; }

    /// <summary>In the valid list: a check on it succeeded (RFC 8445 §7.2.5.3.2).</summary>
    public bool Valid { get; set; }

    /// <summary>
    /// Puts the signalled <paramref name="remote"/> in place of the peer-reflexive candidate learned at the same address
    /// (RFC 8445 §7.3.1.3); state, validity and nomination stay, foundation and priority follow the new candidate.
    /// </summary>
    internal void ReplaceRemote(IceCandidate remote, bool localIsControlling)
    {
        Remote = remote;
        Foundation = Local.Foundation + ":" + remote.Foundation;
        UpdatePriority(localIsControlling);
    }

    /// <summary>Recomputes <see cref="Priority"/> for the given role (after a role conflict, RFC 8445 §7.3.1.1).</summary>
    public void UpdatePriority(bool localIsControlling) =>
        Priority = localIsControlling
            ? ComputePriority(Local.Priority, Remote.Priority)
            : ComputePriority(Remote.Priority, Local.Priority);

    /// <summary>
    /// Pair priority = 2^32 * MIN(G, D) + 2 * MAX(G, D) + (G &gt; D ? 1 : 0), with G the priority of
    /// the controlling agent's candidate and D the controlled agent's (RFC 8445 §6.1.2.3). Candidate
    /// priorities are below 2^31 (RFC 8445 §5.1.2.1), so the result fits in 64 bits.
    /// </summary>
    public static ulong ComputePriority(uint controlling, uint controlled)
    {
        ulong min = Math.Min(controlling, controlled), max = Math.Max(controlling, controlled);
        return unchecked((min << 32) + 2 * max + (controlling > controlled ? 1UL : 0UL));
    }

    public override string ToString() =>
        $"{Local.Type.ToSdp()} {Local.Transport.ToSdp()} {Local.Address} -> {Remote.Type.ToSdp()} {Remote.Address} [{State}{(Valid ? ", valid" : "")}{(Nominated ? ", nominated" : "")}] {Priority}";
}
