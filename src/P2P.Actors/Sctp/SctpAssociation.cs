using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;
using P2P.Protocol.Sctp;

namespace P2P.Actors.Sctp;

/// <summary>
/// One SCTP association (RFC 9260) carried over DTLS as WebRTC data channels use it (RFC 8831,
/// RFC 8261), with DCEP (RFC 8832) on top. It speaks the datagram contract with the layer below
/// (<see cref="DatagramProtocol"/>): packets arrive as Received and leave as Send told to the lower actor,
/// so this actor knows nothing of DTLS. The owner drives channels with <see cref="SctpProtocol.OpenChannel"/>,
/// <see cref="SctpProtocol.SendMessage"/> and <see cref="SctpProtocol.CloseChannel"/> and hears
/// events. One path, one destination: path and association error counters are the same.
/// <para>
/// The association is a state machine over the RFC 9260 §4 states. It is kept as an explicit state
/// field rather than <c>Become</c> behaviours because nearly every chunk is legal in several states
/// with small differences, and RFC 9260 describes it that way. The pieces are split by concern:
/// setup and teardown here, the data sender in <c>SctpAssociation.Sender.cs</c>, the data receiver
/// in <c>SctpAssociation.Receiver.cs</c>, DCEP channels and stream reset in
/// <c>SctpAssociation.Channels.cs</c>. Pure wire formats and algorithms come from
/// <c>P2P.Protocol.Sctp</c>. Received bytes never throw: bad packets are counted and dropped.
/// </para>
/// </summary>
public sealed partial class SctpAssociation : ReceiveActor, IWithTimers
{
    /// <summary>RFC 9260 §4 states.</summary>
    private enum AssociationState
    {
        Closed,
        CookieWait,
        CookieEchoed,
        Established,
        ShutdownPending,
        ShutdownSent,
        ShutdownReceived,
        ShutdownAckSent,
    }

    private sealed record T1Expired { public static readonly T1Expired Instance = new(); }
    private sealed record T2Expired { public static readonly T2Expired Instance = new(); }
    private sealed record T3Expired { public static readonly T3Expired Instance = new(); }
    private sealed record DelayedSackExpired { public static readonly DelayedSackExpired Instance = new(); }
    private sealed record HeartbeatDue { public static readonly HeartbeatDue Instance = new(); }
    private sealed record ReconfigExpired { public static readonly ReconfigExpired Instance = new(); }

    private const string T1Key = "t1", T2Key = "t2", T3Key = "t3", SackKey = "sack", HeartbeatKey = "hb", ReconfigKey = "reconfig";

    private readonly SctpSettings _settings;
    private readonly IActorRef _lower;
    private readonly IActorRef _owner;
    private readonly bool _isDtlsClient;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly byte[] _cookieKey = RandomNumberGenerator.GetBytes(32);
    private readonly uint _myTag = NonZeroRandom();
    private readonly uint _myInitialTsn = (uint)RandomNumberGenerator.GetInt32(int.MaxValue);
    // where one packet is written before it is copied out: one per thread, not one per association (16 KiB each once
    // path MTU discovery confirmed 16384-byte packets; a host holds thousands of associations, and every use is
    // synchronous within one message); Scratch gives the association's own packet size of it
    [ThreadStatic] private static byte[]? t_scratch;
    private readonly RtoCalculator _rto;

    private AssociationState _state = AssociationState.Closed;
    private bool _terminated;
    private uint _peerTag;
    private uint _peerInitialTsn;
    private uint _peerInitialRwnd;
    private bool _peerForwardTsn;
    private bool _peerReconfig;

    // setup and teardown retransmission (T1-init, T1-cookie, T2-shutdown)
    private byte[]? _t1Packet;
    private int _t1Count;
    private TimeSpan _t1Rto;
    private int _t2Count;

