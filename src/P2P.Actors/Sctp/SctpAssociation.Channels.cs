using Akka.Event;
using Akka.Actor;
using P2P.Protocol.Sctp;

namespace P2P.Actors.Sctp;

/// <summary>Data channels: DCEP (RFC 8832), message PPIDs (RFC 8831 §6.6) and closing by stream reset (RFC 8831 §6.7, RFC 6525).</summary>
public sealed partial class SctpAssociation
{
    private sealed class Channel(ushort streamId, string label, string protocol, bool ordered, int? maxRetransmits, TimeSpan? maxLifetime, ushort priority, bool remote)
    {
        public ushort StreamId { get; } = streamId;
        public string Label { get; } = label;
        public string Protocol { get; } = protocol;
        public bool Ordered { get; } = ordered;
        public int? MaxRetransmits { get; } = maxRetransmits;
        public TimeSpan? MaxLifetime { get; } = maxLifetime;
        public ushort Priority { get; } = priority;
        public bool RemoteInitiated { get; } = remote;
        /// <summary>DATA_CHANNEL_ACK received (always true for a channel the peer opened).</summary>
        public bool Acked { get; set; } = remote;
        /// <summary>The owner was told <see cref="SctpProtocol.ChannelOpened"/>.</summary>
        public bool Reported { get; set; }
        public bool Closing { get; set; }
        public bool OutgoingReset { get; set; }
        public bool IncomingReset { get; set; }

        public SctpProtocol.ChannelOpened Opened() => new(StreamId, Label, Protocol, Ordered, MaxRetransmits, MaxLifetime, Priority, RemoteInitiated);
    }

    /// <summary>An Outgoing SSN Reset Request (RFC 6525 §4.1) sent or waiting for its response.</summary>
    private sealed record ResetRequest(uint Sequence, uint LastAssignedTsn, ushort[] Streams);

    /// <summary>A peer's request whose reset waits until the cumulative ack reaches its last assigned TSN (RFC 6525 §5.2.2).</summary>
    private sealed record DeferredReset(uint Sequence, uint LastAssignedTsn, ushort[] Streams);

    private readonly Dictionary<ushort, Channel> _channels = new();
    private readonly List<ushort> _pendingResets = new();
    private ushort _nextStreamId;
    private uint _myReconfigSequence;
    private uint _peerReconfigSequence;
    private ResetRequest? _resetInFlight;
    private bool _reconfigDue;
    private ReconfigurationResponse? _reconfigResponse;
    private ReconfigurationResponse? _lastReconfigResponse;
    private DeferredReset? _deferredReset;

    private bool AcceptsUserData => _state is AssociationState.Closed or AssociationState.CookieWait or AssociationState.CookieEchoed
        or AssociationState.Established;

    // ---------------------------------------------------------------- DCEP (RFC 8832 §6)

    private void OnOpenChannel(SctpProtocol.OpenChannel m)
    {
        string? problem = null;
        if (_terminated || !AcceptsUserData) problem = "the association is closing";
        else if (m.MaxRetransmits is not null && m.MaxLifetime is not null) problem = "set at most one of max-retransmits and max-lifetime (RFC 8831 §6.4)";
        else if (m.MaxRetransmits is < 0 || m.MaxLifetime < TimeSpan.Zero || m.MaxLifetime?.TotalMilliseconds > uint.MaxValue) problem = "reliability parameter out of range";
        else if (System.Text.Encoding.UTF8.GetByteCount(m.Label) > ushort.MaxValue || System.Text.Encoding.UTF8.GetByteCount(m.Protocol) > ushort.MaxValue) problem = "label or protocol longer than 65535 bytes";
        ushort id = 0;
        if (problem is null && !TryAllocateStream(out id)) problem = "no free stream id";
        if (problem is not null)
        {
            _owner.Tell(new SctpProtocol.ChannelOpenFailed(m.Label, problem));
            return;
        }

        var channel = new Channel(id, m.Label, m.Protocol, m.Ordered, m.MaxRetransmits, m.MaxLifetime, m.Priority, remote: false);
        _channels.Add(id, channel);
        var type = (m.MaxRetransmits, m.MaxLifetime) switch
        {
            (not null, _) => DataChannelType.PartialReliableRexmit,
            (_, not null) => DataChannelType.PartialReliableTimed,
            _ => DataChannelType.Reliable,
        };
        if (!m.Ordered) type = (DataChannelType)((byte)type | 0x80);
        uint parameter = m.MaxRetransmits is { } r ? (uint)r : m.MaxLifetime is { } l ? (uint)l.TotalMilliseconds : 0;
        var open = DataChannelOpen.ToArray(type, m.Priority, parameter, m.Label, m.Protocol);
        QueueMessage(id, (uint)DataChannelPpid.Dcep, open, unordered: false, null, null);   // DCEP goes ordered and reliable
        _owner.Tell(new SctpProtocol.ChannelOpening(id, m.Label));
        // RFC 8832 §6: once the DATA_CHANNEL_OPEN is sent, user messages may follow without waiting for the ACK (they go
        // ordered until it comes, see OnSendMessage): on an established association the channel is open for the owner
        // now, a round trip earlier. Opened before the association is up, it is reported when the ACK arrives.
        if (_state == AssociationState.Established) Report(channel);
        Flush();
    }

