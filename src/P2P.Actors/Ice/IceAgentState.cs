using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>
/// The ICE agent's data of one session (RFC 8445 §5-§8), kept in one place: this side's credentials, tie-breaker and
/// role, the remote's credentials and pacing, the local and signalled remote candidates, whether each side finished
/// gathering (RFC 8838), and the selected pair. A plain class with one owner, the session's <see cref="PairChecker"/>,
/// which records every change here as its messages come. The <see cref="IceAgent"/> creates it and hands it to the
/// checker through its Props, so it outlives a checker that threw: the restarted checker rebuilds its check list from
/// it (pion's Agent keeps its data the same way), and nobody keeps a copy to feed it again.
/// </summary>
public sealed class IceAgentState
{
    private readonly List<IceCandidate> _local = [];
    private readonly List<IceCandidate> _remote = [];

    /// <param name="controlling">The role to start with; a lite agent is always controlled (RFC 8445 §6.1.1), so pass false for one.</param>
    public IceAgentState(IceCredentials local, bool controlling, ulong tieBreaker, uint sessionTag)
    {
        Local = local;
        Controlling = controlling;
        TieBreaker = tieBreaker;
        SessionTag = sessionTag;
    }

    public IceCredentials Local { get; }

    /// <summary>RFC 8445 §7.1.3: the tie-breaker of role conflicts.</summary>
    public ulong TieBreaker { get; }

    /// <summary>The session's tag, the first four bytes of every transaction id (the LocalPeer routes responses by it).</summary>
    public uint SessionTag { get; }

    /// <summary>The role now: it changes when a role conflict (RFC 8445 §7.3.1.1) or an ICE-lite remote says so.</summary>
    public bool Controlling { get; set; }

    /// <summary>The remote's credentials from its description; null until they came.</summary>
    public IceCredentials? Remote { get; private set; }

    /// <summary>The remote description's a=ice-pacing; null counts as the RFC's default 50 ms.</summary>
    public TimeSpan? RemotePacing { get; private set; }

    public IReadOnlyList<IceCandidate> LocalCandidates => _local;

    /// <summary>The remote's candidates as signalled (peer-reflexive ones, learned from checks, live in the check list only).</summary>
    public IReadOnlyList<IceCandidate> RemoteCandidates => _remote;

    public bool LocalGatheringDone { get; set; }

    public bool RemoteGatheringDone { get; set; }

    /// <summary>The pair ICE selected, once it did.</summary>
    public SelectedPair? Selected { get; set; }

    /// <summary>The first credentials count: an ICE restart makes a new agent with a new state. False when they were set already.</summary>
    public bool SetRemote(IceCredentials remote, TimeSpan? pacing)
    {
        if (Remote is not null) return false;
        Remote = remote;
        RemotePacing = pacing;
        return true;
    }

    public void AddLocal(IceCandidate candidate) => _local.Add(candidate);

    public void AddRemote(IceCandidate candidate) => _remote.Add(candidate);
}