    // heartbeats and error counting (RFC 9260 §8.1, §8.3)
    private int _errorCount;
    private bool _heartbeatOutstanding;
    private long _heartbeatNonce;

    // counters
    private long _packetsIn, _packetsOut, _badPackets, _outOfTheBlue, _dataChunksIn, _dataChunksOut, _duplicateChunksIn,
        _retransmissions, _fastRetransmits, _t3Expirations, _abandonedMessages, _forwardTsnsSent, _dcepErrors, _messagesIn, _messagesOut;

    public ITimerScheduler Timers { get; set; } = null!;

    public SctpAssociation(SctpSettings settings, IActorRef lower, IActorRef owner, bool isDtlsClient)
    {
        settings.Validate();
        _settings = settings;
        _lower = lower;
        _owner = owner;
        _isDtlsClient = isDtlsClient;
        _rto = new RtoCalculator(settings.RtoInitial, settings.RtoMin, settings.RtoMax);
        _t1Rto = settings.RtoInitial;
        _fragmenter = new Fragmenter(_myInitialTsn);
        _cumAckPoint = _myInitialTsn - 1;
        _advancedPeerAckPoint = _cumAckPoint;
        _reassembly = new ReassemblyQueue(settings.ReceiveWindow);
        _maxUserDataPerChunk = Fragmenter.MaxUserDataFor(settings.MaxPacketSize) - SackReserve;
        _myReconfigSequence = _myInitialTsn;
        _nextStreamId = isDtlsClient ? (ushort)0 : (ushort)1;

        Receive<DatagramProtocol.Received>(m => OnInbound(m.Datagram));
        Receive<SctpProtocol.Associate>(_ => OnAssociate());
        Receive<SctpProtocol.OpenChannel>(OnOpenChannel);
        Receive<SctpProtocol.SendMessage>(OnSendMessage);
        Receive<SctpProtocol.CloseChannel>(m => OnCloseChannel(m.StreamId));
        Receive<SctpProtocol.Shutdown>(_ => OnShutdownCommand());
        Receive<SctpProtocol.PathChanged>(_ => OnPathChanged());
        Receive<SctpProtocol.Abort>(m => AbortAssociation(SctpErrorCauseCode.UserInitiatedAbort, m.Reason, $"aborted locally: {m.Reason}"));
        Receive<Supervision.InjectFault>(m => throw new Supervision.InjectedFaultException(m.Reason));
        Receive<SctpProtocol.GetStats>(_ => Sender.Tell(new SctpProtocol.Stats(_state.ToString(), _packetsIn, _packetsOut, _badPackets,
            _outOfTheBlue, _dataChunksIn, _dataChunksOut, _duplicateChunksIn, _retransmissions, _fastRetransmits, _t3Expirations,
            _abandonedMessages, _forwardTsnsSent, _dcepErrors, _messagesIn, _messagesOut, _cc?.Cwnd ?? 0, _peerRwnd, _rto.Rto)
        {
            PathMtu = PathMtu,
            ProbesSent = _probesSent,
            ProbesAcknowledged = _probesAcked,
        }));
        Receive<T1Expired>(_ => OnT1Expired());
        Receive<T2Expired>(_ => OnT2Expired());
        Receive<T3Expired>(_ => OnT3Timer());
        Receive<DelayedSackExpired>(_ => { if (_state != AssociationState.Closed) { _sackDue = true; Flush(); } });
        Receive<HeartbeatDue>(_ => OnHeartbeatDue());
        Receive<ReconfigExpired>(_ => OnReconfigExpired());
        Receive<ProbeTimerExpired>(_ => OnProbeTimerExpired());
    }

