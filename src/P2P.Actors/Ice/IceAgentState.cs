using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>What the credentials of a remote description mean to the agent (<see cref="IceAgentState.Classify"/>).</summary>
public enum RemoteCredentials
{
    /// <summary>The first the agent hears in this generation: the remote's, or its answer to our ICE restart.</summary>
    First,

    /// <summary>The ones the agent has: the same ICE session.</summary>
    Same,

    /// <summary>New ones in place of those the agent has: the remote restarted ICE (RFC 8445 §9), and so must this side.</summary>
    Restarted,

    /// <summary>Those of the generation before our restart: a description that left before the remote heard of it, ignored.</summary>
    Stale,
}

/// <summary>
/// The ICE agent's data of one session (RFC 8445 §5-§9), kept in one place: this side's credentials, tie-breaker and
/// role, the remote's credentials and pacing, the local and signalled remote candidates, whether each side finished
/// gathering (RFC 8838), the <see cref="CheckList"/> of their pairs, the selected pair, and the ICE restart that starts
/// a new generation of it all. A plain class with one owner, the session's <see cref="PairChecker"/>, which records every
/// change here as its messages come and runs the checks. The <see cref="IceAgent"/> creates it and hands it to the
/// checker through its Props, so it outlives a checker that threw: the restarted checker goes on from it, and so does
/// the checker itself after an ICE restart (pion's Agent keeps its data the same way); nobody keeps a copy to feed it
/// again.
/// </summary>
public sealed class IceAgentState
{
    private readonly List<IceCandidate> _local = [];
    private readonly List<IceCandidate> _remote = [];
    private readonly bool _startedControlling;

    /// <param name="controlling">The role to start with; a lite agent is always controlled (RFC 8445 §6.1.1), so pass false for one.</param>
    /// <param name="maxPairs">The check list's limit on pairs (RFC 8445 §6.1.2.5).</param>
    public IceAgentState(IceCredentials local, bool controlling, ulong tieBreaker, uint sessionTag, int maxPairs = CheckList.DefaultMaxPairs)
    {
        Local = local;
        _startedControlling = controlling;
        TieBreaker = tieBreaker;
        SessionTag = sessionTag;
        CheckList = new CheckList(controlling, maxPairs);
    }

    /// <summary>The pairs of this generation's local and remote candidates (the remote ones once the remote's credentials came), and their check states.</summary>
    public CheckList CheckList { get; private set; }

    /// <summary>This side's credentials, new with every ICE restart.</summary>
    public IceCredentials Local { get; private set; }

    /// <summary>RFC 8445 §7.1.3: the tie-breaker of role conflicts.</summary>
    public ulong TieBreaker { get; }

    /// <summary>The session's tag, the first four bytes of every transaction id (the LocalPeer routes responses by it).</summary>
    public uint SessionTag { get; }

    /// <summary>The role now (the check list's, whose pair priorities depend on it): it changes when a role conflict (RFC 8445 §7.3.1.1) or an ICE-lite remote says so.</summary>
    public bool Controlling
    {
        get => CheckList.Controlling;
        set => CheckList.SetRole(value);
    }

    /// <summary>The remote's credentials from its description; null until they came in this generation.</summary>
    public IceCredentials? Remote { get; private set; }

    /// <summary>The remote's credentials of the generation before the last ICE restart; null before any.</summary>
    public IceCredentials? PreviousRemote { get; private set; }

    /// <summary>The remote description's a=ice-pacing; null counts as the RFC's default 50 ms.</summary>
    public TimeSpan? RemotePacing { get; private set; }

    /// <summary>The local candidates, kept across ICE restarts (a restart checks them again with new credentials).</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates => _local;

    /// <summary>The remote's candidates of this generation as signalled (peer-reflexive ones, learned from checks, live in the check list only).</summary>
    public IReadOnlyList<IceCandidate> RemoteCandidates => _remote;

    public bool LocalGatheringDone { get; set; }

    public bool RemoteGatheringDone { get; set; }

    /// <summary>The pair ICE selected in this generation, once it did.</summary>
    public SelectedPair? Selected { get; set; }

