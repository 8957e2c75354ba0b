using System.Buffers.Binary;
using Akka.Event;
using P2P.Protocol.Sctp;

namespace P2P.Actors.Sctp;

/// <summary>
/// Datagram PLPMTUD for SCTP (RFC 8899 §6.2.1): the association starts with the base packet size
/// (<see cref="SctpSettings.MaxPacketSize"/>, safe on every path) and, once established, probes larger sizes up to
/// <see cref="SctpSettings.PmtuProbeMax"/> with probe packets made of one HEARTBEAT chunk whose Heartbeat Info fills
/// the probe (not a PAD chunk: werift fails on chunk types it does not know). The peer echoes the info, so the HEARTBEAT
/// ACK is as large and the size is confirmed both ways. A HEARTBEAT ACK for a probe confirms its size, which new DATA is cut to from then on. The candidate sizes are probed at once (the path answers
/// for each); one lost <see cref="SctpSettings.PmtuMaxProbes"/> times in a row (PROBE_TIMER apart) is given up, and the
/// search is over when no candidate above the confirmed size is left. The probes are not DATA: no congestion window,
/// no retransmission, nothing counted against the association's error counter.
/// </summary>
public sealed partial class SctpAssociation
{
    private sealed record ProbeTimerExpired { public static readonly ProbeTimerExpired Instance = new(); }

    private const string ProbeKey = "pmtu-probe";

    /// <summary>Sizes tried besides <see cref="SctpSettings.PmtuProbeMax"/>: about half of it, and what a 1500-byte Ethernet MTU leaves
    /// after IPv6, UDP, a TURN ChannelData header and the DTLS record overhead (1500 - 40 - 8 - 4 - 37, rounded down to 4).</summary>
    private static readonly int[] ProbeCandidates = [8192, 1408];

    /// <summary>Heartbeat Info of a probe starts with this tag, the probed size and the search's nonce; zeros fill the rest.</summary>
    private static ReadOnlySpan<byte> ProbeTag => "PMTU"u8;

    private readonly Dictionary<int, int> _probesLost = new();   // size -> probes of it lost in a row
    private long _probeNonce;
    private int _pathMtu;
    private bool _pathMtuSearchDue;
    private long _probesSent, _probesAcked;

    /// <summary>The packet size in use: the base until a probe confirms a larger one.</summary>
    private int PathMtu => _pathMtu == 0 ? _settings.MaxPacketSize : _pathMtu;

    private void StartPathMtuSearch()
    {
        int max = _settings.PmtuProbeMax & ~3;
        if (max <= PathMtu) return;
        _probeNonce = Random.Shared.NextInt64();
        foreach (int size in ProbeCandidates.Prepend(max).Where(s => s > PathMtu && s <= max).Distinct()) _probesLost[size] = 0;
        SendProbes();
    }

    private void SendProbes()
    {
        foreach (int size in _probesLost.Keys) SendProbe(size);
        if (_probesLost.Count > 0) Timers.StartSingleTimer(ProbeKey, ProbeTimerExpired.Instance, _settings.PmtuProbeTimeout);
    }

    private void SendProbe(int size)
    {
        // The Heartbeat Info fills the probe: tag, size, nonce, then zeros (RFC 8899 §6.2.1 lets the HEARTBEAT itself pad
        // the probe; a PAD chunk would be simpler, but werift fails on any chunk type it does not know).
        int infoLength = size - SctpPacket.CommonHeaderLength - SctpPacket.ChunkHeaderLength - 4;
        var buffer = new byte[size];
        var w = new SctpPacketWriter(buffer, _settings.Port, _settings.Port, _peerTag);
        w.AddChunk(SctpChunkType.Heartbeat, 0, 0);
        var info = w.AddParameter(SctpParameterType.HeartbeatInfo, infoLength);
        ProbeTag.CopyTo(info);
        BinaryPrimitives.WriteInt32BigEndian(info[4..], size);
        BinaryPrimitives.WriteInt64BigEndian(info[8..], _probeNonce);
        _probesSent++;
        SendPacket(w.ToArray());
    }

    private void OnProbeTimerExpired()
    {
        if (!IsEstablishedOrClosing) return;
        foreach (int size in _probesLost.Keys.ToList())
            if (++_probesLost[size] >= _settings.PmtuMaxProbes) _probesLost.Remove(size);   // RFC 8899 §5.2: that size does not fit
        SendProbes();
    }

    /// <summary>A HEARTBEAT ACK whose info is a probe's: true when it was one (handled here).</summary>
    private bool OnProbeAcknowledged(ReadOnlySpan<byte> info)
    {
        if (info.Length < 16 || !info.StartsWith(ProbeTag)) return false;
        int size = BinaryPrimitives.ReadInt32BigEndian(info[4..]);
        if (BinaryPrimitives.ReadInt64BigEndian(info[8..]) != _probeNonce || !_probesLost.Remove(size)) return true;
        _probesAcked++;
        if (size > PathMtu)
        {
            _pathMtu = size;
            _maxUserDataPerChunk = Fragmenter.MaxUserDataFor(size) - SackReserve;
            if (_cc is not null) _cc.Mtu = size;
            _log.Info("SCTP: the path carries {0}-byte packets (RFC 8899 probe acknowledged); new data goes in packets of up to that size", size);
        }
        foreach (int smaller in _probesLost.Keys.Where(s => s <= size).ToList()) _probesLost.Remove(smaller);
        if (_probesLost.Count == 0) Timers.Cancel(ProbeKey);
        return true;
    }
}