    /// <param name="settings">From <see cref="SctpSettings.From"/>; lower <c>MaxPacketSize</c> to the DTLS payload limit if needed.</param>
    /// <param name="lower">Takes every packet as <see cref="DatagramProtocol.Send"/> (a DTLS transport, which sends each as one record).</param>
    /// <param name="owner">Receives the association and channel events.</param>
    /// <param name="isDtlsClient">Picks the stream id parity of locally opened channels (RFC 8832 §6: the DTLS client uses even ids).</param>
    public static Props Props(SctpSettings settings, IActorRef lower, IActorRef owner, bool isDtlsClient) =>
        Akka.Actor.Props.Create(() => new SctpAssociation(settings, lower, owner, isDtlsClient));

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private long NowMs => Now.ToUnixTimeMilliseconds();

    private bool IsEstablishedOrClosing => _state is AssociationState.Established or AssociationState.ShutdownPending
        or AssociationState.ShutdownSent or AssociationState.ShutdownReceived or AssociationState.ShutdownAckSent;

    private static uint NonZeroRandom()
    {
        uint v;
        do v = (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue); while (v == 0);
        return v;
    }

    // ---------------------------------------------------------------- inbound dispatch (RFC 9260 §8.5)

    private void OnInbound(ReadOnlyMemory<byte> packet)
    {
        if (_terminated) return;
        _packetsIn++;
        var bytes = packet.Span;
        if (!SctpPacket.TryParse(bytes, out var view, out var error))
        {
            _badPackets++;
            _log.Debug("SCTP: dropped a bad packet of {0} bytes ({1})", bytes.Length, error);
            return;
        }
        if (view.SourcePort != _settings.Port || view.DestinationPort != _settings.Port)
        {
            _badPackets++;
            return;
        }

        var first = view.FirstChunk;
        if (first.Type == SctpChunkType.Init)
        {
            // RFC 9260 §6.10 / §8.5.1 A: INIT travels alone, with verification tag 0.
            if (view.ChunkCount != 1 || view.VerificationTag != 0) { _badPackets++; return; }
            OnInit(first);
            return;
        }
        if (first.Type == SctpChunkType.Abort)
        {
            // §8.5.1 B: our tag, or the peer's own tag when the T bit is set.
            bool reflected = (first.Flags & AbortChunk.TagReflectedFlag) != 0;
            if (view.VerificationTag != (reflected ? _peerTag : _myTag) || (reflected && _peerTag == 0)) { _outOfTheBlue++; return; }
            OnAbortReceived(first);
            return;
        }
        if (first.Type == SctpChunkType.ShutdownComplete)
        {
            bool reflected = (first.Flags & 0x01) != 0;
            if (view.VerificationTag != (reflected ? _peerTag : _myTag)) { _outOfTheBlue++; return; }
            if (_state == AssociationState.ShutdownAckSent) Terminate(null);
            return;
        }
        if (view.VerificationTag != _myTag)
        {
            // §8.5: every other packet must carry our tag; §8.4 out-of-the-blue packets are discarded.
            _outOfTheBlue++;
            return;
        }

        _dataInPacket = false;
        foreach (var chunk in view.Chunks)
        {
            if (_terminated) return;
            if (!OnChunk(chunk)) break;
        }
        if (_terminated) return;
        if (_dataInPacket) AfterDataPacket();
        Flush();
    }

    /// <summary>Handles one chunk of a packet that passed the tag check; false stops processing the packet.</summary>
    private bool OnChunk(SctpChunk chunk)
    {
        switch (chunk.Type)
        {
            case SctpChunkType.Data: return OnData(chunk);
            case SctpChunkType.Sack: OnSack(chunk); return true;
            case SctpChunkType.InitAck: OnInitAck(chunk); return false;
            case SctpChunkType.CookieEcho: OnCookieEcho(chunk); return true;
            case SctpChunkType.CookieAck: OnCookieAck(); return true;
            case SctpChunkType.Heartbeat: OnHeartbeat(chunk); return true;
            case SctpChunkType.HeartbeatAck: OnHeartbeatAck(chunk); return true;
            case SctpChunkType.Shutdown: OnShutdown(chunk); return true;
            case SctpChunkType.ShutdownAck: OnShutdownAck(); return true;
            case SctpChunkType.ForwardTsn: OnForwardTsn(chunk); return true;
            case SctpChunkType.ReConfig: OnReConfig(chunk); return true;
            case SctpChunkType.Error: OnError(chunk); return true;
            case SctpChunkType.Init or SctpChunkType.Abort or SctpChunkType.ShutdownComplete:
                _badPackets++;   // must come first and alone (§6.10)
                return false;
            default:
                // RFC 9260 §3.2: the two high bits say whether to skip an unknown chunk or stop.
                if (chunk.IsKnown) return true;
                return chunk.UnrecognizedAction is SctpUnrecognizedAction.Skip or SctpUnrecognizedAction.SkipAndReport;
        }
    }

