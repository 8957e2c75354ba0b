using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Sctp;
using static P2P.Protocol.Tests.Sctp.SctpTestSupport;

namespace P2P.Protocol.Tests.Sctp;

/// <summary>One chunk as a generator describes it; <see cref="Kind"/> picks the typed writer.</summary>
public sealed record ChunkSpec(int Kind, uint A, uint B, ushort C, ushort D, byte Flags, byte[] Bytes, ushort[] Shorts)
{
    public void Write(ref SctpPacketWriter w)
    {
        switch (Kind)
        {
            case 0: w.AddData((DataChunkFlags)(Flags & 0x0F), A, C, D, B, Bytes.Length == 0 ? [0] : Bytes); break;
            case 1:
                w.BeginInit((Flags & 1) != 0, A, B, C, D, A ^ B);
                w.AddStateCookie(Bytes);
                w.AddForwardTsnSupported();
                break;
            case 2:
                w.AddSack(A, B, Shorts.Chunk(2).Where(p => p.Length == 2).Select(p => new GapAckBlock(p[0], p[1])).ToArray(), Shorts.Select(s => (uint)s * 3).ToArray());
                break;
            case 3: w.AddHeartbeat((Flags & 1) != 0, Bytes); break;
            case 4:
                w.BeginAbort((Flags & 1) != 0);
                w.AddErrorCause((SctpErrorCauseCode)C, Bytes);
                break;
            case 5: w.AddShutdown(A); break;
            case 6: w.AddCookieEcho(Bytes); break;
            case 7: w.AddForwardTsn(A, Shorts.Select(s => new ForwardTsnStream(s, (ushort)(s + 1))).ToArray()); break;
            case 8:
                w.BeginReConfig();
                w.AddOutgoingSsnResetRequest(A, B, A + B, Shorts);
                break;
            default: Bytes.CopyTo(w.AddChunk((byte)(0xC0 | (Flags & 0x3F)), Flags, Bytes.Length)); break;
        }
    }

    public bool Matches(SctpChunk chunk)
    {
        switch (Kind)
        {
            case 0:
                return DataChunk.TryParse(chunk, out var d, out _) && d.Tsn == A && d.StreamId == C && d.StreamSequence == D
                    && d.PayloadProtocolId == B && (byte)d.Flags == (Flags & 0x0F) && d.UserData.SequenceEqual(Bytes.Length == 0 ? [0] : Bytes);
            case 1:
                return InitChunk.TryParse(chunk, out var i, out _) && i.IsAck == ((Flags & 1) != 0) && i.InitiateTag == A
                    && i.AdvertisedReceiverWindow == B && i.OutboundStreams == C && i.InboundStreams == D && i.InitialTsn == (A ^ B)
                    && i.TryGetStateCookie(out var cookie) && cookie.SequenceEqual(Bytes) && i.ForwardTsnSupported;
            case 2:
            {
                if (!SackChunk.TryParse(chunk, out var s, out _) || s.CumulativeTsnAck != A || s.AdvertisedReceiverWindow != B) return false;
                if (s.GapAckBlockCount != Shorts.Length / 2 || s.DuplicateTsnCount != Shorts.Length) return false;
                for (int g = 0; g < s.GapAckBlockCount; g++)
                    if (s.GetGapAckBlock(g) != new GapAckBlock(Shorts[2 * g], Shorts[2 * g + 1])) return false;
                for (int k = 0; k < Shorts.Length; k++)
                    if (s.GetDuplicateTsn(k) != (uint)Shorts[k] * 3) return false;
                return true;
            }
            case 3: return HeartbeatChunk.TryParse(chunk, out var h, out _) && h.IsAck == ((Flags & 1) != 0) && h.Info.SequenceEqual(Bytes);
            case 4:
            {
                if (!AbortChunk.TryParse(chunk, out var a, out _) || a.TagReflected != ((Flags & 1) != 0)) return false;
                var e = a.Causes;
                return e.MoveNext() && e.Current.TypeCode == C && e.Current.Value.SequenceEqual(Bytes) && !e.MoveNext();
            }
            case 5: return ShutdownChunks.TryParseShutdown(chunk, out uint cum, out _) && cum == A;
            case 6: return CookieChunks.TryParseCookieEcho(chunk, out var c, out _) && c.SequenceEqual(Bytes);
            case 7:
            {
                if (!ForwardTsnChunk.TryParse(chunk, out var f, out _) || f.NewCumulativeTsn != A || f.StreamCount != Shorts.Length) return false;
                for (int k = 0; k < Shorts.Length; k++)
                    if (f.GetStream(k) != new ForwardTsnStream(Shorts[k], (ushort)(Shorts[k] + 1))) return false;
                return true;
            }
            case 8:
            {
                if (!ReConfigChunk.TryParse(chunk, out var r, out _)) return false;
                var e = r.Parameters;
                if (!e.MoveNext() || !OutgoingSsnResetRequest.TryParse(e.Current, out var o, out _)) return false;
                if (o.RequestSequence != A || o.ResponseSequence != B || o.SendersLastAssignedTsn != A + B || o.StreamCount != Shorts.Length) return false;
                for (int k = 0; k < Shorts.Length; k++)
                    if (o.GetStreamId(k) != Shorts[k]) return false;
                return !e.MoveNext();
            }
            default:
                return chunk.TypeCode == (0xC0 | (Flags & 0x3F)) && chunk.Flags == Flags && chunk.Value.SequenceEqual(Bytes)
                    && chunk.UnrecognizedAction == SctpUnrecognizedAction.SkipAndReport;
        }
    }