    /// <summary>RFC 8832 §6: the DTLS client uses even stream ids, the server odd ones.</summary>
    private bool TryAllocateStream(out ushort id)
    {
        int limit = _settings.Streams;
        for (int tries = 0; tries < limit / 2 + 1; tries++)
        {
            id = _nextStreamId;
            int next = _nextStreamId + 2;
            _nextStreamId = (ushort)(next >= limit ? (_isDtlsClient ? 0 : 1) : next);
            if (id < limit && !_channels.ContainsKey(id)) return true;
        }
        id = 0;
        return false;
    }

    private void OnSendMessage(SctpProtocol.SendMessage m)
    {
        string? problem = null;
        if (_terminated || !AcceptsUserData) problem = "the association is closing";
        else if (!_channels.TryGetValue(m.StreamId, out var ch)) problem = "no such channel";
        else if (ch.Closing) problem = "the channel is closing";
        else if (m.Data.Length > _settings.MaxMessageSize) problem = $"message of {m.Data.Length} bytes exceeds the maximum message size of {_settings.MaxMessageSize} bytes";
        if (problem is not null)
        {
            _owner.Tell(new SctpProtocol.SendFailed(m.StreamId, m.Data.Length, problem));
            return;
        }
        var channel = _channels[m.StreamId];
        uint ppid;
        ReadOnlyMemory<byte> payload = m.Data;
        if (m.Data.IsEmpty)
        {
            ppid = (uint)(m.Binary ? DataChannelPpid.BinaryEmpty : DataChannelPpid.StringEmpty);
            payload = EmptyPayload;   // RFC 8831 §6.6: one ignored byte
        }
        else ppid = (uint)(m.Binary ? DataChannelPpid.Binary : DataChannelPpid.String);
        // RFC 8832 §6: until the DATA_CHANNEL_ACK arrives, messages go ordered.
        QueueMessage(m.StreamId, ppid, payload, unordered: !channel.Ordered && channel.Acked, channel.MaxRetransmits, channel.MaxLifetime);
        Flush();
    }

    private static readonly byte[] EmptyPayload = [0];

    private void OnMessage(SctpMessage message)
    {
        _messagesIn++;
        switch ((DataChannelPpid)message.PayloadProtocolId)
        {
            case DataChannelPpid.Dcep:
                OnDcep(message);
                return;
            case DataChannelPpid.String or DataChannelPpid.Binary or DataChannelPpid.StringEmpty or DataChannelPpid.BinaryEmpty:
                break;
            default:
                _dcepErrors++;
                _log.Debug("SCTP: dropped a message with unsupported PPID {0} on stream {1}", message.PayloadProtocolId, message.StreamId);
                return;
        }
        if (!_channels.TryGetValue(message.StreamId, out var channel) || channel.IncomingReset)
        {
            _dcepErrors++;
            _log.Debug("SCTP: dropped a message on stream {0}, which has no open channel", message.StreamId);
            return;
        }
        var ppid = (DataChannelPpid)message.PayloadProtocolId;
        bool binary = ppid is DataChannelPpid.Binary or DataChannelPpid.BinaryEmpty;
        var data = ppid is DataChannelPpid.StringEmpty or DataChannelPpid.BinaryEmpty ? ReadOnlyMemory<byte>.Empty : message.Payload;
        _owner.Tell(new SctpProtocol.MessageReceived(message.StreamId, data, binary));
    }