    // ---------------------------------------------------------------- setup (RFC 9260 §5.1, §5.2)

    private void OnAssociate()
    {
        if (_state != AssociationState.Closed || _terminated) return;
        var w = new SctpPacketWriter(Scratch, _settings.Port, _settings.Port, 0);
        WriteInit(ref w, ack: false);
        _t1Packet = w.ToArray();
        _state = AssociationState.CookieWait;
        _t1Count = 0;
        _t1Rto = _settings.RtoInitial;
        SendPacket(_t1Packet);
        Timers.StartSingleTimer(T1Key, T1Expired.Instance, _t1Rto);
    }

    private void WriteInit(ref SctpPacketWriter w, bool ack)
    {
        w.BeginInit(ack, _myTag, (uint)AdvertisedWindow, _settings.Streams, _settings.Streams, _myInitialTsn);
        w.AddSupportedExtensions([SctpChunkType.ForwardTsn, SctpChunkType.ReConfig]);
        w.AddForwardTsnSupported();
    }

    private void OnInit(SctpChunk chunk)
    {
        if (!InitChunk.TryParse(chunk, out var init, out _) || init.InitiateTag == 0 || init.OutboundStreams == 0 || init.InboundStreams == 0)
        {
            _badPackets++;
            return;
        }
        if (IsEstablishedOrClosing && init.InitiateTag != _peerTag)
        {
            // §5.2.2 would restart the association; a WebRTC peer restarts with a new DTLS session instead.
            _log.Warning("SCTP: ignored an INIT with a new tag on an established association (restart is not supported)");
            _outOfTheBlue++;
            return;
        }
        // Closed: stateless INIT ACK (§5.1). COOKIE-WAIT / COOKIE-ECHOED: INIT collision, answer with our
        // original tag and keep our state (§5.2.1). Established with the known peer tag: a late duplicate.
        var cookie = StateCookie.Create(_cookieKey, new CookieContents(_myTag, init.InitiateTag, _myInitialTsn, init.InitialTsn,
            init.AdvertisedReceiverWindow, init.ForwardTsnSupported, init.SupportsExtension(SctpChunkType.ReConfig),
            NowMs, (int)_settings.CookieLifetime.TotalMilliseconds));
        var w = new SctpPacketWriter(Scratch, _settings.Port, _settings.Port, init.InitiateTag);
        WriteInit(ref w, ack: true);
        w.AddStateCookie(cookie);
        SendPacket(w.ToArray());
    }

    private void OnInitAck(SctpChunk chunk)
    {
        if (_state != AssociationState.CookieWait) return;   // §5.2.3: discard elsewhere
        if (!InitChunk.TryParse(chunk, out var init, out _) || init.InitiateTag == 0 || !init.TryGetStateCookie(out var cookie))
        {
            _badPackets++;
            return;
        }
        _peerTag = init.InitiateTag;
        _peerInitialTsn = init.InitialTsn;
        _peerInitialRwnd = init.AdvertisedReceiverWindow;
        _peerForwardTsn = init.ForwardTsnSupported;
        _peerReconfig = init.SupportsExtension(SctpChunkType.ReConfig);
        var w = new SctpPacketWriter(Scratch, _settings.Port, _settings.Port, _peerTag);
        w.AddCookieEcho(cookie);
        _t1Packet = w.ToArray();
        _state = AssociationState.CookieEchoed;
        _t1Count = 0;
        _t1Rto = _settings.RtoInitial;
        SendPacket(_t1Packet);
        Timers.StartSingleTimer(T1Key, T1Expired.Instance, _t1Rto);
    }

