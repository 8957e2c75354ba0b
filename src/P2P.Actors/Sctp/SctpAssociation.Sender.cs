using System.Runtime.InteropServices;
using Akka.Actor;
using P2P.Protocol.Sctp;

namespace P2P.Actors.Sctp;

/// <summary>The data sender (RFC 9260 §6.1, §6.2.1, §6.3, §7.2) with partial reliability (RFC 3758 §3.5).</summary>
public sealed partial class SctpAssociation
{
    /// <summary>Bytes kept free in a full DATA packet so that a SACK with a gap block can ride along.</summary>
    private const int SackReserve = 32;

    /// <summary>One user message being sent: its PR-SCTP policy and its chunks (RFC 3758 §3.5 abandons whole messages).</summary>
    private sealed class OutMessage(int? maxRetransmits, DateTimeOffset? deadline)
    {
        public int? MaxRetransmits { get; } = maxRetransmits;
        public DateTimeOffset? Deadline { get; } = deadline;
        public OutChunk[] Chunks { get; set; } = [];
        public bool Abandoned { get; set; }
    }

    /// <summary>One DATA chunk of the retransmission queue.</summary>
    private sealed class OutChunk(in OutboundFragment fragment, OutMessage message)
    {
        public readonly OutboundFragment Fragment = fragment;
        public OutMessage Message { get; } = message;
        public uint Tsn => Fragment.Tsn;
        public int Length => Fragment.UserData.Length;
        public int SendCount;
        public bool InFlight;
        public bool Acked;
        public bool MarkedForRetransmit;
        public int MissIndications;
        /// <summary>When this chunk was last put on the wire, in the association's transmission count.</summary>
        public long SentAt;
    }

    private readonly Fragmenter _fragmenter;
    private int _maxUserDataPerChunk;
    private readonly List<OutboundFragment> _fragments = new();
    private readonly Queue<OutChunk> _unsent = new();
    /// <summary>Chunks sent (or abandoned unsent) and not yet covered by the cumulative ack: consecutive TSNs from <see cref="_cumAckPoint"/> + 1.</summary>
    private readonly List<OutChunk> _outstanding = new();
    private readonly List<ForwardTsnStream> _forwardStreams = new();
    private CongestionControl? _cc;
    private uint _cumAckPoint;
    private uint _advancedPeerAckPoint;
    private long _flightSize;
    private long _peerRwnd;
    private int _markedCount;
    private bool _fastRetransmitPending;
    private bool _forwardTsnDue;
    private bool _cookieAckDue;
    private long _transmissions;
    private long _latestAckedSentAt;
    private OutChunk? _rttChunk;
    private DateTimeOffset _rttSentAt;

    /// <summary>Cuts a message into chunks and queues them (TSNs are assigned now, in submission order).</summary>
    private void QueueMessage(ushort streamId, uint ppid, ReadOnlyMemory<byte> data, bool unordered, int? maxRetransmits, TimeSpan? maxLifetime)
    {
        _fragments.Clear();
        var error = _fragmenter.Fragment(streamId, ppid, data, unordered, _maxUserDataPerChunk, _fragments);
        if (error != SctpError.None) throw new InvalidOperationException($"fragmenting a checked message failed: {error}");
        var message = new OutMessage(maxRetransmits, maxLifetime is { } life ? Now + life : null);
        var chunks = new OutChunk[_fragments.Count];
        for (int i = 0; i < chunks.Length; i++)
        {
            chunks[i] = new OutChunk(_fragments[i], message);
            _unsent.Enqueue(chunks[i]);
        }
        message.Chunks = chunks;
        _messagesOut++;
    }