    public override string ToString() => $"kind {Kind} a={A} b={B} c={C} d={D} flags={Flags} bytes={Bytes.Length} shorts={Shorts.Length}";
}

public sealed record PacketSpec(ushort Source, ushort Destination, uint Tag, ChunkSpec[] Chunks)
{
    public byte[] Encode()
    {
        var buffer = new byte[65_536];
        var w = new SctpPacketWriter(buffer, Source, Destination, Tag);
        foreach (var c in Chunks) c.Write(ref w);
        return w.ToArray();
    }

    public override string ToString() => $"{Source}->{Destination} tag {Tag}: [{string.Join("; ", Chunks.Select(c => c.ToString()))}]";
}

public static class SctpArbitraries
{
    public static Arbitrary<PacketSpec> Packets()
    {
        var u32 = ArbMap.Default.GeneratorFor<uint>();
        var u16 = ArbMap.Default.GeneratorFor<ushort>();
        var chunk =
            from kind in Gen.Choose(0, 9)
            from a in u32
            from b in u32
            from c in u16
            from d in u16
            from flags in ArbMap.Default.GeneratorFor<byte>()
            from length in Gen.Choose(0, 80)
            from bytes in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), length)
            from count in Gen.Choose(0, 9)
            from shorts in Gen.ArrayOf(u16, count)
            select new ChunkSpec(kind, a, b, c, d, flags, bytes, shorts);
        var packet =
            from source in u16
            from destination in u16
            from tag in u32
            from count in Gen.Choose(1, 6)
            from chunks in Gen.ArrayOf(chunk, count)
            select new PacketSpec(source, destination, tag, chunks);
        return packet.ToArbitrary();
    }
}

public class SctpPropertyTests
{
    [Property(Arbitrary = [typeof(SctpArbitraries)], MaxTest = 500)]
    public bool Written_packets_parse_back_to_the_same_chunks(PacketSpec spec)
    {
        byte[] bytes = spec.Encode();
        if (bytes.Length % 4 != 0) return false;
        if (SctpTestSupport.ReferencePacketChecksum(bytes) != BitConverter.ToUInt32(bytes, 8)) return false;
        if (!SctpPacket.TryParse(bytes, out var view, out var error)) throw new Exception($"parse failed: {error}");
        if (view.SourcePort != spec.Source || view.DestinationPort != spec.Destination || view.VerificationTag != spec.Tag) return false;
        if (view.ChunkCount != spec.Chunks.Length) return false;
        int k = 0;
        foreach (var chunk in view.Chunks)
            if (!spec.Chunks[k++].Matches(chunk)) return false;
        return k == spec.Chunks.Length;
    }

