using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Ice;
using P2P.Protocol.Nat;
using P2P.Protocol.Stun;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Ice;

public static class PortPredictionProtocol
{
    /// <summary>
    /// What a session's prediction needs besides the decision: the ICE credentials its packets carry (RFC 8445 §7.1:
    /// USERNAME, MESSAGE-INTEGRITY, PRIORITY, the role), and the hard side's signalled public address (the only one
    /// the easy side may probe).
    /// </summary>
    public sealed record Start(IceCredentials Local, IceCredentials Remote, bool Controlling, ulong TieBreaker, uint SessionTag, IPAddress HardPublicAddress);

    /// <summary>To the session, on the hard side: a probe met <see cref="Candidate"/>'s socket; the agent takes it as a local candidate (its Inbound follows).</summary>
    public sealed record Found(IceCandidate Candidate);

    /// <summary>To the LocalPeer: datagrams from <paramref name="Local"/> (a found candidate's address) go out on <paramref name="Socket"/>.</summary>
    public sealed record SocketFound(IPEndPoint Local, IActorRef Socket);

    /// <summary>Ends the try (an ICE restart, the session closing): every socket not found closes.</summary>
    public sealed record Stop(string Reason);

    /// <summary>From the session: ICE selected a direct pair (through prediction or not); a try still under way ends, its sockets close.</summary>
    public sealed record DirectPairSelected(SelectedPair Pair);

    /// <summary>Answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats;

    /// <param name="Role">What this side did (<see cref="PredictionRole.None"/>: prediction did not run, <see cref="Outcome"/> says why).</param>
    /// <param name="SocketsOpened">Extra sockets the hard side opened in all.</param>
    /// <param name="SocketsOpen">Extra sockets open now (the found one, if any, stays: it carries the pair).</param>
    /// <param name="PacketsSent">Probes (easy side) or socket-opening requests (hard side) sent.</param>
    /// <param name="Succeeded">A probe met a mapping.</param>
    /// <param name="Outcome">A sentence for the log and the console.</param>
    public sealed record Stats(PredictionRole Role, PredictionMethod Method, int SocketsOpened, int SocketsOpen, long PacketsSent, bool Succeeded, TimeSpan? After, string Outcome)
    {
        public static Stats NotRun(string reason) => new(PredictionRole.None, PredictionMethod.None, 0, 0, 0, false, null, reason);
    }
}

/// <summary>
/// Port prediction for one session (<see cref="PredictionPlan"/> decides who does what; akka.hocon's
/// <c>p2p.ice.port-prediction</c> holds every limit). A child of the session, it takes part in ICE only through
/// ordinary STUN Binding requests with the session's credentials, so that what it finds is checked, nominated and
/// kept alive by the agent like any other pair:
/// <list type="bullet">
/// <item><b>Hard side</b> (<see cref="PredictionRole.OpenMappings"/>): opens extra sockets through the
/// <see cref="IUdpSocketFactory"/>, paced, each sending one Binding request to the easy side's server-reflexive
/// address, which opens a mapping per socket on its NAT. The first socket a probe (a Binding request for our ufrag
/// with a valid MESSAGE-INTEGRITY) reaches is kept: the LocalPeer is told to send that candidate's datagrams on it
/// (<see cref="PortPredictionProtocol.SocketFound"/>), the session hands it to the agent as a local candidate, and
/// the probe goes on to the agent, which answers it and checks back. Every other socket closes. Datagrams on the kept
/// socket go on to the session as <see cref="Inbound"/> for as long as the session lives.</item>
/// <item><b>Easy side</b> (<see cref="PredictionRole.Probe"/>): sends paced Binding requests from the LocalPeer's
/// socket (whose mapping is endpoint-independent) to ports of the hard side's signalled public address, random
/// ones (<see cref="PredictionMethod.Birthday"/>) or the window after its observed mapped port
/// (<see cref="PredictionMethod.Sequential"/>), and stops at the first answer. The answer's sender then checks back
/// from that port, which the agent learns as a peer-reflexive candidate.</item>
/// </list>
/// It reads the candidates it needs (the easy side's server-reflexive address, the hard side's mapped port, the
/// local host candidate to send from) from the agent's pair table, asked again each batch until they are there
/// (the agent owns the candidates; nobody keeps a copy for it).
/// The try ends at the first success, after <c>max-probes</c>, or after <c>max-duration</c>, and says so once in
/// the log with the probes and sockets it used.
/// </summary>
public sealed class PortPrediction : ReceiveActor, IWithTimers
{
    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Deadline
    {
        public static readonly Deadline Instance = new();
    }