    /// <summary>
    /// Writes whatever is due into as few packets as possible: COOKIE ACK, SACK, FORWARD TSN and
    /// RE-CONFIG first, then chunks marked for retransmission, then new DATA as cwnd, the peer's
    /// window and Max.Burst allow (RFC 9260 §6.1).
    /// </summary>
    private void Flush()
    {
        if (_terminated) return;
        bool dataAllowed = _state is AssociationState.Established or AssociationState.ShutdownPending or AssociationState.ShutdownReceived;
        bool controlAllowed = IsEstablishedOrClosing;
        if (!controlAllowed) return;
        int newDataPackets = 0;
        bool bypassCwndOnce = _fastRetransmitPending;
        _fastRetransmitPending = false;
        var now = Now;
        while (true)
        {
            var w = NewWriter();
            bool any = false;
            if (_cookieAckDue) { w.AddCookieAck(); _cookieAckDue = false; any = true; }
            // RFC 9260 §6.2: a SACK the delayed-SACK timer holds rides with DATA going out now rather than alone later
            if (!_sackDue && dataAllowed && (_unsent.Count > 0 || _markedCount > 0) && Timers.IsTimerActive(SackKey)) _sackDue = true;
            if (_sackDue) { WriteSack(ref w); any = true; }
            if (_forwardTsnDue && dataAllowed) { WriteForwardTsn(ref w); any = true; }
            if (_reconfigDue || _reconfigResponse is not null) any |= WriteReConfig(ref w);

            bool wroteData = false;
            if (dataAllowed && _markedCount > 0)
            {
                if (bypassCwndOnce || _cc!.CanSend(_flightSize))
                {
                    bypassCwndOnce = false;
                    wroteData = WriteRetransmissions(ref w, now);
                }
            }
            else if (dataAllowed && _unsent.Count > 0 && newDataPackets < _settings.MaxBurst)
            {
                wroteData = WriteNewData(ref w, now);
                if (wroteData) newDataPackets++;
            }
            if (!any && !wroteData) break;
            SendPacket(w.ToArray());
            if (wroteData && _t3Deadline is null) RestartT3();
            // A control-only packet (e.g. a large SACK left no room) loops once more for data; control flags are cleared by now.
        }
        if (_pathMtuSearchDue)
        {
            _pathMtuSearchDue = false;
            StartPathMtuSearch();
        }
    }

    private bool WriteRetransmissions(ref SctpPacketWriter w, DateTimeOffset now)
    {
        bool wrote = false;
        foreach (var chunk in _outstanding)
        {
            if (!chunk.MarkedForRetransmit) continue;
            if (chunk.Message.Abandoned) { Unmark(chunk); continue; }
            if (w.Remaining < Fragmenter.DataOverhead - SctpPacket.CommonHeaderLength + chunk.Length + 3) break;
            // RFC 7053: a retransmission is acknowledged at once, so loss recovery never waits on a delayed SACK
            WriteData(ref w, chunk, immediate: true);
            Unmark(chunk);
            chunk.SendCount++;
            chunk.SentAt = ++_transmissions;
            chunk.MissIndications = 0;
            chunk.InFlight = true;
            _flightSize += chunk.Length;
            _peerRwnd = Math.Max(0, _peerRwnd - chunk.Length);
            _retransmissions++;
            wrote = true;
            if (_rttChunk == chunk) _rttChunk = null;   // Karn (§6.3.1 C5)
            if (!_cc!.CanSend(_flightSize)) break;
        }
        return wrote;
    }

    private void Unmark(OutChunk chunk)
    {
        if (!chunk.MarkedForRetransmit) return;
        chunk.MarkedForRetransmit = false;
        _markedCount--;
    }

    private bool WriteNewData(ref SctpPacketWriter w, DateTimeOffset now)
    {
        bool wrote = false;
        while (_unsent.TryPeek(out var chunk))
        {
            if (!chunk.Message.Abandoned && chunk.Message.Deadline is { } deadline && now > deadline) AbandonMessage(chunk.Message);
            if (chunk.Message.Abandoned)
            {
                // Its TSN is assigned: it goes to the retransmission queue as abandoned and FORWARD TSN skips it.
                _unsent.Dequeue();
                _outstanding.Add(chunk);
                continue;
            }
            if (!_cc!.CanSend(_flightSize)) break;
            // §6.1 rule A: respect the peer's window, but allow one chunk when nothing is in flight (zero-window probe).
            if (chunk.Length > _peerRwnd && _flightSize > 0) break;
            if (w.Remaining < Fragmenter.DataOverhead - SctpPacket.CommonHeaderLength + chunk.Length + 3) break;
            _unsent.Dequeue();
            // RFC 7053 §4.1: ask for an immediate SACK when this chunk is the last one queued or fills the window;
            // otherwise a small flight (after a timeout, or one chat line) would wait out the peer's delayed SACK
            bool last = _unsent.Count == 0 || !_cc.CanSend(_flightSize + chunk.Length) || _unsent.Peek().Length > _peerRwnd - chunk.Length;
            WriteData(ref w, chunk, last);
            chunk.SendCount = 1;
            chunk.SentAt = ++_transmissions;
            chunk.InFlight = true;
            _flightSize += chunk.Length;
            _peerRwnd = Math.Max(0, _peerRwnd - chunk.Length);
            _outstanding.Add(chunk);
            if (_rttChunk is null) { _rttChunk = chunk; _rttSentAt = now; }
            wrote = true;
        }
        return wrote;
    }

