namespace P2P.Protocol.Sctp;

/// <summary>A whole user message rebuilt from DATA chunks, ready for the upper layer (RFC 9260 §6.9).</summary>
public sealed record SctpMessage(ushort StreamId, uint PayloadProtocolId, bool Unordered, byte[] Payload);

/// <summary>
/// Rebuilds user messages from DATA chunk fragments (RFC 9260 §6.5, §6.6, §6.9). Ordered messages
/// are rebuilt per stream and released strictly by stream sequence number; a message is whole when
/// its fragments run from a B to an E chunk over consecutive TSNs. Unordered messages (U bit) are
/// released as soon as such a run is complete. FORWARD TSN (RFC 3758 §3.6) drops abandoned partial
/// messages and moves streams past skipped sequence numbers. The bytes held (fragments plus whole
/// messages not yet taken) are bounded: a chunk that would exceed the bound is refused with
/// <see cref="SctpError.ReassemblyLimitExceeded"/> and not kept, as the peer overran the advertised
/// window. Feed it only TSNs that <see cref="ReceiveTracker"/> called new. Not thread-safe.
/// </summary>
public sealed class ReassemblyQueue
{
    private sealed class Fragment(uint tsn, DataChunkFlags flags, byte[] data)
    {
        public uint Tsn { get; } = tsn;
        public DataChunkFlags Flags { get; } = flags;
        public byte[] Data { get; } = data;
        public bool B => (Flags & DataChunkFlags.Beginning) != 0;
        public bool E => (Flags & DataChunkFlags.Ending) != 0;
    }

    private sealed class Partial(uint ppid)
    {
        public uint Ppid { get; } = ppid;
        public List<Fragment> Fragments { get; } = new();
    }

    private sealed class Stream
    {
        public ushort NextSsn;
        public readonly Dictionary<ushort, Partial> BySsn = new();
    }

    private readonly Dictionary<ushort, Stream> _streams = new();
    private readonly List<(Fragment Fragment, ushort StreamId, uint Ppid)> _unordered = new();
    private readonly Queue<SctpMessage> _ready = new();

    /// <param name="maxBufferedBytes">The most user-data bytes to hold, typically the advertised receiver window.</param>
    public ReassemblyQueue(int maxBufferedBytes) => MaxBufferedBytes = maxBufferedBytes;

    public int MaxBufferedBytes { get; }

    /// <summary>Bytes held: partial messages plus whole messages not yet dequeued. The a_rwnd to advertise is the bound minus this.</summary>
    public int BufferedBytes { get; private set; }

    /// <summary>Whole messages waiting in <see cref="TryDequeue"/>.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>The next stream sequence number expected on an ordered stream.</summary>
    public ushort ExpectedStreamSequence(ushort streamId) => _streams.TryGetValue(streamId, out var s) ? s.NextSsn : (ushort)0;

    public SctpError Add(in DataChunk chunk) =>
        Add(chunk.Flags, chunk.Tsn, chunk.StreamId, chunk.StreamSequence, chunk.PayloadProtocolId, chunk.UserData);

    /// <summary>Queues one DATA chunk's user data (copied) and releases any messages it completes.</summary>
    public SctpError Add(DataChunkFlags flags, uint tsn, ushort streamId, ushort streamSequence, uint ppid, ReadOnlySpan<byte> userData)
    {
        if (userData.IsEmpty) return SctpError.NoUserData;
        if (userData.Length > MaxBufferedBytes - BufferedBytes) return SctpError.ReassemblyLimitExceeded;
        bool b = (flags & DataChunkFlags.Beginning) != 0, e = (flags & DataChunkFlags.Ending) != 0;

        if ((flags & DataChunkFlags.Unordered) != 0)
        {
            if (b && e) return Release(new SctpMessage(streamId, ppid, true, OwnedBytes.Copy(userData)));
            var fragment = new Fragment(tsn, flags, OwnedBytes.Copy(userData));
            int at = InsertionIndex(_unordered, tsn, out bool duplicate);
            if (duplicate) return SctpError.None;
            _unordered.Insert(at, (fragment, streamId, ppid));
            BufferedBytes += userData.Length;
            return TryCompleteUnordered(at);
        }

        var stream = StreamFor(streamId);
        if (SerialNumber.IsLess(streamSequence, stream.NextSsn)) return SctpError.None;   // already delivered or skipped
        if (b && e && streamSequence == stream.NextSsn && !stream.BySsn.ContainsKey(streamSequence))
        {
            stream.NextSsn++;
            var error = Release(new SctpMessage(streamId, ppid, false, OwnedBytes.Copy(userData)));
            DeliverInOrder(streamId, stream);
            return error;
        }
        if (!stream.BySsn.TryGetValue(streamSequence, out var partial))
        {
            partial = new Partial(ppid);
            stream.BySsn.Add(streamSequence, partial);
        }
        else if (partial.Ppid != ppid) return SctpError.InconsistentFragment;
        int index = InsertionIndex(partial.Fragments, tsn, out bool dup);
        if (dup) return SctpError.None;
        partial.Fragments.Insert(index, new Fragment(tsn, flags, OwnedBytes.Copy(userData)));
        BufferedBytes += userData.Length;
        DeliverInOrder(streamId, stream);
        return SctpError.None;
    }