    private void OnCookieEcho(SctpChunk chunk)
    {
        if (!CookieChunks.TryParseCookieEcho(chunk, out var cookieBytes, out _)) { _badPackets++; return; }
        long nowMs = NowMs;
        var result = StateCookie.TryOpen(_cookieKey, cookieBytes, nowMs, out var c);
        if (result is CookieError.Malformed or CookieError.BadMac)
        {
            _badPackets++;   // §5.1.5 step 2: not ours or tampered with, silently discarded
            _log.Debug("SCTP: refused a State Cookie ({0})", result);
            return;
        }
        if (c.MyTag != _myTag) { _outOfTheBlue++; return; }   // step 3
        if (result == CookieError.Stale && !(_peerTag != 0 && c.PeerTag == _peerTag))
        {
            // Step 4 (and §5.2.4 item 3: a stale cookie whose two tags are the current association's still counts):
            // discard, and tell the peer with a "Stale Cookie" error so that it can start again (§5.2.6).
            _badPackets++;
            _log.Debug("SCTP: refused a stale State Cookie, {0} ms past its lifetime", nowMs - c.CreatedMs - c.LifetimeMs);
            SendStaleCookieError(c.PeerTag, nowMs - c.CreatedMs - c.LifetimeMs);
            return;
        }
        if (_state is AssociationState.Closed or AssociationState.CookieWait or AssociationState.CookieEchoed)
        {
            // §5.2.4 action (d) when both tags match, or a plain §5.1 D for a stateless INIT ACK.
            if (_state == AssociationState.CookieEchoed && c.PeerTag != _peerTag) { _outOfTheBlue++; return; }
            _peerTag = c.PeerTag;
            _peerInitialTsn = c.PeerInitialTsn;
            _peerInitialRwnd = c.PeerReceiveWindow;
            _peerForwardTsn = c.PeerForwardTsn;
            _peerReconfig = c.PeerReconfig;
            Establish();
        }
        else if (c.PeerTag != _peerTag)
        {
            _outOfTheBlue++;
            return;
        }
        _cookieAckDue = true;   // also re-sent for a duplicate COOKIE ECHO (its COOKIE ACK was lost)
    }

    /// <summary>An ERROR chunk with one "Stale Cookie" cause (RFC 9260 §3.3.10.3): the measure of staleness in microseconds.</summary>
    private void SendStaleCookieError(uint peerTag, long staleMs)
    {
        Span<byte> staleness = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(staleness, (uint)Math.Clamp(staleMs * 1000, 0, uint.MaxValue));
        var w = new SctpPacketWriter(Scratch, _settings.Port, _settings.Port, peerTag);
        w.BeginError();
        w.AddErrorCause(SctpErrorCauseCode.StaleCookieError, staleness);
        SendPacket(w.ToArray());
    }

    /// <summary>
    /// An ERROR chunk. A "Stale Cookie" cause in COOKIE-ECHOED means our COOKIE ECHO came too late (RFC 9260 §5.2.6):
    /// we take the first of its three choices and send a new INIT for a fresh cookie, counted as one more INIT attempt
    /// so that a peer that keeps finding our cookies stale cannot hold us in setup for ever. Other causes are only logged.
    /// </summary>
    private void OnError(SctpChunk chunk)
    {
        if (!ErrorChunk.TryParse(chunk, out var error, out _)) { _badPackets++; return; }
        foreach (var cause in error.Causes)
        {
            if (cause.CauseCode == SctpErrorCauseCode.StaleCookieError && _state == AssociationState.CookieEchoed)
            {
                RestartAfterStaleCookie();
                return;
            }
            _log.Debug("SCTP: peer sent an ERROR chunk ({0})", cause.CauseCode);
        }
    }