    private void WriteData(ref SctpPacketWriter w, OutChunk chunk, bool immediate)
    {
        var f = chunk.Fragment;
        w.AddData(immediate ? f.Flags | DataChunkFlags.Immediate : f.Flags, f.Tsn, f.StreamId, f.StreamSequence, f.PayloadProtocolId, f.UserData.Span);
        _dataChunksOut++;
    }

    // ---------------------------------------------------------------- SACK processing (RFC 9260 §6.2.1, §7.2.4)

    private void OnSack(SctpChunk chunk)
    {
        if (!SackChunk.TryParse(chunk, out var sack, out _)) { _badPackets++; return; }
        if (!IsEstablishedOrClosing) return;
        uint cum = sack.CumulativeTsnAck;
        if (SerialNumber.IsLess(cum, _cumAckPoint)) return;   // an old SACK, out of order (§6.2.1 D i)
        if (_outstanding.Count == 0 && cum != _cumAckPoint) { _badPackets++; return; }
        if (_outstanding.Count > 0 && SerialNumber.IsGreater(cum, _outstanding[^1].Tsn)) { _badPackets++; return; }   // acks what was never sent

        long flightBefore = _flightSize;
        bool advanced = SerialNumber.IsGreater(cum, _cumAckPoint);
        _latestAckedSentAt = 0;
        long newlyAcked = RemoveCumulativelyAcked(cum);

        // Gap ack blocks: offsets from the cumulative ack; _outstanding[0] now holds TSN cum + 1.
        int reported = 0;   // how far past the cumulative ack this SACK speaks (beyond it, nothing is known missing)
        for (int g = 0; g < sack.GapAckBlockCount; g++)
        {
            var block = sack.GetGapAckBlock(g);
            if (block.Start == 0 || block.End < block.Start) continue;
            reported = Math.Max(reported, block.End);
            for (int offset = block.Start; offset <= block.End && offset <= _outstanding.Count; offset++)
            {
                var c = _outstanding[offset - 1];
                if (c.Acked) continue;
                c.Acked = true;
                if (c.InFlight) { c.InFlight = false; _flightSize -= c.Length; }
                Unmark(c);
                if (!c.Message.Abandoned) newlyAcked += c.Length;
                _latestAckedSentAt = Math.Max(_latestAckedSentAt, c.SentAt);
            }
        }

        // Miss indications (§7.2.4) go to chunks still missing that went on the wire before one this SACK newly
        // acknowledges. That is the RFC's HTNA rule counted in transmission order rather than TSN order, so it also
        // covers a retransmission: a fast retransmission that is lost again is found the same way instead of waiting
        // for T3-rtx (which at 10 % loss would otherwise cost an RTO for one loss in ten).
        if (_latestAckedSentAt > 0 && reported > 0)
        {
            bool anyFast = false;
            for (int i = 0; i < reported && i < _outstanding.Count; i++)
            {
                var c = _outstanding[i];
                if (c.Acked || !c.InFlight || c.Message.Abandoned || c.SentAt >= _latestAckedSentAt) continue;
                if (++c.MissIndications < CongestionControl.FastRetransmitThreshold) continue;
                c.InFlight = false;
                _flightSize -= c.Length;
                _fastRetransmits++;
                if (!TryAbandonOnRetransmit(c)) { c.MarkedForRetransmit = true; _markedCount++; }
                anyFast = true;
            }
            if (anyFast)
            {
                _cc!.OnFastRetransmit(_outstanding[^1].Tsn);
                _fastRetransmitPending = true;
            }
        }

        _peerRwnd = Math.Max(0, (long)sack.AdvertisedReceiverWindow - _flightSize);
        if (newlyAcked > 0 || advanced) _cc!.OnSack(newlyAcked, flightBefore, advanced, cum);
        AfterAckProgress(advanced);
    }

