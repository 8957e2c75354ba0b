using Akka.Event;
using P2P.Protocol.Sctp;

namespace P2P.Actors.Sctp;

/// <summary>The data receiver (RFC 9260 §6.2, §6.5, §6.9) and FORWARD TSN (RFC 3758 §3.6).</summary>
public sealed partial class SctpAssociation
{
    /// <summary>Gap blocks and duplicates reported per SACK: bounded so a SACK always fits beside a little data.</summary>
    private const int MaxGapBlocks = 64, MaxDuplicatesReported = 16;

    private readonly ReassemblyQueue _reassembly;
    private readonly GapAckBlock[] _gapBlocks = new GapAckBlock[MaxGapBlocks];
    private ReceiveTracker? _receiver;
    private bool _dataInPacket;
    private bool _sackImmediately;
    private bool _sackDue;
    private int _packetsSinceSack;

    /// <summary>a_rwnd: the receive buffer less what reassembly holds (RFC 9260 §6.2).</summary>
    private int AdvertisedWindow => Math.Max(0, _reassembly.MaxBufferedBytes - _reassembly.BufferedBytes);

    private bool OnData(SctpChunk chunk)
    {
        if (!DataChunk.TryParse(chunk, out var data, out var error))
        {
            if (error == SctpError.NoUserData && IsEstablishedOrClosing)
            {
                // RFC 9260 §6.2: a DATA chunk without user data is answered with ABORT, cause "No User Data".
                AbortAssociation(SctpErrorCauseCode.NoUserData, "", "peer sent a DATA chunk without user data");
                return false;
            }
            _badPackets++;
            return false;
        }
        if (_receiver is null || _state is AssociationState.ShutdownAckSent) return true;   // not established: dropped
        _dataInPacket = true;
        _dataChunksIn++;
        uint tsn = data.Tsn;
        if (_receiver.IsReceived(tsn))
        {
            _receiver.OnDataReceived(tsn);      // recorded as a duplicate for the next SACK
            _duplicateChunksIn++;
            _sackImmediately = true;            // §6.2: duplicates are reported at once
            return true;
        }
        // No room, or a TSN too far ahead for a gap block to describe: drop without recording, the peer retransmits.
        if (data.UserData.Length > AdvertisedWindow || tsn - _receiver.CumulativeTsnAck > 65535)
        {
            _sackImmediately = true;
            return true;
        }
        _receiver.OnDataReceived(tsn);
        var result = _reassembly.Add(data);
        if (result != SctpError.None) { _badPackets++; _log.Debug("SCTP: reassembly refused TSN {0} ({1})", tsn, result); }
        if (_receiver.HasGaps) _sackImmediately = true;   // §6.7: out of order, report the gap at once
        if ((data.Flags & DataChunkFlags.Immediate) != 0) _sackImmediately = true;   // RFC 7053: the sender asked for it
        return true;
    }

    /// <summary>After a packet with DATA: deliver whole messages, then SACK now or arm the delayed SACK (RFC 9260 §6.2).</summary>
    private void AfterDataPacket()
    {
        DeliverReady();
        _packetsSinceSack++;
        if (_sackImmediately || _packetsSinceSack >= 2 || _state != AssociationState.Established) _sackDue = true;
        else if (!Timers.IsTimerActive(SackKey)) Timers.StartSingleTimer(SackKey, DelayedSackExpired.Instance, _settings.DelayedSack);
        _sackImmediately = false;
        CompleteDeferredReset();
    }

    private void WriteSack(ref SctpPacketWriter w)
    {
        _sackDue = false;
        _packetsSinceSack = 0;
        Timers.Cancel(SackKey);
        if (_receiver is null) return;
        int gaps = _receiver.GetGapAckBlocks(_gapBlocks);
        var dups = _receiver.Duplicates;
        if (dups.Length > MaxDuplicatesReported) dups = dups[..MaxDuplicatesReported];
        w.AddSack(_receiver.CumulativeTsnAck, (uint)AdvertisedWindow, _gapBlocks.AsSpan(0, gaps), dups);
        _receiver.ClearDuplicates();
    }

    private void OnForwardTsn(SctpChunk chunk)
    {
        if (!ForwardTsnChunk.TryParse(chunk, out var forward, out _)) { _badPackets++; return; }
        if (_receiver is null) return;
        if (_receiver.OnForwardTsn(forward.NewCumulativeTsn))
        {
            Span<ForwardTsnStream> streams = forward.StreamCount <= 64 ? stackalloc ForwardTsnStream[forward.StreamCount] : new ForwardTsnStream[forward.StreamCount];
            for (int i = 0; i < streams.Length; i++) streams[i] = forward.GetStream(i);
            _reassembly.OnForwardTsn(forward.NewCumulativeTsn, streams);
            DeliverReady();
            CompleteDeferredReset();
        }
        _sackDue = true;   // §3.6: answer a FORWARD TSN with a SACK
    }

    private void DeliverReady()
    {
        while (_reassembly.TryDequeue(out var message)) OnMessage(message);
    }
}