    private void OnDcep(SctpMessage message)
    {
        var bytes = message.Payload.AsSpan();
        if (!Dcep.TryGetMessageType(bytes, out var type))
        {
            _dcepErrors++;
            _log.Warning("SCTP: ignored an unknown DCEP message on stream {0}", message.StreamId);   // RFC 8832 §5: unknown types are ignored
            return;
        }
        if (type == DcepMessageType.DataChannelAck)
        {
            if (!DataChannelAck.TryParse(bytes, out _) || !_channels.TryGetValue(message.StreamId, out var ch) || ch.Acked)
            {
                _dcepErrors++;
                _log.Warning("SCTP: ignored an unexpected DATA_CHANNEL_ACK on stream {0}", message.StreamId);
                return;
            }
            ch.Acked = true;
            if (!ch.Reported) Report(ch);
            return;
        }
        if (!DataChannelOpen.TryParse(bytes, out var open, out var error))
        {
            _dcepErrors++;
            _log.Warning("SCTP: ignored a malformed DATA_CHANNEL_OPEN on stream {0} ({1})", message.StreamId, error);
            return;
        }
        if (_channels.ContainsKey(message.StreamId))
        {
            // RFC 8832 §6: a stream already in use (both sides picked it: wrong parity) is an error; ignore it.
            _dcepErrors++;
            _log.Warning("SCTP: ignored a DATA_CHANNEL_OPEN for stream {0}, which is in use", message.StreamId);
            return;
        }
        int kind = (byte)open.ChannelType & 0x7F;
        int? maxRetransmits = kind == 1 ? (int)Math.Min(open.ReliabilityParameter, int.MaxValue) : null;
        TimeSpan? maxLifetime = kind == 2 ? TimeSpan.FromMilliseconds(open.ReliabilityParameter) : null;
        var channel = new Channel(message.StreamId, open.Label, open.Protocol, !open.Unordered, maxRetransmits, maxLifetime, open.Priority, remote: true);
        _channels.Add(message.StreamId, channel);
        QueueMessage(message.StreamId, (uint)DataChannelPpid.Dcep, AckPayload, unordered: false, null, null);
        Report(channel);
    }

    private void Report(Channel channel)
    {
        channel.Reported = true;
        _owner.Tell(channel.Opened());
    }

    private static readonly byte[] AckPayload = [(byte)DcepMessageType.DataChannelAck];

    // ---------------------------------------------------------------- closing by stream reset (RFC 8831 §6.7, RFC 6525)

    private void OnCloseChannel(ushort streamId)
    {
        if (!_channels.TryGetValue(streamId, out var channel) || channel.Closing) return;
        channel.Closing = true;
        _pendingResets.Add(streamId);
        TrySendReset();
    }

    /// <summary>Sends the next Outgoing SSN Reset Request when none is outstanding (RFC 6525 §5.1.1: one at a time).</summary>
    private void TrySendReset()
    {
        if (_resetInFlight is not null || _pendingResets.Count == 0 || _state != AssociationState.Established || _terminated) return;
        if (!_peerReconfig)
        {
            // Without RE-CONFIG support nothing can be reset: close locally.
            foreach (ushort id in _pendingResets) if (_channels.Remove(id)) _owner.Tell(new SctpProtocol.ChannelClosed(id));
            _pendingResets.Clear();
            return;
        }
        _resetInFlight = new ResetRequest(_myReconfigSequence, _fragmenter.LastAssignedTsn, _pendingResets.ToArray());
        _pendingResets.Clear();
        _reconfigDue = true;
        Timers.StartSingleTimer(ReconfigKey, ReconfigExpired.Instance, _rto.Rto);
        Flush();
    }

    private void OnReconfigExpired()
    {
        if (_resetInFlight is null || !IsEstablishedOrClosing) return;
        _reconfigDue = true;
        Timers.StartSingleTimer(ReconfigKey, ReconfigExpired.Instance, _rto.Rto);
        Flush();
    }

    /// <summary>One RE-CONFIG chunk with our request and/or our response (RFC 6525 §3.1 allows both in one chunk).</summary>
    private bool WriteReConfig(ref SctpPacketWriter w)
    {
        bool request = _reconfigDue && _resetInFlight is not null;
        _reconfigDue = false;
        if (!request && _reconfigResponse is null) return false;
        w.BeginReConfig();
        if (request)
        {
            var r = _resetInFlight!;
            w.AddOutgoingSsnResetRequest(r.Sequence, _peerReconfigSequence - 1, r.LastAssignedTsn, r.Streams);
        }
        if (_reconfigResponse is { } response)
        {
            w.AddReconfigurationResponse(response);
            _reconfigResponse = null;
        }
        return true;
    }