    private void RestartAfterStaleCookie()
    {
        if (++_t1Count > _settings.MaxInitRetransmits)
        {
            Terminate(new SctpProtocol.AssociationAborted($"association setup failed: the peer found our State Cookie stale after {_t1Count} attempts", ByPeer: false));
            return;
        }
        _log.Debug("SCTP: the peer found our State Cookie stale; sending a new INIT");
        _peerTag = 0;
        var w = new SctpPacketWriter(Scratch, _settings.Port, _settings.Port, 0);
        WriteInit(ref w, ack: false);
        _t1Packet = w.ToArray();
        _state = AssociationState.CookieWait;
        SendPacket(_t1Packet);
        Timers.StartSingleTimer(T1Key, T1Expired.Instance, _t1Rto);
    }

    private void OnCookieAck()
    {
        if (_state == AssociationState.CookieEchoed) Establish();
    }

    private void OnT1Expired()
    {
        if (_state is not (AssociationState.CookieWait or AssociationState.CookieEchoed) || _t1Packet is null) return;
        if (++_t1Count > _settings.MaxInitRetransmits)
        {
            Terminate(new SctpProtocol.AssociationAborted($"association setup timed out after {_t1Count} attempts in {_state}", ByPeer: false));
            return;
        }
        _t1Rto = _t1Rto * 2 > _settings.RtoMax ? _settings.RtoMax : _t1Rto * 2;   // §6.3.3 E2 applied to T1 (§5.1 C)
        SendPacket(_t1Packet);
        Timers.StartSingleTimer(T1Key, T1Expired.Instance, _t1Rto);
    }

    private void Establish()
    {
        Timers.Cancel(T1Key);
        _t1Packet = null;
        _state = AssociationState.Established;
        _receiver = new ReceiveTracker(_peerInitialTsn);
        _peerReconfigSequence = _peerInitialTsn;
        _peerRwnd = _peerInitialRwnd;
        _cc = new CongestionControl(_settings.MaxPacketSize, Math.Max(_peerInitialRwnd, 4L * _settings.MaxPacketSize));
        _log.Debug("SCTP: association established (tags {0:x8}/{1:x8})", _myTag, _peerTag);
        ScheduleHeartbeat();
        _owner.Tell(new SctpProtocol.AssociationEstablished(_settings.MaxMessageSize));
        TrySendReset();
        _pathMtuSearchDue = true;   // after the packet that established it (its COOKIE ACK) has gone: see Flush
    }

    // ---------------------------------------------------------------- heartbeats (RFC 9260 §8.3)

    private void ScheduleHeartbeat()
    {
        // §8.3: RTO + HB.interval, RTO jittered by ±50 %; on the grid all associations share when the window holds a point of it
        var now = Now;
        var earliest = now + _settings.HeartbeatInterval + _rto.Rto * 0.5;
        var due = P2P.Protocol.CoalescedDeadline.Pick(earliest, earliest + _rto.Rto, _settings.HeartbeatGrid, Random.Shared.NextDouble());
        Timers.StartSingleTimer(HeartbeatKey, HeartbeatDue.Instance, due - now);
    }

    private void OnHeartbeatDue()
    {
        if (!IsEstablishedOrClosing) return;
        if (_heartbeatOutstanding && CountError("heartbeat not acknowledged")) return;
        Span<byte> info = stackalloc byte[16];
        _heartbeatNonce = Random.Shared.NextInt64();
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(info, Now.UtcTicks);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(info[8..], _heartbeatNonce);
        var w = NewWriter();
        w.AddHeartbeat(false, info);
        SendPacket(w.ToArray());
        _heartbeatOutstanding = true;
        ScheduleHeartbeat();
    }

