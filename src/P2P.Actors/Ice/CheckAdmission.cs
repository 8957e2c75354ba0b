namespace P2P.Actors.Ice;

/// <summary>
/// Between a session's <see cref="PairChecker"/> and the <see cref="Sessions.Peer"/> whose socket it shares with every
/// other session of that peer: how many sessions check at once (<see cref="IceSettings.MaxCheckingSessions"/>).
/// </summary>
public static class CheckAdmissionProtocol
{
    /// <summary>
    /// Checker to its transport (the LocalPeer): it has pairs and the remote's credentials and would send its first check.
    /// Answered with <see cref="MayBegin"/>, at once or once a place is free. <paramref name="RemoteIsChecking"/>: the
    /// remote agent's checks already arrive, so this session's triggered checks (RFC 8445 §7.3.1.4) finish what the
    /// remote side started; it begins at once.
    /// </summary>
    public sealed record Begin(bool RemoteIsChecking);

    /// <summary>The checker may send checks now.</summary>
    public sealed record MayBegin
    {
        public static readonly MayBegin Instance = new();
    }

    /// <summary>Checker to its transport: it selected a pair or failed; its place goes to the next waiting session.</summary>
    public sealed record Ended
    {
        public static readonly Ended Instance = new();
    }

    /// <summary>
    /// Checker to its parent (the agent): its first check waits for a place. The connect timeout does not run while it
    /// waits: it counts the time spent trying, not the time spent in the queue.
    /// </summary>
    public sealed record Waiting
    {
        public static readonly Waiting Instance = new();
    }

    /// <summary>Checker to its parent after <see cref="Waiting"/>: it has its place and begins; the connect timeout starts over.</summary>
    public sealed record Began
    {
        public static readonly Began Instance = new();
    }

    /// <summary>
    /// Agent to its checker: the connect timeout passed with no pair selected. No more checks go out (the checks in
    /// progress stop retransmitting) and the place goes to the next session; the remote's checks are still answered.
    /// </summary>
    public sealed record GiveUp
    {
        public static readonly GiveUp Instance = new();
    }
}

/// <summary>
/// Which sessions of one peer may check now (at most <c>limit</c>, plus those the remote side already checks), and which
/// wait for a place, first come first served. Thousands of sessions opened at once would otherwise all check at once
/// on the peer's one socket: on a machine short of CPU their answers come later than the checks' retransmission
/// timeout (RFC 8445 §14.3), every check is sent again and again, and that work makes every answer later still, until
/// sessions run out of time. With a bounded number checking, the answers come within a round trip and each session
/// is done in a few, whatever the number opened. Not an actor: the LocalPeer keeps one and calls it from its handlers.
/// </summary>
/// <typeparam name="T">What identifies a checker (its actor ref).</typeparam>
public sealed class CheckAdmission<T>(int limit) where T : notnull
{
    private readonly HashSet<T> _checking = [];
    private readonly LinkedList<T> _waiting = new();
    private readonly Dictionary<T, LinkedListNode<T>> _waitingAt = [];

    /// <summary>How many check now.</summary>
    public int Checking => _checking.Count;

    /// <summary>How many wait for a place.</summary>
    public int Waiting => _waiting.Count;

    /// <summary>The most that ever checked at once.</summary>
    public int MostChecking { get; private set; }

    /// <summary>
    /// <paramref name="who"/> would begin: true when it may now (a place is free, the remote already checks it, or it
    /// had its place already: a restarted checker asks again); false when it waits, until <see cref="End"/> gives it a
    /// place. Asking again while waiting keeps its place in the queue, unless the remote began checking it meanwhile.
    /// </summary>
    public bool Begin(T who, bool remoteIsChecking)
    {
        if (_checking.Contains(who)) return true;
        if (_checking.Count < limit || remoteIsChecking)
        {
            if (_waitingAt.Remove(who, out var node)) _waiting.Remove(node);
            Add(who);
            return true;
        }
        if (!_waitingAt.ContainsKey(who)) _waitingAt[who] = _waiting.AddLast(who);
        return false;
    }

    /// <summary><paramref name="who"/> is done checking (or gone); the sessions that get the free places are added to <paramref name="admitted"/>.</summary>
    public void End(T who, List<T> admitted)
    {
        if (!_checking.Remove(who) && _waitingAt.Remove(who, out var node)) _waiting.Remove(node);
        while (_checking.Count < limit && _waiting.First is { } first)
        {
            _waiting.RemoveFirst();
            _waitingAt.Remove(first.Value);
            Add(first.Value);
            admitted.Add(first.Value);
        }
    }

    private void Add(T who)
    {
        _checking.Add(who);
        if (_checking.Count > MostChecking) MostChecking = _checking.Count;
    }

    /// <summary>Whether <paramref name="who"/> checks now or waits (the LocalPeer watches it until it is neither).</summary>
    public bool Knows(T who) => _checking.Contains(who) || _waitingAt.ContainsKey(who);
}