    /// <summary>
    /// Port prediction runs in this session (both peers are ours and agreed): a relayed selection is not final, and a
    /// direct pair found later is checked and nominated over it (the controlled agent already takes a later
    /// nomination of a better pair). Kept across ICE restarts.
    /// </summary>
    public bool UpgradeFromRelay { get; set; }

    /// <summary>How many ICE restarts this agent went through.</summary>
    public int Generation { get; private set; }

    /// <summary>What <paramref name="remote"/>, the credentials of a remote description, mean here.</summary>
    public RemoteCredentials Classify(IceCredentials remote) =>
        remote == PreviousRemote ? RemoteCredentials.Stale
        : Remote is null ? RemoteCredentials.First
        : remote == Remote ? RemoteCredentials.Same
        : RemoteCredentials.Restarted;

    /// <summary>
    /// The first credentials of a generation count, and pair the remote candidates that came before them (into
    /// <see cref="CheckList"/>); false when they were set already.
    /// </summary>
    public bool SetRemote(IceCredentials remote, TimeSpan? pacing)
    {
        if (Remote is not null) return false;
        Remote = remote;
        RemotePacing = pacing;
        foreach (var candidate in _remote) CheckList.AddRemote(candidate);
        return true;
    }

    /// <summary>A local candidate, and its pairs; returns the pairs formed.</summary>
    public IReadOnlyList<CandidatePair> AddLocal(IceCandidate candidate)
    {
        _local.Add(candidate);
        return CheckList.AddLocal(candidate);
    }

    /// <summary>
    /// A relayed candidate whose allocation the TURN server dropped gives way to the new one (or the new one is added,
    /// when the old is not known); returns the new one's pairs. The old one's pairs stay in the list (their checks
    /// fail: its data has no route any more); the next generation has only the new one.
    /// </summary>
    public IReadOnlyList<CandidatePair> ReplaceLocal(IceCandidate old, IceCandidate replacement)
    {
        int index = _local.FindIndex(c => c.Type == CandidateType.Relayed && c.Address.Equals(old.Address));
        if (index >= 0) _local[index] = replacement;
        else _local.Add(replacement);
        return CheckList.AddLocal(replacement);
    }

    /// <summary>
    /// A relayed candidate whose allocation is lost (its TURN server died) and not replaced: it leaves the local
    /// candidates, so the next generation neither pairs nor signals it, and its pairs of this one fail at once
    /// (<see cref="CheckList.RemoveLocal"/>); returns those pairs.
    /// </summary>
    public IReadOnlyList<CandidatePair> RemoveLocal(IceCandidate lost)
    {
        _local.RemoveAll(c => c.Type == lost.Type && c.Transport == lost.Transport && c.Address.Equals(lost.Address));
        return CheckList.RemoveLocal(lost);
    }

    /// <summary>A signalled remote candidate; paired at once when the remote's credentials are known, else when they come. Returns the pairs formed.</summary>
    public IReadOnlyList<CandidatePair> AddRemote(IceCandidate candidate)
    {
        _remote.Add(candidate);
        return Remote is null ? [] : CheckList.AddRemote(candidate);
    }

    /// <summary>
    /// An ICE restart (RFC 8445 §9): new local credentials; the remote's credentials, candidates, end-of-candidates, the
    /// pairs and the selected pair belong to the generation that ends. The local candidates and their gathering stay (a
    /// restart here checks the same candidates again), and so does the tie-breaker; the role goes back to the one the
    /// agent started with, which libwebrtc also re-evaluates on a restart (a conflict settles it again).
    /// </summary>
    public void Restart(IceCredentials local)
    {
        CheckList = new CheckList(_startedControlling, CheckList.MaxPairs);
        foreach (var candidate in _local) CheckList.AddLocal(candidate);
        Local = local;
        PreviousRemote = Remote ?? PreviousRemote;
        Remote = null;
        RemotePacing = null;
        _remote.Clear();
        RemoteGatheringDone = false;
        Selected = null;
        Generation++;
    }
}