    [Property(MaxTest = 2000)]
    public void Arbitrary_bytes_never_throw(byte[] bytes)
    {
        ExerciseEverything(bytes);
        // Also with a valid checksum, so that the chunk parsers see the bytes.
        if (bytes.Length >= 12)
        {
            FixChecksum(bytes);
            ExerciseEverything(bytes);
        }
    }

    [Property(Arbitrary = [typeof(SctpArbitraries)], MaxTest = 500)]
    public void Corrupted_packets_with_fixed_checksums_never_throw(PacketSpec spec, int position, byte value, int cut)
    {
        byte[] bytes = spec.Encode();
        bytes[12 + (int)((uint)position % (bytes.Length - 12))] = value;
        int length = 12 + (int)((uint)cut % (bytes.Length - 11));
        var cutBytes = bytes.AsSpan(0, length).ToArray();
        FixChecksum(cutBytes);
        ExerciseEverything(cutBytes);
    }

    internal static void ExerciseEverything(byte[] bytes)
    {
        if (!SctpPacket.TryParse(bytes, out var view, out _)) return;
        _ = (view.SourcePort, view.DestinationPort, view.VerificationTag, view.Checksum);
        foreach (var chunk in view.Chunks)
        {
            _ = (chunk.IsKnown, chunk.UnrecognizedAction, chunk.Raw.Length);
            if (DataChunk.TryParse(chunk, out var d, out _)) _ = (d.Tsn, d.UserData.Length, d.Unordered);
            if (InitChunk.TryParse(chunk, out var i, out _))
            {
                i.TryGetStateCookie(out _);
                _ = (i.ForwardTsnSupported, i.HasUnknownParameter, i.SupportedExtensions.Length);
                foreach (var p in i.Parameters) _ = (p.UnrecognizedAction, p.Value.Length);
            }
            if (SackChunk.TryParse(chunk, out var s, out _))
            {
                for (int g = 0; g < s.GapAckBlockCount; g++) s.GetGapAckBlock(g);
                for (int g = 0; g < s.DuplicateTsnCount; g++) s.GetDuplicateTsn(g);
            }
            HeartbeatChunk.TryParse(chunk, out _, out _);
            if (AbortChunk.TryParse(chunk, out var a, out _)) foreach (var c in a.Causes) _ = c.CauseCode;
            if (ErrorChunk.TryParse(chunk, out var e, out _)) foreach (var c in e.Causes) _ = c.CauseCode;
            ShutdownChunks.TryParseShutdown(chunk, out _, out _);
            ShutdownChunks.TryParseShutdownComplete(chunk, out _, out _);
            CookieChunks.TryParseCookieEcho(chunk, out _, out _);
            if (ForwardTsnChunk.TryParse(chunk, out var f, out _))
                for (int g = 0; g < f.StreamCount; g++) f.GetStream(g);
            if (ReConfigChunk.TryParse(chunk, out var r, out _))
            {
                foreach (var p in r.Parameters)
                {
                    if (OutgoingSsnResetRequest.TryParse(p, out var o, out _))
                        for (int g = 0; g < o.StreamCount; g++) o.GetStreamId(g);
                    if (IncomingSsnResetRequest.TryParse(p, out var n, out _))
                        for (int g = 0; g < n.StreamCount; g++) n.GetStreamId(g);
                    ReconfigurationResponse.TryParse(p, out _, out _);
                }
            }
            if (DataChunk.TryParse(chunk, out var dcep, out _) && dcep.PayloadProtocolId == (uint)DataChannelPpid.Dcep)
                _ = dcep.UserData.Length;
        }
    }
}
