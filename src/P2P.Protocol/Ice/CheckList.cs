using System.Net;

namespace P2P.Protocol.Ice;

/// <summary>
/// The check list of one data stream (RFC 8445 §6.1.2), built incrementally as candidates are
/// learned (trickle ICE, RFC 8838 §10). It forms pairs, prunes redundant ones, keeps them sorted by
/// priority, assigns the Frozen/Waiting states per foundation and says which pair to check next.
/// It sends nothing and knows no time: the owner (one actor) runs the checks, sets
/// <see cref="CandidatePairState.InProgress"/> and <see cref="CandidatePairState.Failed"/>, and
/// reports successes through <see cref="OnSucceeded"/>. Not thread-safe.
/// </summary>
public sealed class CheckList
{
    /// <summary>The RFC's default cap on pairs per check list (RFC 8445 §6.1.2.5, §14.1: 100).</summary>
    public const int DefaultMaxPairs = 100;

    private readonly List<CandidatePair> _pairs = [];
    private readonly List<IceCandidate> _locals = [];
    private readonly List<IceCandidate> _remotes = [];

    public CheckList(bool controlling, int maxPairs = DefaultMaxPairs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPairs, 1);
        Controlling = controlling;
        MaxPairs = maxPairs;
    }

    /// <summary>The pairs, highest priority first (pairs of equal priority stay in the order they were added).</summary>
    public IReadOnlyList<CandidatePair> Pairs => _pairs;

    /// <summary>Every local candidate added, including server- and peer-reflexive ones that form no pairs of their own.</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates => _locals;

    /// <summary>Every remote candidate: signalled ones and peer-reflexive ones learned from checks.</summary>
    public IReadOnlyList<IceCandidate> RemoteCandidates => _remotes;

    public int MaxPairs { get; }

    public bool Controlling { get; private set; }

    /// <summary>True when there is at least one pair and every pair has Succeeded or Failed (RFC 8445 §6.1.2.1 "Completed"/"Failed" needs this).</summary>
    public bool AllDone => _pairs.Count > 0 && _pairs.TrueForAll(p => p.State is CandidatePairState.Succeeded or CandidatePairState.Failed);

    /// <summary>The pairs in the valid list (a check on them succeeded), highest priority first.</summary>
    public IEnumerable<CandidatePair> ValidPairs => _pairs.Where(p => p.Valid);

    /// <summary>
    /// Switches the role (after a 487 Role Conflict, RFC 8445 §7.2.5.1, or a conflict detected on an
    /// incoming check, §7.3.1.1): every pair priority is recomputed and the list re-sorted.
    /// </summary>
    public void SetRole(bool controlling)
    {
        if (controlling == Controlling) return;
        Controlling = controlling;
        foreach (var pair in _pairs) pair.UpdatePriority(controlling);
        Sort();
    }

    private void Sort()
    {
        var sorted = _pairs.OrderByDescending(p => p.Priority).ToList(); // stable
        _pairs.Clear();
        _pairs.AddRange(sorted);
    }

    /// <summary>
    /// Adds a local candidate and pairs it with the known remote candidates (RFC 8445 §6.1.2.2,
    /// RFC 8838 §10). Server-reflexive and peer-reflexive local candidates are kept but form no
    /// pairs: replaced by their base they would only repeat the base's own pairs, which pruning
    /// removes (§6.1.2.4). A candidate already known (same address, transport and component) is
    /// ignored. Returns the pairs that were added and survived pruning.
    /// </summary>
    public IReadOnlyList<CandidatePair> AddLocal(IceCandidate local) => AddLocals([local]);

    /// <summary><see cref="AddLocal"/> for several candidates at once, so that the initial states are assigned over all of their pairs.</summary>
    public IReadOnlyList<CandidatePair> AddLocals(IEnumerable<IceCandidate> locals)
    {
        var formed = new List<CandidatePair>();
        foreach (var local in locals)
        {
            if (_locals.Exists(l => SameTransportAddress(l, local))) continue;
            _locals.Add(local);
            if (!IsBase(local)) continue;
            foreach (var remote in _remotes)
            {
                if (CanPair(local, remote)) formed.Add(new CandidatePair(local, remote, Controlling));
            }
        }
        return Insert(formed, protect: null);
    }

    /// <summary>
    /// A local candidate that can no longer send (a relayed one whose allocation is lost: its TURN server died) leaves
    /// the list: it pairs with no remote candidate from now on, and its pairs fail at once instead of after their checks'
    /// retransmissions (~20 s, RFC 8445 §14.3), so the Frozen pairs of their foundations can be checked (§6.1.4.2).
    /// Returns its pairs that were not failed already (none when the candidate is not known).
    /// </summary>
    public IReadOnlyList<CandidatePair> RemoveLocal(IceCandidate local)
    {
        if (_locals.RemoveAll(l => SameTransportAddress(l, local)) == 0) return [];
        var failed = new List<CandidatePair>();
        foreach (var pair in _pairs)
        {
            if (pair.State == CandidatePairState.Failed || !SameTransportAddress(pair.Local, local)) continue;
            pair.State = CandidatePairState.Failed;
            pair.Valid = false;
            failed.Add(pair);
        }
        return failed;
    }

    /// <summary>
    /// Adds a remote candidate and pairs it with the known local bases (RFC 8445 §6.1.2.2,
    /// RFC 8838 §10). A candidate already known (same type, address, transport and component) is
    /// ignored. A signalled candidate already learned as peer-reflexive replaces that one (RFC 8445
    /// §7.3.1.3). A candidate with the address of a known one of another signalled type (a peer's host
    /// and server-reflexive candidates when it is not behind a NAT) forms redundant pairs, which pruning
    /// settles. Returns the pairs that were added and survived pruning.
    /// </summary>
    public IReadOnlyList<CandidatePair> AddRemote(IceCandidate remote) => AddRemotes([remote]);

    /// <summary><see cref="AddRemote"/> for several candidates at once (a whole description), so that the initial states are assigned over all of their pairs.</summary>
    public IReadOnlyList<CandidatePair> AddRemotes(IEnumerable<IceCandidate> remotes)
    {
        var formed = new List<CandidatePair>();
        foreach (var remote in remotes)
        {
            if (_remotes.Exists(r => r.Type == remote.Type && SameTransportAddress(r, remote))) continue;
            if (remote.Type != CandidateType.PeerReflexive) ReplacePeerReflexive(remote);
            _remotes.Add(remote);
            foreach (var local in _locals)
            {
                if (IsBase(local) && CanPair(local, remote)) formed.Add(new CandidatePair(local, remote, Controlling));
            }
        }
        return Insert(formed, protect: null);
    }

    /// <summary>
    /// A signalled candidate at the address of a peer-reflexive one learned from a check (the peer's check outran its
    /// signaling) replaces it, in the remote candidates and in its pairs, which keep their state (RFC 8445 §7.3.1.3);
    /// the list is sorted again, since the pairs' priorities follow the signalled candidate's.
    /// </summary>
    private void ReplacePeerReflexive(IceCandidate signalled)
    {
        int at = _remotes.FindIndex(r => r.Type == CandidateType.PeerReflexive && SameTransportAddress(r, signalled));
        if (at < 0) return;
        var prflx = _remotes[at];
        _remotes.RemoveAt(at);
        foreach (var pair in _pairs)
        {
            if (ReferenceEquals(pair.Remote, prflx)) pair.ReplaceRemote(signalled, Controlling);
        }
        Sort();
    }

    /// <summary>
    /// The pairing rules (RFC 8445 §6.1.2.2, RFC 6544 §6.2): same component; same address family;
    /// UDP with UDP, and for TCP an active candidate with a passive one or simultaneous-open with
    /// simultaneous-open; a link-local address only with a link-local address, and a loopback
    /// address only with a loopback address (neither can reach anything else).
    /// </summary>
    public static bool CanPair(IceCandidate local, IceCandidate remote)
    {
        if (local.Component != remote.Component || local.Transport != remote.Transport) return false;
        var la = IceGrammar.Normalize(local.Address.Address);
        var ra = IceGrammar.Normalize(remote.Address.Address);
        if (la.AddressFamily != ra.AddressFamily) return false;
        if (IceGrammar.IsLinkLocal(la) != IceGrammar.IsLinkLocal(ra)) return false;
        if (IPAddress.IsLoopback(la) != IPAddress.IsLoopback(ra)) return false;
        if (local.Transport == CandidateTransport.Tcp)
        {
            return (local.TcpType, remote.TcpType) switch
            {
                (TcpCandidateType.Active, TcpCandidateType.Passive) => true,
                (TcpCandidateType.Passive, TcpCandidateType.Active) => true,
                (TcpCandidateType.SimultaneousOpen, TcpCandidateType.SimultaneousOpen) => true,
                _ => false,
            };
        }
        return true;
    }

    /// <summary>
    /// The pair for the next ordinary check (RFC 8445 §6.1.4.2): the highest-priority Waiting pair.
    /// If there is none, the highest-priority Frozen pair of every foundation that has no Waiting or
    /// In-Progress pair is unfrozen (set to Waiting) first, and the highest of them returned. Null
    /// when nothing can be checked now. It does not mark the pair In-Progress: the caller does when
    /// it sends the check.
    /// </summary>
    public CandidatePair? NextForOrdinaryCheck()
    {
        var waiting = _pairs.Find(p => p.State == CandidatePairState.Waiting);
        if (waiting is not null) return waiting;

        var inUse = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in _pairs)
        {
            if (pair.State == CandidatePairState.InProgress) inUse.Add(pair.Foundation);
        }
        CandidatePair? first = null;
        foreach (var pair in _pairs)
        {
            if (pair.State == CandidatePairState.Frozen && inUse.Add(pair.Foundation))
            {
                pair.State = CandidatePairState.Waiting;
                first ??= pair;
            }
        }
        return first;
    }

    /// <summary>
    /// Records a successful check (RFC 8445 §7.2.5.3.2-3): the pair becomes Succeeded and valid, and
    /// every Frozen pair with the same foundation becomes Waiting.
    /// </summary>
    public void OnSucceeded(CandidatePair pair)
    {
        pair.State = CandidatePairState.Succeeded;
        pair.Valid = true;
        foreach (var other in _pairs)
        {
            if (other.State == CandidatePairState.Frozen && other.Foundation == pair.Foundation) other.State = CandidatePairState.Waiting;
        }
    }

    /// <summary>The pair sending from <paramref name="localBase"/> to <paramref name="remote"/>, UDP preferred over TCP. IPv4-mapped IPv6 addresses match their IPv4 form.</summary>
    public CandidatePair? Find(IPEndPoint localBase, IPEndPoint remote) =>
        Find(localBase, remote, CandidateTransport.Udp) ?? Find(localBase, remote, CandidateTransport.Tcp);

    /// <summary>The pair sending from <paramref name="localBase"/> to <paramref name="remote"/> over <paramref name="transport"/>.</summary>
    public CandidatePair? Find(IPEndPoint localBase, IPEndPoint remote, CandidateTransport transport) =>
        _pairs.Find(p => p.Local.Transport == transport
            && IceGrammar.SameEndPoint(p.Local.Address, localBase)
            && IceGrammar.SameEndPoint(p.Remote.Address, remote));

    /// <summary>
    /// Handles the addresses of an incoming check (RFC 8445 §7.3.1.3-4): a check that arrived on
    /// <paramref name="localBase"/> from <paramref name="source"/> carrying <paramref name="priority"/>
    /// (its PRIORITY attribute). If the source is no known remote candidate, a peer-reflexive remote
    /// candidate is learned with that priority. Then the pair (local base, remote) is looked up, or
    /// created in the Waiting state (<paramref name="added"/> true); a created pair is never pruned.
    /// The caller queues the triggered check according to the returned pair's state (§7.3.1.4).
    /// Null when <paramref name="localBase"/> is no local host or relayed candidate of this transport.
    /// </summary>
    public CandidatePair? AddPeerReflexiveRemote(IPEndPoint localBase, IPEndPoint source, uint priority, out bool added,
        CandidateTransport transport = CandidateTransport.Udp)
    {
        added = false;
        var local = _locals.Find(l => IsBase(l) && l.Transport == transport && IceGrammar.SameEndPoint(l.Address, localBase));
        if (local is null) return null;

        var existing = Find(local.Address, source, transport);
        if (existing is not null) return existing;

        var remote = _remotes.Find(r => r.Transport == transport && r.Component == local.Component && IceGrammar.SameEndPoint(r.Address, source));
        if (remote is null)
        {
            remote = new IceCandidate(
                CandidateFoundation.ComputePeerReflexiveRemote(source, transport), local.Component, transport, priority,
                source, CandidateType.PeerReflexive, TcpType: Opposite(local.TcpType));
            _remotes.Add(remote);
        }
        var pair = new CandidatePair(local, remote, Controlling);
        Insert([pair], protect: pair);
        pair.State = CandidatePairState.Waiting;
        added = true;
        return pair;
    }

    /// <summary>
    /// Learns a peer-reflexive local candidate from a success response (RFC 8445 §7.2.5.3.1): the
    /// check on <paramref name="pair"/> came back with <paramref name="mapped"/>, the XOR-MAPPED-ADDRESS.
    /// When that address is no known local candidate, a peer-reflexive one is added whose base is
    /// the pair's local candidate and whose priority is the PRIORITY the check carried
    /// (<paramref name="added"/> true). Either way the local candidate the address names is returned.
    /// Like a server-reflexive candidate, it forms no pairs: checks keep going out from its base,
    /// so <paramref name="pair"/> remains the pair to use.
    /// </summary>
    public IceCandidate AddPeerReflexiveLocal(CandidatePair pair, IPEndPoint mapped, uint priority, out bool added)
    {
        var b = pair.Local;
        var known = _locals.Find(l => l.Transport == b.Transport && l.Component == b.Component && IceGrammar.SameEndPoint(l.Address, mapped));
        if (known is not null) { added = false; return known; }
        var prflx = new IceCandidate(
            CandidateFoundation.Compute(CandidateType.PeerReflexive, b.Address.Address, null, b.Transport), b.Component, b.Transport, priority,
            mapped, CandidateType.PeerReflexive, b.Address, b.TcpType);
        _locals.Add(prflx);
        added = true;
        return prflx;
    }

    /// <summary>Host and relayed candidates are their own base and send checks; reflexive ones are replaced by their base (RFC 8445 §6.1.2.4).</summary>
    private static bool IsBase(IceCandidate local) => local.Type is CandidateType.Host or CandidateType.Relayed;

    private static TcpCandidateType Opposite(TcpCandidateType t) => t switch
    {
        TcpCandidateType.Active => TcpCandidateType.Passive,
        TcpCandidateType.Passive => TcpCandidateType.Active,
        _ => t,
    };

    private static bool SameTransportAddress(IceCandidate a, IceCandidate b) =>
        a.Transport == b.Transport && a.Component == b.Component && IceGrammar.SameEndPoint(a.Address, b.Address);

    /// <summary>
    /// Inserts newly formed pairs: prunes redundant ones (same local base and same remote address,
    /// RFC 8445 §6.1.2.4; with trickle only a Frozen or Waiting pair is ever replaced, RFC 8838 §10),
    /// assigns each survivor its state, keeps the list sorted, then drops the lowest-priority Frozen
    /// or Waiting pairs beyond <see cref="MaxPairs"/> (§6.1.2.5).
    /// </summary>
    private List<CandidatePair> Insert(List<CandidatePair> formed, CandidatePair? protect)
    {
        var added = new List<CandidatePair>(formed.Count);
        // Lowest component first, then highest priority: the order the initial states are given in (§6.1.2.6).
        foreach (var pair in formed.OrderBy(p => p.Local.Component).ThenByDescending(p => p.Priority))
        {
            int redundant = _pairs.FindIndex(p => p.Local.Transport == pair.Local.Transport
                && p.Local.Component == pair.Local.Component
                && IceGrammar.SameEndPoint(p.Local.Address, pair.Local.Address)
                && IceGrammar.SameEndPoint(p.Remote.Address, pair.Remote.Address));
            if (redundant >= 0)
            {
                var old = _pairs[redundant];
                if (old.Priority >= pair.Priority || old.State is not (CandidatePairState.Frozen or CandidatePairState.Waiting)) continue;
                _pairs.RemoveAt(redundant);
                added.Remove(old);
            }
            pair.State = InitialState(pair.Foundation);
            int at = _pairs.FindIndex(p => p.Priority < pair.Priority);
            _pairs.Insert(at < 0 ? _pairs.Count : at, pair);
            added.Add(pair);
        }

        for (int i = _pairs.Count - 1; _pairs.Count > MaxPairs && i >= 0; i--)
        {
            var p = _pairs[i];
            if (p == protect || p.State is not (CandidatePairState.Frozen or CandidatePairState.Waiting)) continue;
            _pairs.RemoveAt(i);
            added.Remove(p);
        }
        return added;
    }

    /// <summary>
    /// Waiting when a pair of the foundation already succeeded (it would have been unfrozen, §7.2.5.3.3)
    /// or when no pair of the foundation is Waiting or In-Progress (§6.1.2.6, RFC 8838 §10); else Frozen.
    /// </summary>
    private CandidatePairState InitialState(string foundation)
    {
        bool busy = false;
        foreach (var p in _pairs)
        {
            if (p.Foundation != foundation) continue;
            if (p.State == CandidatePairState.Succeeded) return CandidatePairState.Waiting;
            if (p.State is CandidatePairState.Waiting or CandidatePairState.InProgress) busy = true;
        }
        return busy ? CandidatePairState.Frozen : CandidatePairState.Waiting;
    }
}