    /// <summary>The second half of a probe's transaction id's first word: tells the session's answers to probes from the agent's (whose are random).</summary>
    public const uint ProbeMarker = 0x50_52_45_44; // "PRED"

    private readonly PortPredictionSettings _settings;
    private readonly string _sessionId;
    private readonly PredictionDecision _decision;
    private readonly PortPredictionProtocol.Start _start;
    private readonly IActorRef _peer, _agent;
    private readonly IUdpSocketFactory? _sockets;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly PredictionPacer _pacer;
    private readonly StunIntegrityKey _remoteKey, _localKey;
    private readonly DateTimeOffset _startedAt;
    private readonly Dictionary<IActorRef, IPEndPoint?> _open = []; // hard side: socket → where it is bound (null until Bound)
    private readonly HashSet<uint> _probes = []; // easy side: the low words of the probes' transaction ids
    private readonly Random _random;
    private int _socketsOpened;
    private string? _outcome;
    private TimeSpan? _succeededAfter;

    public PortPrediction(PortPredictionSettings settings, string sessionId, PredictionDecision decision, PortPredictionProtocol.Start start, IActorRef peer,
        IActorRef agent, IUdpSocketFactory? sockets, int? seed)
    {
        _agent = agent;
        _settings = settings;
        _sessionId = sessionId;
        _decision = decision;
        _start = start;
        _peer = peer;
        _sockets = sockets;
        _random = seed is { } s ? new Random(s) : new Random();
        _remoteKey = new StunIntegrityKey(Encoding.UTF8.GetBytes(start.Remote.Pwd));
        _localKey = new StunIntegrityKey(Encoding.UTF8.GetBytes(start.Local.Pwd));
        int budget = decision.Role == PredictionRole.Probe ? settings.MaxProbes
            : decision.Method == PredictionMethod.Sequential ? settings.SequentialSockets : settings.Sockets;
        _pacer = new PredictionPacer(settings.PacketsPerSecond, settings.BatchInterval, budget);
        _startedAt = Context.System.Scheduler.Now;
        Become(Waiting);
    }

    /// <param name="peer">The LocalPeer: the easy side's probes go out on its socket, and it learns the hard side's found socket.</param>
    /// <param name="agent">The session's <see cref="IceAgent"/>, asked for its pair table.</param>
    /// <param name="sockets">Where the hard side's extra sockets come from (the LocalPeer's factory: real, or the virtual network's).</param>
    /// <param name="seed">Seeds the random probe ports (tests); null: unseeded.</param>
    public static Props Props(PortPredictionSettings settings, string sessionId, PredictionDecision decision, PortPredictionProtocol.Start start, IActorRef peer,
        IActorRef agent, IUdpSocketFactory? sockets, int? seed = null) =>
        Akka.Actor.Props.Create(() => new PortPrediction(settings, sessionId, decision, start, peer, agent, sockets, seed));

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The found candidates' foundation: the connection writes their datagrams through the LocalPeer, never on its own socket.</summary>
    public const string Foundation = "pp";

    /// <summary>A local candidate that is a socket port prediction found.</summary>
    public static bool IsFound(IceCandidate local) => local.Type == CandidateType.Host && local.Foundation == Foundation;

    /// <summary>A STUN response whose transaction is a probe of the session tagged <paramref name="sessionTag"/>: the session gives it to its prediction, not its agent.</summary>
    public static bool IsProbeAnswer(ReadOnlySpan<byte> datagram, uint sessionTag) =>
        StunMessage.TryParse(datagram, out var msg, out _) && msg.Class is StunClass.SuccessResponse or StunClass.ErrorResponse
        && msg.TransactionId.High == (((ulong)sessionTag << 32) | ProbeMarker);