    /// <summary>The cumulative ack from a SHUTDOWN (or a SACK): drops what it covers; returns bytes newly acked.</summary>
    private void OnCumulativeAck(uint cum, uint? aRwnd)
    {
        if (SerialNumber.IsLess(cum, _cumAckPoint) || (_outstanding.Count > 0 && SerialNumber.IsGreater(cum, _outstanding[^1].Tsn))) return;
        bool advanced = SerialNumber.IsGreater(cum, _cumAckPoint);
        long flightBefore = _flightSize;
        long newlyAcked = RemoveCumulativelyAcked(cum);
        if (aRwnd is { } rwnd) _peerRwnd = Math.Max(0, rwnd - _flightSize);
        if (newlyAcked > 0) _cc!.OnSack(newlyAcked, flightBefore, advanced, cum);
        AfterAckProgress(advanced);
    }

    private long RemoveCumulativelyAcked(uint cum)
    {
        long newlyAcked = 0;
        int n = 0;
        var now = Now;
        while (n < _outstanding.Count && SerialNumber.IsLessOrEqual(_outstanding[n].Tsn, cum))
        {
            var c = _outstanding[n++];
            if (!c.Acked && !c.Message.Abandoned) newlyAcked += c.Length;
            if (!c.Acked) _latestAckedSentAt = Math.Max(_latestAckedSentAt, c.SentAt);
            if (c.InFlight) { c.InFlight = false; _flightSize -= c.Length; }
            Unmark(c);
            if (_rttChunk == c)
            {
                if (c.SendCount == 1) _rto.OnMeasurement(now - _rttSentAt);   // §6.3.1 C5: only never-retransmitted chunks
                _rttChunk = null;
            }
        }
        if (n > 0) _outstanding.RemoveRange(0, n);
        if (SerialNumber.IsGreater(cum, _cumAckPoint)) _cumAckPoint = cum;
        if (SerialNumber.IsLess(_advancedPeerAckPoint, _cumAckPoint)) _advancedPeerAckPoint = _cumAckPoint;
        return newlyAcked;
    }

    private void AfterAckProgress(bool advanced)
    {
        if (advanced) _errorCount = 0;
        UpdateAdvancedPeerAckPoint();
        bool outstanding = _flightSize > 0 || _markedCount > 0 || SerialNumber.IsGreater(_advancedPeerAckPoint, _cumAckPoint);
        if (!outstanding) _t3Deadline = null;   // §6.3.2 R2; a timer still pending finds nothing to do
        else if (advanced) RestartT3();   // §6.3.2 R3
        CheckShutdownProgress();
    }

    // ---------------------------------------------------------------- T3-rtx (RFC 9260 §6.3.3)

    /// <summary>When T3-rtx expires; null while it is stopped.</summary>
    private DateTimeOffset? _t3Deadline;
    /// <summary>When the scheduler's timer for T3-rtx fires, if one is pending: at or before <see cref="_t3Deadline"/>.</summary>
    private DateTimeOffset _t3TimerAt;

    /// <summary>
    /// Starts or restarts T3-rtx with the current RTO (RFC 9260 §6.3.2 R1, R3). Only the deadline moves: a scheduler
    /// timer already pending that fires no later stays, and on firing arms itself again for what is left
    /// (<see cref="OnT3Timer"/>). Stopping it (R2) clears the deadline alone. So a chat line, whose SACK stops the timer
    /// it started, and the SACKs of a bulk transfer, each of which restarts it, do not each cancel one timer and
    /// schedule another: that woke the scheduler's thread about once per line, and each restart left a cancelled timer
    /// in its queue.
    /// </summary>
    private void RestartT3()
    {
        var now = Now;
        var deadline = now + _rto.Rto;
        _t3Deadline = deadline;
        if (Timers.IsTimerActive(T3Key) && _t3TimerAt <= deadline) return;
        _t3TimerAt = deadline;
        Timers.StartSingleTimer(T3Key, T3Expired.Instance, _rto.Rto);
    }

    /// <summary>The scheduler's timer fired: T3-rtx expires if its deadline has come, else the timer waits for what is left.</summary>
    private void OnT3Timer()
    {
        if (_t3Deadline is not { } deadline) return;   // stopped meanwhile
        var now = Now;
        if (now < deadline)
        {
            _t3TimerAt = deadline;
            Timers.StartSingleTimer(T3Key, T3Expired.Instance, deadline - now);
            return;
        }
        _t3Deadline = null;
        OnT3Expired();
    }

