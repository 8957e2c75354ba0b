namespace P2P.Protocol.Sctp;

/// <summary>One DATA chunk to send, as <see cref="Fragmenter"/> cut it; <see cref="UserData"/> is a slice of the caller's message.</summary>
public readonly record struct OutboundFragment(uint Tsn, ushort StreamId, ushort StreamSequence, uint PayloadProtocolId, DataChunkFlags Flags, ReadOnlyMemory<byte> UserData);

/// <summary>
/// The sender's side of RFC 9260 §6.9 and §6.6: cuts a user message into DATA chunks no larger than
/// a given user-data size, numbers them with consecutive TSNs, gives the whole message one stream
/// sequence number (ordered messages only: the SSN of unordered ones is ignored, so it is 0 and the
/// stream's counter does not move), and marks the first fragment B and the last E. It slices the
/// caller's memory instead of copying it. Not thread-safe: one association owns it.
/// </summary>
public sealed class Fragmenter
{
    /// <summary>SCTP common header plus DATA chunk header: subtract from the SCTP packet size to get the user data per chunk.</summary>
    public const int DataOverhead = SctpPacket.CommonHeaderLength + SctpPacket.ChunkHeaderLength + DataChunk.FixedLength;

    private readonly Dictionary<ushort, ushort> _nextSsn = new();

    /// <param name="initialTsn">Our Initial TSN, as sent in INIT or INIT ACK (RFC 9260 §5.1).</param>
    public Fragmenter(uint initialTsn) => NextTsn = initialTsn;

    /// <summary>The TSN the next chunk will get.</summary>
    public uint NextTsn { get; private set; }

    /// <summary>The TSN most recently assigned (RFC 6525's "sender's last assigned TSN").</summary>
    public uint LastAssignedTsn => NextTsn - 1;

    /// <summary>The largest user data per DATA chunk for an SCTP packet size (e.g. 1200 over DTLS gives 1172).</summary>
    public static int MaxUserDataFor(int sctpPacketSize) => sctpPacketSize - DataOverhead;

    public ushort NextStreamSequence(ushort streamId) => _nextSsn.GetValueOrDefault(streamId);

    /// <summary>
    /// Appends the chunks for one message to <paramref name="output"/>. An empty message is refused
    /// (<see cref="SctpError.EmptyMessage"/>): WebRTC sends one byte with an "empty" PPID instead.
    /// </summary>
    public SctpError Fragment(ushort streamId, uint ppid, ReadOnlyMemory<byte> message, bool unordered, int maxUserDataPerChunk, List<OutboundFragment> output)
    {
        if (message.IsEmpty) return SctpError.EmptyMessage;
        if (maxUserDataPerChunk <= 0) throw new ArgumentOutOfRangeException(nameof(maxUserDataPerChunk));
        ushort ssn = 0;
        if (!unordered)
        {
            ssn = _nextSsn.GetValueOrDefault(streamId);
            _nextSsn[streamId] = (ushort)(ssn + 1);
        }
        var common = unordered ? DataChunkFlags.Unordered : DataChunkFlags.None;
        for (int offset = 0; offset < message.Length; offset += maxUserDataPerChunk)
        {
            int length = Math.Min(maxUserDataPerChunk, message.Length - offset);
            var flags = common;
            if (offset == 0) flags |= DataChunkFlags.Beginning;
            if (offset + length == message.Length) flags |= DataChunkFlags.Ending;
            output.Add(new OutboundFragment(NextTsn++, streamId, ssn, ppid, flags, message.Slice(offset, length)));
        }
        return SctpError.None;
    }

    /// <summary>Restarts outgoing streams at sequence number 0 after an SSN reset (RFC 6525 §5.1.2); empty means all.</summary>
    public void ResetStreams(ReadOnlySpan<ushort> streamIds)
    {
        if (streamIds.IsEmpty) { _nextSsn.Clear(); return; }
        foreach (ushort id in streamIds) _nextSsn.Remove(id);
    }
}