    private void OnHeartbeat(SctpChunk chunk)
    {
        if (!HeartbeatChunk.TryParse(chunk, out var hb, out _)) { _badPackets++; return; }
        // a path MTU probe's info fills a packet larger than ours: its echo gets a buffer of its size
        int echo = SctpPacket.CommonHeaderLength + SctpPacket.ChunkHeaderLength + 4 + ((hb.Info.Length + 3) & ~3);
        var w = echo > PathMtu ? new SctpPacketWriter(new byte[echo], _settings.Port, _settings.Port, _peerTag) : NewWriter();
        w.AddHeartbeat(true, hb.Info);   // §8.3: echo the info unchanged
        SendPacket(w.ToArray());
    }

    private void OnHeartbeatAck(SctpChunk chunk)
    {
        if (!HeartbeatChunk.TryParse(chunk, out var hb, out _)) { _badPackets++; return; }
        if (OnProbeAcknowledged(hb.Info)) return;
        if (hb.Info.Length != 16) { _badPackets++; return; }
        if (System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(hb.Info[8..]) != _heartbeatNonce || !_heartbeatOutstanding) return;
        _heartbeatOutstanding = false;
        _errorCount = 0;
        var rtt = Now - new DateTimeOffset(System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(hb.Info), TimeSpan.Zero);
        if (rtt >= TimeSpan.Zero) _rto.OnMeasurement(rtt);
    }

    /// <summary>Counts one path error (T3 expiry, missed heartbeat, T2 expiry); past the limit the association fails (§8.1, §8.2). True when it did.</summary>
    private bool CountError(string what)
    {
        if (++_errorCount <= _settings.PathMaxRetransmits) return false;
        AbortAssociation(SctpErrorCauseCode.ProtocolViolation, "path failed", $"path failed: {_errorCount} consecutive errors, last: {what}");
        return true;
    }

    // ---------------------------------------------------------------- shutdown (RFC 9260 §9.2)

    private void OnShutdownCommand()
    {
        switch (_state)
        {
            case AssociationState.Closed or AssociationState.CookieWait or AssociationState.CookieEchoed:
                Terminate(new SctpProtocol.AssociationAborted("shut down before the association was established", ByPeer: false));
                return;
            case AssociationState.Established:
                _state = AssociationState.ShutdownPending;
                CheckShutdownProgress();
                return;
        }
    }

    private bool AllDataAcknowledged => _unsent.Count == 0 && _outstanding.Count == 0;

    private void CheckShutdownProgress()
    {
        if (!AllDataAcknowledged) return;
        if (_state == AssociationState.ShutdownPending)
        {
            _state = AssociationState.ShutdownSent;
            _t2Count = 0;
            SendShutdownChunk();
        }
        else if (_state == AssociationState.ShutdownReceived)
        {
            _state = AssociationState.ShutdownAckSent;
            _t2Count = 0;
            SendShutdownChunk();
        }
    }

    private void SendShutdownChunk()
    {
        var w = NewWriter();
        if (_state == AssociationState.ShutdownSent) w.AddShutdown(_receiver!.CumulativeTsnAck);
        else w.AddShutdownAck();
        SendPacket(w.ToArray());
        Timers.StartSingleTimer(T2Key, T2Expired.Instance, _rto.Rto);
    }

    private void OnT2Expired()
    {
        if (_state is not (AssociationState.ShutdownSent or AssociationState.ShutdownAckSent)) return;
        if (++_t2Count > _settings.PathMaxRetransmits)
        {
            AbortAssociation(SctpErrorCauseCode.ProtocolViolation, "shutdown timed out", "shutdown not acknowledged");
            return;
        }
        _rto.Backoff();
        SendShutdownChunk();
    }

