using System.Net;
using Akka.Actor;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Sessions;

/// <summary>
/// Where a <see cref="LocalPeer"/>'s inbound datagrams go (docs/ARCHITECTURE.md): its sessions by ICE ufrag (connectivity
/// check requests) and by session tag (responses, whose transaction id starts with it, and datagrams framed with it,
/// <see cref="SessionMux"/>); application data by the remote address of each session's selected pair, the newest
/// session first; and a few early datagrams held for a session that has not selected its pair yet. A plain class
/// owned by the peer actor; <see cref="Direct"/> is the thread-safe copy of the data routes for the socket's thread.
/// </summary>
internal sealed class PeerRoutes
{
    /// <summary>How long an early datagram is held for the session that selects its pair.</summary>
    public static readonly TimeSpan EarlyDataLifetime = TimeSpan.FromSeconds(2);

    private readonly Dictionary<IActorRef, (string Ufrag, uint Tag)> _sessions = [];
    private readonly Dictionary<string, IActorRef> _byUfrag = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, IActorRef> _byTag = [];
    // application data by remote address: the session that selected it last is at the end of the list
    private readonly Dictionary<IPEndPoint, List<DataPath>> _dataPaths = [];
    private readonly Dictionary<uint, IActorRef> _dataByTag = []; // multiplexed sessions (SessionMux): tag -> data path
    private readonly EarlyData<IPEndPoint> _early = new(keys: 64);
    private readonly EarlyData<uint> _earlyTagged = new(keys: 4096); // framed for a session that has not selected its pair yet
    private readonly Func<IPEndPoint, bool> _isServer;

    /// <param name="isServer">Whether an address is one of the peer's STUN or TURN servers, whose datagrams never take a session's direct route.</param>
    public PeerRoutes(Func<IPEndPoint, bool> isServer) => _isServer = isServer;

    private readonly record struct DataPath(IActorRef Session, IActorRef Data, IDatagramReceiver Path);

    /// <summary>What <see cref="Route"/> did with a datagram.</summary>
    public enum Outcome
    {
        /// <summary>To <see cref="Routed.Target"/>, as <see cref="Routed.Message"/>.</summary>
        Deliver,

        /// <summary>Kept for a session that has not selected its pair yet (counted as unroutable, as a drop would be).</summary>
        Held,

        /// <summary>No session takes it.</summary>
        Unroutable,

        /// <summary>STUN by its first byte, but not a STUN message.</summary>
        Malformed,
    }

    public readonly record struct Routed(Outcome Outcome, IActorRef? Target, Inbound? Message);

    /// <summary>The socket thread's copy of the data routes.</summary>
    public DirectRoutes Direct { get; } = new();

    public bool HasUfrag(string ufrag) => _byUfrag.ContainsKey(ufrag);

    public bool HasTag(uint tag) => _byTag.ContainsKey(tag);

    public void AddSession(IActorRef session, string ufrag, uint tag)
    {
        _sessions[session] = (ufrag, tag);
        _byUfrag[ufrag] = session;
        _byTag[tag] = session;
    }

    /// <summary>The session restarted ICE (RFC 8445 §9) with new credentials: checks for the new ufrag go to it, none for its old one.</summary>
    public void ChangeUfrag(IActorRef session, string newUfrag)
    {
        if (!_sessions.TryGetValue(session, out var known)) return;
        if (_byUfrag.TryGetValue(known.Ufrag, out var current) && current.Equals(session)) _byUfrag.Remove(known.Ufrag);
        _byUfrag[newUfrag] = session;
        _sessions[session] = known with { Ufrag = newUfrag };
    }

    /// <summary>The session is gone: every route to it goes.</summary>
    public void RemoveSession(IActorRef session)
    {
        if (!_sessions.Remove(session, out var known)) return;
        var (ufrag, tag) = known;
        _byUfrag.Remove(ufrag);
        _byTag.Remove(tag);
        _dataByTag.Remove(tag);
        Direct.RemoveTag(tag);
        foreach (var (remote, paths) in _dataPaths.ToList())
        {
            if (paths.RemoveAll(p => p.Session.Equals(session)) == 0) continue;
            if (paths.Count == 0) _dataPaths.Remove(remote);
            PublishDirect(remote, paths);
        }
    }