    /// <summary>Takes the next whole message, in release order.</summary>
    public bool TryDequeue(out SctpMessage message)
    {
        if (!_ready.TryDequeue(out message!)) return false;
        BufferedBytes -= message.Payload.Length;
        return true;
    }

    /// <summary>
    /// Applies a FORWARD TSN (RFC 3758 §3.6): drops unordered fragments and partial ordered messages
    /// with TSNs at or below <paramref name="newCumulativeTsn"/>; for each listed stream, releases the
    /// whole messages queued up to the listed sequence number and then expects the one after it.
    /// </summary>
    public void OnForwardTsn(uint newCumulativeTsn, ReadOnlySpan<ForwardTsnStream> streams)
    {
        for (int i = _unordered.Count - 1; i >= 0; i--)
        {
            if (!SerialNumber.IsLessOrEqual(_unordered[i].Fragment.Tsn, newCumulativeTsn)) continue;
            BufferedBytes -= _unordered[i].Fragment.Data.Length;
            _unordered.RemoveAt(i);
        }

        List<ushort>? doomed = null;
        foreach (var stream in _streams.Values)
        {
            foreach (var (ssn, partial) in stream.BySsn)
            {
                if (IsWhole(partial.Fragments) || !partial.Fragments.Exists(f => SerialNumber.IsLessOrEqual(f.Tsn, newCumulativeTsn))) continue;
                (doomed ??= new()).Add(ssn);
            }
            if (doomed is null) continue;
            foreach (ushort ssn in doomed) Drop(stream, ssn);
            doomed.Clear();
        }

        foreach (var skip in streams)
        {
            var stream = StreamFor(skip.StreamId);
            if (SerialNumber.IsLess(skip.StreamSequence, stream.NextSsn)) continue;
            // Release whole messages up to the skipped SSN in order, drop what cannot complete.
            while (SerialNumber.IsLessOrEqual(stream.NextSsn, skip.StreamSequence))
            {
                if (stream.BySsn.TryGetValue(stream.NextSsn, out var partial))
                {
                    if (IsWhole(partial.Fragments)) ReleaseWhole(skip.StreamId, stream, partial, stream.NextSsn);
                    else Drop(stream, stream.NextSsn);
                }
                stream.NextSsn++;
            }
            DeliverInOrder(skip.StreamId, stream);
        }
    }

    /// <summary>
    /// Resets incoming streams to sequence number 0 after an SSN reset (RFC 6525 §5.2.2), dropping
    /// what was queued for them; an empty list means every stream.
    /// </summary>
    public void ResetStreams(ReadOnlySpan<ushort> streamIds)
    {
        if (streamIds.IsEmpty)
        {
            foreach (var stream in _streams.Values) ResetStream(stream);
            return;
        }
        foreach (ushort id in streamIds)
            if (_streams.TryGetValue(id, out var stream)) ResetStream(stream);
    }

    private void ResetStream(Stream stream)
    {
        foreach (ushort ssn in stream.BySsn.Keys.ToArray()) Drop(stream, ssn);
        stream.NextSsn = 0;
    }

    private Stream StreamFor(ushort id)
    {
        if (!_streams.TryGetValue(id, out var stream)) _streams.Add(id, stream = new Stream());
        return stream;
    }