    private void OnShutdown(SctpChunk chunk)
    {
        if (!ShutdownChunks.TryParseShutdown(chunk, out uint cumulative, out _)) { _badPackets++; return; }
        if (!IsEstablishedOrClosing) return;
        OnCumulativeAck(cumulative, aRwnd: null);   // SHUTDOWN carries a cumulative TSN ack (§9.2)
        switch (_state)
        {
            case AssociationState.Established or AssociationState.ShutdownPending:
                _state = AssociationState.ShutdownReceived;
                CheckShutdownProgress();
                break;
            case AssociationState.ShutdownSent:
                // Both sides shut down at once: answer with SHUTDOWN ACK (§9.2).
                _state = AssociationState.ShutdownAckSent;
                _t2Count = 0;
                SendShutdownChunk();
                break;
        }
    }

    private void OnShutdownAck()
    {
        if (_state is not (AssociationState.ShutdownSent or AssociationState.ShutdownAckSent)) return;
        var w = NewWriter();
        w.AddShutdownComplete(false);
        SendPacket(w.ToArray());
        Terminate(null);
    }

    // ---------------------------------------------------------------- abort (RFC 9260 §9.1)

    private void OnAbortReceived(SctpChunk chunk)
    {
        if (_state == AssociationState.Closed) return;
        string reason = "peer sent ABORT";
        bool userInitiated = false;
        if (AbortChunk.TryParse(chunk, out var abort, out _))
        {
            userInitiated = true; // no cause at all: the peer's user closed (aiortc)
            foreach (var cause in abort.Causes)
            {
                userInitiated = cause.CauseCode == SctpErrorCauseCode.UserInitiatedAbort;
                reason += $" ({cause.CauseCode}{(cause.CauseCode == SctpErrorCauseCode.UserInitiatedAbort && cause.Value.Length > 0 ? ": " + System.Text.Encoding.UTF8.GetString(cause.Value) : "")})";
                break;
            }
        }
        Terminate(new SctpProtocol.AssociationAborted(reason, ByPeer: true, userInitiated));
    }

    /// <summary>Sends ABORT with one cause (when the peer's tag is known) and ends the association.</summary>
    private void AbortAssociation(SctpErrorCauseCode cause, string causeText, string reason)
    {
        if (_terminated) return;
        if (_peerTag != 0)
        {
            var w = NewWriter();
            w.BeginAbort(false);
            if (cause == SctpErrorCauseCode.UserInitiatedAbort || cause == SctpErrorCauseCode.ProtocolViolation)
                w.AddErrorCause(cause, System.Text.Encoding.UTF8.GetBytes(causeText.Length > 200 ? causeText[..200] : causeText));
            else w.AddErrorCause(cause, ReadOnlySpan<byte>.Empty);
            SendPacket(w.ToArray());
        }
        _log.Info("SCTP: {0}", reason);
        Terminate(new SctpProtocol.AssociationAborted(reason, ByPeer: false));
    }

    /// <summary>Ends the association: tells the owner (closed when <paramref name="aborted"/> is null) and stops.</summary>
    private void Terminate(SctpProtocol.AssociationAborted? aborted)
    {
        if (_terminated) return;
        _terminated = true;
        _state = AssociationState.Closed;
        Timers.CancelAll();
        _owner.Tell(aborted ?? (object)SctpProtocol.AssociationClosed.Instance);
        Context.Stop(Self);
    }

    // ---------------------------------------------------------------- packet output

    private SctpPacketWriter NewWriter() => new(Scratch, _settings.Port, _settings.Port, _peerTag);

    private Span<byte> Scratch
    {
        get
        {
            int size = PathMtu;
            var buffer = t_scratch is { } b && b.Length >= size ? b : t_scratch = new byte[size];
            return buffer.AsSpan(0, size);
        }
    }

    private void SendPacket(byte[] packet)
    {
        _packetsOut++;
        _lower.Tell(new DatagramProtocol.Send(packet), Self);
    }
}