    /// <summary>
    /// The session selected a pair with <paramref name="remote"/>: its data goes to <paramref name="data"/> (and from the
    /// socket's thread through <paramref name="path"/>), by address and by its session tag. Returns what was held for
    /// it, in arrival order: the remote may have selected first and sent its DTLS ClientHello already.
    /// </summary>
    public List<Inbound> SelectDataPath(IActorRef session, IPEndPoint remote, IActorRef data, IDatagramReceiver path, DateTimeOffset now)
    {
        if (!_dataPaths.TryGetValue(remote, out var paths)) _dataPaths[remote] = paths = [];
        paths.RemoveAll(p => p.Session.Equals(session));
        paths.Add(new DataPath(session, data, path));
        PublishDirect(remote, paths);
        var held = _early.Take(remote, now);
        if (_sessions.TryGetValue(session, out var known))
        {
            _dataByTag[known.Tag] = data;
            Direct.SetTag(known.Tag, path);
            held.AddRange(_earlyTagged.Take(known.Tag, now));
        }
        return held;
    }

    /// <summary>RFC 7983 demultiplexing, then to the session: STUN by username or transaction tag, the rest by session tag or remote address.</summary>
    public Routed Route(Inbound inbound, DateTimeOffset now)
    {
        var span = inbound.Payload.Span;
        if (PacketDemultiplexer.Classify(span) == PacketKind.Stun)
        {
            if (!StunMessage.TryParse(span, out var msg, out _)) return new Routed(Outcome.Malformed, null, null);
            IActorRef? session = null;
            if (msg.Class == StunClass.Request)
            {
                if (msg.TryGetString(StunAttributeType.Username, out var username)
                    && IceMessages.TryGetUsernameFragments(username, out var ours, out _))
                    _byUfrag.TryGetValue(ours, out session);
            }
            else
            {
                _byTag.TryGetValue((uint)(msg.TransactionId.High >> 32), out session);
                session ??= DataPathOf(inbound.From)?.Session; // e.g. Binding indications
            }
            return session is null ? new Routed(Outcome.Unroutable, null, null) : new Routed(Outcome.Deliver, session, inbound);
        }
        if (SessionMux.TryReadTag(span, out uint tag) && _byTag.ContainsKey(tag))
        {
            // from a peer that multiplexes sessions on its socket, for one of ours by its tag: the frame is ours to strip
            var unframed = inbound with { Payload = inbound.Payload[SessionMux.HeaderLength..] };
            if (_dataByTag.TryGetValue(tag, out var data)) return new Routed(Outcome.Deliver, data, unframed);
            _earlyTagged.Add(tag, unframed, now);
            return new Routed(Outcome.Held, null, null);
        }
        if (DataPathOf(inbound.From) is { } target) return new Routed(Outcome.Deliver, target.Data, inbound);
        _early.Add(inbound.From, inbound, now);
        return new Routed(Outcome.Held, null, null);
    }

    /// <summary>
    /// The session application data from <paramref name="remote"/> belongs to. Two sessions between the same two
    /// addresses cannot be told apart by address: the newer one wins, unless the remote frames its datagrams with our
    /// session's tag (<see cref="SessionMux"/>), as our own peers do.
    /// </summary>
    private DataPath? DataPathOf(IPEndPoint remote) => _dataPaths.TryGetValue(remote, out var paths) ? paths[^1] : null;

    /// <summary>The socket's thread routes plain datagrams from <paramref name="remote"/> as <see cref="DataPathOf"/> does; never a server's.</summary>
    private void PublishDirect(IPEndPoint remote, List<DataPath> paths) =>
        Direct.SetRemote(remote, paths.Count == 0 || _isServer(remote) ? null : paths[^1].Path);

    /// <summary>
    /// A few datagrams per key (a remote address, or a session tag) for a short while; bounded in keys too. The remote
    /// selects the pair first when it is the controlled agent (it learns of the nomination one round trip before this
    /// side) and, as the DTLS client, sends its ClientHello at once: dropping it would cost the handshake its first
    /// retransmission timer (1 s, RFC 6347 §4.2.4.1).
    /// </summary>
    private sealed class EarlyData<TKey>(int keys) where TKey : notnull
    {
        private const int PerKey = 8;
        private readonly Dictionary<TKey, List<(Inbound Datagram, DateTimeOffset At)>> _held = [];

        public void Add(TKey key, Inbound inbound, DateTimeOffset now)
        {
            if (!_held.TryGetValue(key, out var held))
            {
                if (_held.Count >= keys)
                    foreach (var (old, list) in _held.ToList())
                        if (list.Count == 0 || now - list[^1].At > EarlyDataLifetime) _held.Remove(old);
                if (_held.Count >= keys) return;
                _held[key] = held = [];
            }
            held.RemoveAll(h => now - h.At > EarlyDataLifetime);
            if (held.Count < PerKey) held.Add((inbound, now));
        }

        /// <summary>What is held for <paramref name="key"/> and still fresh, in arrival order; forgotten here.</summary>
        public List<Inbound> Take(TKey key, DateTimeOffset now) =>
            _held.Remove(key, out var held) ? held.Where(h => now - h.At <= EarlyDataLifetime).Select(h => h.Datagram).ToList() : [];
    }
}