    private void DeliverInOrder(ushort streamId, Stream stream)
    {
        while (stream.BySsn.TryGetValue(stream.NextSsn, out var partial) && IsWhole(partial.Fragments))
        {
            ReleaseWhole(streamId, stream, partial, stream.NextSsn);
            stream.NextSsn++;
        }
    }

    private void ReleaseWhole(ushort streamId, Stream stream, Partial partial, ushort ssn)
    {
        stream.BySsn.Remove(ssn);
        var payload = Concatenate(partial.Fragments, 0, partial.Fragments.Count);
        _ready.Enqueue(new SctpMessage(streamId, partial.Ppid, false, payload));   // bytes move from fragments to the message
    }

    private void Drop(Stream stream, ushort ssn)
    {
        if (!stream.BySsn.Remove(ssn, out var partial)) return;
        foreach (var f in partial.Fragments) BufferedBytes -= f.Data.Length;
    }

    private SctpError Release(SctpMessage message)
    {
        _ready.Enqueue(message);
        BufferedBytes += message.Payload.Length;
        return SctpError.None;
    }

    private SctpError TryCompleteUnordered(int at)
    {
        int start = at;
        while (!_unordered[start].Fragment.B && start > 0 && Follows(_unordered[start - 1], _unordered[start]) && !_unordered[start - 1].Fragment.E) start--;
        if (!_unordered[start].Fragment.B) return SctpError.None;
        int end = at;
        while (!_unordered[end].Fragment.E && end + 1 < _unordered.Count && Follows(_unordered[end], _unordered[end + 1]) && !_unordered[end + 1].Fragment.B) end++;
        if (!_unordered[end].Fragment.E) return SctpError.None;

        var first = _unordered[start];
        for (int i = start + 1; i <= end; i++)
            if (_unordered[i].StreamId != first.StreamId || _unordered[i].Ppid != first.Ppid) return SctpError.InconsistentFragment;
        var fragments = new List<Fragment>(end - start + 1);
        for (int i = start; i <= end; i++) fragments.Add(_unordered[i].Fragment);
        _unordered.RemoveRange(start, end - start + 1);
        _ready.Enqueue(new SctpMessage(first.StreamId, first.Ppid, true, Concatenate(fragments, 0, fragments.Count)));
        return SctpError.None;

        static bool Follows((Fragment Fragment, ushort, uint) a, (Fragment Fragment, ushort, uint) b) => a.Fragment.Tsn + 1 == b.Fragment.Tsn;
    }

    /// <summary>True when the TSN-sorted fragments form exactly one message: B first, E last, consecutive TSNs, no B or E inside.</summary>
    private static bool IsWhole(List<Fragment> fragments)
    {
        if (fragments.Count == 0 || !fragments[0].B || !fragments[^1].E) return false;
        for (int i = 1; i < fragments.Count; i++)
        {
            if (fragments[i].Tsn != fragments[i - 1].Tsn + 1 || fragments[i].B || fragments[i - 1].E) return false;
        }
        return true;
    }

    private static byte[] Concatenate(List<Fragment> fragments, int start, int count)
    {
        if (count == 1) return fragments[start].Data;   // the fragment's own copy: it leaves the queue with the message
        int length = 0;
        for (int i = start; i < start + count; i++) length += fragments[i].Data.Length;
        var payload = GC.AllocateUninitializedArray<byte>(length);   // every byte is written below
        int o = 0;
        for (int i = start; i < start + count; i++)
        {
            fragments[i].Data.CopyTo(payload, o);
            o += fragments[i].Data.Length;
        }
        return payload;
    }

    private static int InsertionIndex(List<Fragment> fragments, uint tsn, out bool duplicate)
    {
        int i = fragments.Count;
        while (i > 0 && SerialNumber.IsGreaterOrEqual(fragments[i - 1].Tsn, tsn))
        {
            if (fragments[i - 1].Tsn == tsn) { duplicate = true; return i; }
            i--;
        }
        duplicate = false;
        return i;
    }

    private static int InsertionIndex(List<(Fragment Fragment, ushort StreamId, uint Ppid)> fragments, uint tsn, out bool duplicate)
    {
        int i = fragments.Count;
        while (i > 0 && SerialNumber.IsGreaterOrEqual(fragments[i - 1].Fragment.Tsn, tsn))
        {
            if (fragments[i - 1].Fragment.Tsn == tsn) { duplicate = true; return i; }
            i--;
        }
        duplicate = false;
        return i;
    }
}