    private void OnT3Expired()
    {
        if (!IsEstablishedOrClosing || _outstanding.Count == 0) return;
        _t3Expirations++;
        if (CountError("T3-rtx expired")) return;
        _rto.Backoff();                    // E2
        _cc!.OnRetransmissionTimeout();    // E1
        MarkAllForRetransmit();            // E3
        RestartT3();   // E2's backed-off RTO
        Flush();
    }

    /// <summary>Everything outstanding is marked for retransmission (RFC 9260 §6.3.3 E3), or abandoned when its policy says so.</summary>
    private void MarkAllForRetransmit()
    {
        _rttChunk = null;
        var now = Now;
        foreach (var c in _outstanding)
        {
            if (c.Acked || c.Message.Abandoned || c.MarkedForRetransmit) continue;
            if (c.InFlight) { c.InFlight = false; _flightSize -= c.Length; }
            if (!TryAbandonOnRetransmit(c, now)) { c.MarkedForRetransmit = true; _markedCount++; }
        }
        UpdateAdvancedPeerAckPoint();
    }

    /// <summary>
    /// <see cref="SctpProtocol.PathChanged"/>: a new path under the association (ICE selected a pair again after a restart).
    /// Its RTO starts over (RFC 9260 §6.3.1 C1) and its window too (§7.2.1), and what is outstanding goes now, not when a T3-rtx
    /// doubled through the outage (§6.3.3 E2) would have fired.
    /// </summary>
    private void OnPathChanged()
    {
        if (!IsEstablishedOrClosing) return;
        _rto.Reset();
        if (_outstanding.Count == 0) return;
        _cc!.OnRetransmissionTimeout();
        MarkAllForRetransmit();
        RestartT3();
        Flush();
    }

    // ---------------------------------------------------------------- PR-SCTP (RFC 3758 §3.5)

    /// <summary>A chunk needs retransmission: abandon its message instead when its policy says so. True when abandoned.</summary>
    private bool TryAbandonOnRetransmit(OutChunk c, DateTimeOffset? now = null)
    {
        if (!_peerForwardTsn) return false;
        var m = c.Message;
        bool expired = m.Deadline is { } d && (now ?? Now) > d;
        bool exhausted = m.MaxRetransmits is { } max && c.SendCount > max;
        if (!expired && !exhausted) return false;
        AbandonMessage(m);
        return true;
    }

    private void AbandonMessage(OutMessage m)
    {
        if (m.Abandoned) return;
        m.Abandoned = true;
        _abandonedMessages++;
        foreach (var c in m.Chunks)
        {
            if (c.InFlight) { c.InFlight = false; _flightSize -= c.Length; }
            Unmark(c);
        }
    }

    /// <summary>C1/C2 of RFC 3758 §3.5: move past abandoned chunks after the cumulative ack and ask for a FORWARD TSN when that got ahead.</summary>
    private void UpdateAdvancedPeerAckPoint()
    {
        if (!_peerForwardTsn) return;
        uint point = _cumAckPoint;
        foreach (var c in _outstanding)
        {
            if (!c.Message.Abandoned) break;
            point = c.Tsn;
        }
        _advancedPeerAckPoint = point;
        if (SerialNumber.IsGreater(point, _cumAckPoint)) _forwardTsnDue = true;
    }

    private void WriteForwardTsn(ref SctpPacketWriter w)
    {
        _forwardTsnDue = false;
        if (!SerialNumber.IsGreater(_advancedPeerAckPoint, _cumAckPoint)) return;
        _forwardStreams.Clear();
        foreach (var c in _outstanding)
        {
            if (SerialNumber.IsGreater(c.Tsn, _advancedPeerAckPoint)) break;
            if ((c.Fragment.Flags & DataChunkFlags.Unordered) != 0) continue;
            // One entry per ordered stream with the highest skipped sequence number (§3.2).
            int i = _forwardStreams.FindIndex(s => s.StreamId == c.Fragment.StreamId);
            if (i < 0) _forwardStreams.Add(new ForwardTsnStream(c.Fragment.StreamId, c.Fragment.StreamSequence));
            else if (SerialNumber.IsGreater(c.Fragment.StreamSequence, _forwardStreams[i].StreamSequence))
                _forwardStreams[i] = new ForwardTsnStream(c.Fragment.StreamId, c.Fragment.StreamSequence);
        }
        w.AddForwardTsn(_advancedPeerAckPoint, CollectionsMarshal.AsSpan(_forwardStreams));
        _forwardTsnsSent++;
    }
}