    protected override void PreStart()
    {
        _log.Info("[{0}] port prediction: {1} ({2})", _sessionId, _decision.Role == PredictionRole.Probe ? "probing" : "opening mappings", _decision.Reason);
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _pacer.Interval);
        Timers.StartSingleTimer(Deadline.Instance, Deadline.Instance, _settings.MaxDuration);
        _agent.Tell(new PairCheckerProtocol.GetPairs());
    }

    protected override void PostStop()
    {
        _remoteKey.Dispose();
        _localKey.Dispose();
    }

    // ---- states ----------------------------------------------------------------------------------------------

    /// <summary>Until the pair table shows what this side needs (<see cref="TryBegin"/>).</summary>
    private void Waiting()
    {
        Receive<PairCheckerProtocol.PairTable>(m =>
        {
            if (TryBegin(m.Pairs) is { } next) Become(next);
        });
        Receive<Tick>(_ => _agent.Tell(new PairCheckerProtocol.GetPairs()));
        Ending();
    }

    private Action? TryBegin(IReadOnlyList<PairInfo> pairs)
    {
        var hard = _start.HardPublicAddress;
        if (_decision.Role == PredictionRole.OpenMappings)
        {
            // the easy side's mapping: its server-reflexive candidate (on the address it signalled as public, when it did)
            var target = pairs.Select(p => p.Remote).FirstOrDefault(r => r.Type == CandidateType.ServerReflexive && r.Transport == CandidateTransport.Udp
                && r.Address.AddressFamily == hard.AddressFamily);
            return target is null ? null : () => Opening(target.Address);
        }
        // the socket whose mapping is endpoint-independent: the LocalPeer's, as one of its UDP host candidates
        var local = pairs.Select(p => p.Local).FirstOrDefault(l => l.Type == CandidateType.Host && l.Transport == CandidateTransport.Udp
            && l.Address.AddressFamily == hard.AddressFamily && !IsFound(l));
        if (local is null) return null;
        PredictionPorts ports;
        if (_decision.Method == PredictionMethod.Sequential)
        {
            var mapped = pairs.Select(p => p.Remote).FirstOrDefault(r => r.Type == CandidateType.ServerReflexive && r.Address.Address.Equals(hard));
            if (mapped is null) return null; // its observed mapped port: what the next ones follow
            ports = PredictionPorts.Sequential(mapped.Address.Port, _decision.PortStep, _settings.SequentialWindow);
        }
        else ports = PredictionPorts.Birthday(_random);
        return () => Probing(local, ports);
    }

    /// <summary>The easy side: probes paced to the hard side's public address until one is answered.</summary>
    private void Probing(IceCandidate local, PredictionPorts ports)
    {
        Receive<Tick>(_ =>
        {
            int allowed = _pacer.Allowed(Context.System.Scheduler.Now - _startedAt);
            int sent = 0;
            for (; sent < allowed && ports.Next() is { } port; sent++)
                _peer.Tell(new Transmit(local, new IPEndPoint(_start.HardPublicAddress, port), Probe()));
            _pacer.Took(sent);
            if (_pacer.Exhausted) Timers.Cancel(Tick.Instance); // the deadline still waits for late answers
        });
        Receive<Inbound>(m =>
        {
            // an answer to a probe (the session sends these here): from the address probed, signed with the remote's password
            if (!m.From.Address.Equals(_start.HardPublicAddress) || !StunMessage.TryParse(m.Payload.Span, out var msg, out _)
                || msg.Class != StunClass.SuccessResponse || !_probes.Contains(msg.TransactionId.Low)
                || msg.VerifyIntegrity(_remoteKey) != StunError.None) return;
            Succeed($"a probe to {m.From} was answered; the agent checks the pair from there");
        });
        Receive<PairCheckerProtocol.PairTable>(_ => { });
        Ending();
    }

    /// <summary>The hard side: sockets opened, paced, each with one request toward the easy side's mapping, until a probe meets one.</summary>
    private void Opening(IPEndPoint target)
    {
        Receive<Tick>(_ =>
        {
            int allowed = _pacer.Allowed(Context.System.Scheduler.Now - _startedAt);
            for (int i = 0; i < allowed; i++)
            {
                var socket = Context.ActorOf(_sockets!.Create(new IPEndPoint(target.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), Self),
                    $"udp-{_socketsOpened}");
                _open[socket] = null;
                _socketsOpened++;
            }
            _pacer.Took(allowed);
            if (_pacer.Exhausted) Timers.Cancel(Tick.Instance);
        });
        Receive<UdpSocketProtocol.Bound>(m =>
        {
            if (!_open.ContainsKey(Sender)) return;
            _open[Sender] = m.LocalEndPoint;
            Sender.Tell(new UdpSocketProtocol.Send(target, Probe()));
        });
        Receive<UdpSocketProtocol.BindFailed>(_ => _open.Remove(Sender));
        Receive<UdpSocketProtocol.Received>(m =>
        {
            if (!_open.ContainsKey(Sender) || !StunMessage.TryParse(m.Payload.Span, out var msg, out _)) return;
            bool probe = msg.Class == StunClass.Request && msg.TryGetString(StunAttributeType.Username, out var username)
                && IceMessages.TryGetUsernameFragments(username, out var ours, out _) && ours == _start.Local.Ufrag
                && msg.VerifyIntegrity(_localKey) == StunError.None;
            // or the easy side's agent answered this socket's own request (its NAT let it in: it had probed this port)
            bool answered = msg.Class == StunClass.SuccessResponse && _probes.Contains(msg.TransactionId.Low) && msg.VerifyIntegrity(_remoteKey) == StunError.None;
            if (!probe && !answered) return;
            var socket = Sender;
            var candidate = new IceCandidate(Foundation, 1, CandidateTransport.Udp,
                CandidatePriority.Compute(CandidateType.Host, 65535 - 1, 1, CandidateTransport.Udp), m.Local, CandidateType.Host);
            _peer.Tell(new PortPredictionProtocol.SocketFound(m.Local, socket));
            Context.Parent.Tell(new PortPredictionProtocol.Found(candidate));
            if (probe) Context.Parent.Tell(new Inbound(candidate, m.From, m.Payload));
            foreach (var other in _open.Keys.Where(s => !s.Equals(socket)).ToList()) Context.Stop(other);
            _open.Keys.Where(s => !s.Equals(socket)).ToList().ForEach(s => _open.Remove(s));
            Succeed($"socket {m.Local} was met by {(probe ? "a probe" : "an answer")} from {m.From}");
            Become(() => Carrying(socket, candidate));
        });
        Receive<PairCheckerProtocol.PairTable>(_ => { });
        Ending();
    }

    /// <summary>The hard side's found socket carries its pair for the rest of the session.</summary>
    private void Carrying(IActorRef socket, IceCandidate candidate)
    {
        Receive<UdpSocketProtocol.Received>(_ => Sender.Equals(socket), m =>
        {
            // the remote multiplexes sessions (SessionMux): the frame names this session, and is stripped as the LocalPeer strips it
            var payload = m.Payload;
            if (SessionMux.TryReadTag(payload.Span, out uint tag))
            {
                if (tag != _start.SessionTag) return;
                payload = payload[SessionMux.HeaderLength..];
            }
            Context.Parent.Tell(new Inbound(candidate, m.From, payload));
        });
        Receive<UdpSocketProtocol.Received>(_ => { });
        Receive<UdpSocketProtocol.Bound>(_ => { });
        Receive<Tick>(_ => { });
        Receive<Deadline>(_ => { });
        Receive<PortPredictionProtocol.Stop>(_ => { }); // the socket carries the session's pair: it goes with the session
        Receive<PortPredictionProtocol.DirectPairSelected>(_ => { });
        StatsQuery();
    }

    /// <summary>Done (met or not): every extra socket is closed, only the stats are left.</summary>
    private void Ended()
    {
        Receive<PortPredictionProtocol.Stop>(_ => { });
        StatsQuery();
        ReceiveAny(_ => { });
    }

    private void Ending()
    {
        Receive<Deadline>(_ => Fail(_pacer.Exhausted
            ? $"no mapping met after {_pacer.Sent} {(_decision.Role == PredictionRole.Probe ? "probes" : "sockets")} within {_settings.MaxDuration.TotalSeconds:0.#} s"
            : $"not met within {_settings.MaxDuration.TotalSeconds:0.#} s ({_pacer.Sent} sent)"));
        Receive<PortPredictionProtocol.Stop>(m => Fail($"stopped: {m.Reason}"));
        Receive<PortPredictionProtocol.DirectPairSelected>(m =>
        {
            // the easy side whose probe's answer was lost still sees the pair its probe opened: the peer-reflexive candidate on the hard side's address
            bool ours = IsFound(m.Pair.Local)
                        || (m.Pair.Remote.Type == CandidateType.PeerReflexive && m.Pair.Remote.Address.Address.Equals(_start.HardPublicAddress));
            if (ours && _decision.Role == PredictionRole.Probe) Succeed($"the direct pair to {m.Pair.Remote.Address} it opened was selected");
            else Fail($"not needed: ICE selected the direct pair {m.Pair.Local.Address} -> {m.Pair.Remote.Address}");
        });
        StatsQuery();
    }

    private void StatsQuery() =>
        Receive<PortPredictionProtocol.GetStats>(_ => Sender.Tell(new PortPredictionProtocol.Stats(_decision.Role, _decision.Method, _socketsOpened, _open.Count,
            _pacer.Sent, _succeededAfter is not null, _succeededAfter, _outcome ?? "under way")));

    // ---- outcome ---------------------------------------------------------------------------------------------

    private void Succeed(string how)
    {
        _succeededAfter = Context.System.Scheduler.Now - _startedAt;
        _outcome = $"met after {_succeededAfter.Value.TotalMilliseconds:0} ms: {how}";
        Timers.CancelAll();
        _log.Info("[{0}] port prediction ({1}) {2}; {3}", _sessionId, _decision.Method, _outcome,
            $"{_pacer.Sent} {(_decision.Role == PredictionRole.Probe ? "probes" : "requests")} sent, {_socketsOpened} extra sockets opened");
        if (_decision.Role == PredictionRole.Probe) Become(Ended);
    }

    private void Fail(string why)
    {
        Timers.CancelAll();
        foreach (var socket in _open.Keys) Context.Stop(socket);
        _open.Clear();
        _outcome = why;
        _log.Info("[{0}] port prediction ({1}) {2}; {3}", _sessionId, _decision.Method, why,
            $"{_pacer.Sent} sent, {_socketsOpened} extra sockets opened and closed; the session goes on with what ICE found");
        Become(Ended);
    }

    // ---- the packets -----------------------------------------------------------------------------------------

    /// <summary>
    /// A Binding request with nothing but what an ICE check carries (RFC 8445 §7.1: USERNAME, PRIORITY, the role and
    /// tie-breaker, MESSAGE-INTEGRITY with the remote's password, FINGERPRINT), under a transaction id the session's
    /// answers can be told by (<see cref="IsProbeAnswer"/>).
    /// </summary>
    private byte[] Probe()
    {
        uint low;
        do low = (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue); while (!_probes.Add(low));
        var id = new TransactionId(((ulong)_start.SessionTag << 32) | ProbeMarker, low);
        uint priority = CandidatePriority.ComputePeerReflexive(65535, 1);
        Span<byte> buffer = stackalloc byte[256];
        int length = IceMessages.WriteBindingRequest(buffer, id, $"{_start.Remote.Ufrag}:{_start.Local.Ufrag}", priority,
            _start.Controlling, _start.TieBreaker, useCandidate: false, _remoteKey);
        return buffer[..length].ToArray();
    }
}