    private void OnReConfig(SctpChunk chunk)
    {
        if (!ReConfigChunk.TryParse(chunk, out var reconfig, out _)) { _badPackets++; return; }
        if (!IsEstablishedOrClosing) return;
        foreach (var parameter in reconfig.Parameters)
        {
            switch (parameter.Type)
            {
                case SctpParameterType.OutgoingSsnResetRequest:
                    if (OutgoingSsnResetRequest.TryParse(parameter, out var request, out _)) OnPeerResetRequest(request);
                    else _badPackets++;
                    break;
                case SctpParameterType.ReconfigurationResponse:
                    if (ReconfigurationResponse.TryParse(parameter, out var response, out _)) OnResetResponse(response);
                    else _badPackets++;
                    break;
                case SctpParameterType.IncomingSsnResetRequest:
                    if (IncomingSsnResetRequest.TryParse(parameter, out var incoming, out _)) RespondToPeer(incoming.RequestSequence, ReconfigurationResult.Denied);
                    else _badPackets++;
                    break;
                default:
                    _log.Debug("SCTP: ignored RE-CONFIG parameter {0}", parameter.TypeCode);
                    break;
            }
        }
    }

    /// <summary>The peer resets its outgoing streams, i.e. our incoming ones (RFC 6525 §5.2.2).</summary>
    private void OnPeerResetRequest(OutgoingSsnResetRequest request)
    {
        uint seq = request.RequestSequence;
        if (seq == _peerReconfigSequence - 1 && _lastReconfigResponse is { } last)
        {
            _reconfigResponse = last;   // a retransmitted request: repeat the answer (§5.2.1)
            return;
        }
        if (seq != _peerReconfigSequence)
        {
            if (_deferredReset?.Sequence != seq) RespondToPeer(seq, ReconfigurationResult.ErrorBadSequenceNumber, remember: false);
            return;
        }
        if (_deferredReset is not null) return;   // already waiting for its data
        var streams = new ushort[request.StreamCount];
        for (int i = 0; i < streams.Length; i++) streams[i] = request.GetStreamId(i);
        _deferredReset = new DeferredReset(seq, request.SendersLastAssignedTsn, streams);
        CompleteDeferredReset();
    }

    /// <summary>Performs the peer's reset once every TSN up to its last assigned one has arrived (RFC 6525 §5.2.2).</summary>
    private void CompleteDeferredReset()
    {
        if (_deferredReset is not { } reset || _receiver is null) return;
        if (SerialNumber.IsLess(_receiver.CumulativeTsnAck, reset.LastAssignedTsn)) return;
        _deferredReset = null;
        DeliverReady();
        _reassembly.ResetStreams(reset.Streams);
        _peerReconfigSequence++;
        RespondToPeer(reset.Sequence, ReconfigurationResult.SuccessPerformed);
        foreach (ushort id in reset.Streams)
        {
            if (!_channels.TryGetValue(id, out var channel)) continue;
            channel.IncomingReset = true;
            if (!channel.Closing)
            {
                // RFC 8831 §6.7: the peer closed its side; reset ours too so the stream can be reused.
                channel.Closing = true;
                _pendingResets.Add(id);
            }
            MaybeClosed(channel);
        }
        TrySendReset();
    }

    private void RespondToPeer(uint sequence, ReconfigurationResult result, bool remember = true)
    {
        var response = new ReconfigurationResponse(sequence, result);
        if (remember) _lastReconfigResponse = response;
        _reconfigResponse = response;
    }

    /// <summary>The answer to our Outgoing SSN Reset Request (RFC 6525 §5.2.7).</summary>
    private void OnResetResponse(ReconfigurationResponse response)
    {
        if (_resetInFlight is not { } request || response.ResponseSequence != request.Sequence) return;
        if (response.Outcome == ReconfigurationResult.InProgress) return;   // the timer asks again
        Timers.Cancel(ReconfigKey);
        _resetInFlight = null;
        _myReconfigSequence++;
        bool performed = response.Outcome is ReconfigurationResult.SuccessPerformed or ReconfigurationResult.SuccessNothingToDo;
        if (performed) _fragmenter.ResetStreams(request.Streams);
        else _log.Warning("SCTP: peer refused to reset streams {0} ({1}); closing them locally", string.Join(",", request.Streams), response.Outcome);
        foreach (ushort id in request.Streams)
        {
            if (!_channels.TryGetValue(id, out var channel)) continue;
            channel.OutgoingReset = true;
            if (!performed) channel.IncomingReset = true;
            MaybeClosed(channel);
        }
        TrySendReset();
    }

    private void MaybeClosed(Channel channel)
    {
        if (!channel.OutgoingReset || !channel.IncomingReset) return;
        _channels.Remove(channel.StreamId);
        _owner.Tell(new SctpProtocol.ChannelClosed(channel.StreamId));
    }
}
