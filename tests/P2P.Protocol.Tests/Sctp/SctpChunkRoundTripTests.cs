using P2P.Protocol.Sctp;
using Xunit;
using static P2P.Protocol.Tests.Sctp.SctpTestSupport;

namespace P2P.Protocol.Tests.Sctp;

public class SctpChunkRoundTripTests
{
    private readonly byte[] _buffer = new byte[2048];

    [Fact]
    public void Header_fields_round_trip()
    {
        var w = new SctpPacketWriter(_buffer, 5000, 5001, 0xA1B2C3D4);
        w.AddCookieAck();
        var view = Parse(w.ToArray());
        Assert.Equal(5000, view.SourcePort);
        Assert.Equal(5001, view.DestinationPort);
        Assert.Equal(0xA1B2C3D4u, view.VerificationTag);
        Assert.Equal(1, view.ChunkCount);
        Assert.False(view.HasUnknownChunk);
    }

    [Theory]
    [InlineData(DataChunkFlags.Complete, 1)]
    [InlineData(DataChunkFlags.Beginning | DataChunkFlags.Unordered, 3)]
    [InlineData(DataChunkFlags.Ending | DataChunkFlags.Immediate, 1200)]
    [InlineData(DataChunkFlags.None, 4)]
    public void Data_round_trips(DataChunkFlags flags, int size)
    {
        var payload = new byte[size];
        new Random(size).NextBytes(payload);
        var w = Writer(_buffer);
        w.AddData(flags, 0xFFFFFFFE, 7, 65535, (uint)DataChannelPpid.Binary, payload);
        byte[] packet = w.ToArray();
        Assert.Equal(0, packet.Length % 4);
        var view = Parse(packet);
        Assert.True(DataChunk.TryParse(view.FirstChunk, out var data, out var error), error.ToString());
        Assert.Equal(flags, data.Flags);
        Assert.Equal(0xFFFFFFFEu, data.Tsn);
        Assert.Equal(7, data.StreamId);
        Assert.Equal(65535, data.StreamSequence);
        Assert.Equal((uint)DataChannelPpid.Binary, data.PayloadProtocolId);
        Assert.Equal(payload, data.UserData.ToArray());
        Assert.Equal((flags & DataChunkFlags.Unordered) != 0, data.Unordered);
    }

    [Fact]
    public void Init_and_init_ack_round_trip_with_parameters()
    {
        byte[] cookie = [1, 2, 3, 4, 5, 6, 7];
        byte[] random = new byte[32];
        new Random(1).NextBytes(random);
        foreach (bool ack in new[] { false, true })
        {
            var w = Writer(_buffer, ack ? 0x11111111u : 0);
            w.BeginInit(ack, 0xCAFEF00D, 1_048_576, 1024, 65535, 0x7FFFFFFF);
            if (ack) w.AddStateCookie(cookie);
            w.AddParameter(SctpParameterType.Random, random);
            w.AddSupportedExtensions([SctpChunkType.ForwardTsn, SctpChunkType.ReConfig]);
            w.AddForwardTsnSupported();
            var view = Parse(w.ToArray());
            Assert.True(InitChunk.TryParse(view.FirstChunk, out var init, out var error), error.ToString());
            Assert.Equal(ack, init.IsAck);
            Assert.Equal(0xCAFEF00Du, init.InitiateTag);
            Assert.Equal(1_048_576u, init.AdvertisedReceiverWindow);
            Assert.Equal(1024, init.OutboundStreams);
            Assert.Equal(65535, init.InboundStreams);
            Assert.Equal(0x7FFFFFFFu, init.InitialTsn);
            Assert.Equal(ack, init.TryGetStateCookie(out var c));
            if (ack) Assert.Equal(cookie, c.ToArray());
            Assert.True(init.SupportsExtension(SctpChunkType.ReConfig));
            Assert.True(init.ForwardTsnSupported);
            Assert.True(init.HasUnknownParameter); // Random is AUTH's, not parsed here
            int count = 0;
            foreach (var p in init.Parameters)
            {
                if (p.Type == SctpParameterType.Random)
                {
                    Assert.Equal(random, p.Value.ToArray());
                    Assert.Equal(SctpUnrecognizedAction.Skip, p.UnrecognizedAction);
                }
                count++;
            }
            Assert.Equal(ack ? 4 : 3, count);
        }
    }

    [Fact]
    public void Init_chunk_length_excludes_only_the_last_parameters_padding()
    {
        var w = Writer(_buffer);
        w.BeginInit(false, 1, 2, 3, 4, 5);
        w.AddStateCookie([9, 9, 9]);          // 7 bytes, padded to 8 inside the chunk
        w.AddParameter((ushort)0x8123, [1]);  // 5 bytes, last: its padding is outside the length
        byte[] packet = w.ToArray();
        int chunkLength = (packet[14] << 8) | packet[15];
        Assert.Equal(4 + 16 + 8 + 5, chunkLength);
        Assert.Equal(12 + 4 + 16 + 8 + 8, packet.Length);
    }

    [Fact]
    public void Sack_round_trips()
    {
        GapAckBlock[] gaps = [new(2, 3), new(5, 5), new(7, 65535)];
        uint[] duplicates = [10, 0xFFFFFFFF];
        var w = Writer(_buffer);
        w.AddSack(0xFFFFFFF0, 65536, gaps, duplicates);
        var view = Parse(w.ToArray());
        Assert.True(SackChunk.TryParse(view.FirstChunk, out var sack, out var error), error.ToString());
        Assert.Equal(0xFFFFFFF0u, sack.CumulativeTsnAck);
        Assert.Equal(65536u, sack.AdvertisedReceiverWindow);
        var read = new GapAckBlock[sack.GapAckBlockCount];
        for (int i = 0; i < read.Length; i++) read[i] = sack.GetGapAckBlock(i);
        Assert.Equal(gaps, read);
        Assert.Equal(2, sack.DuplicateTsnCount);
        Assert.Equal(0xFFFFFFFFu, sack.GetDuplicateTsn(1));
    }

    [Fact]
    public void Heartbeat_and_ack_round_trip()
    {
        byte[] info = [1, 2, 3, 4, 5];
        foreach (bool ack in new[] { false, true })
        {
            var w = Writer(_buffer);
            w.AddHeartbeat(ack, info);
            var view = Parse(w.ToArray());
            Assert.True(HeartbeatChunk.TryParse(view.FirstChunk, out var hb, out var error), error.ToString());
            Assert.Equal(ack, hb.IsAck);
            Assert.Equal(info, hb.Info.ToArray());
        }
    }

    [Fact]
    public void Abort_with_causes_round_trips()
    {
        var w = Writer(_buffer);
        w.BeginAbort(tagReflected: true);
        w.AddErrorCause(SctpErrorCauseCode.UserInitiatedAbort, "bye"u8);
        w.AddErrorCause(SctpErrorCauseCode.ProtocolViolation, []);
        var view = Parse(w.ToArray());
        Assert.True(AbortChunk.TryParse(view.FirstChunk, out var abort, out var error), error.ToString());
        Assert.True(abort.TagReflected);
        var codes = new List<SctpErrorCauseCode>();
        foreach (var cause in abort.Causes)
        {
            codes.Add(cause.CauseCode);
            if (cause.CauseCode == SctpErrorCauseCode.UserInitiatedAbort) Assert.Equal("bye"u8.ToArray(), cause.Value.ToArray());
        }
        Assert.Equal([SctpErrorCauseCode.UserInitiatedAbort, SctpErrorCauseCode.ProtocolViolation], codes);
    }

    [Fact]
    public void Error_chunk_round_trips_an_unrecognized_chunk_cause()
    {
        byte[] unknownChunk = [0x7F, 0, 0, 4];
        var w = Writer(_buffer);
        w.BeginError();
        w.AddErrorCause(SctpErrorCauseCode.UnrecognizedChunkType, unknownChunk);
        var view = Parse(w.ToArray());
        Assert.True(ErrorChunk.TryParse(view.FirstChunk, out var chunk, out var error), error.ToString());
        var e = chunk.Causes;
        Assert.True(e.MoveNext());
        Assert.Equal(SctpErrorCauseCode.UnrecognizedChunkType, e.Current.CauseCode);
        Assert.Equal(unknownChunk, e.Current.Value.ToArray());
        Assert.False(e.MoveNext());
    }

    [Fact]
    public void Shutdown_family_round_trips_bundled()
    {
        var w = Writer(_buffer);
        w.AddShutdown(0x80000001);
        w.AddShutdownAck();
        w.AddShutdownComplete(tagReflected: true);
        var view = Parse(w.ToArray());
        Assert.Equal(3, view.ChunkCount);
        var types = new List<SctpChunkType>();
        foreach (var chunk in view.Chunks)
        {
            types.Add(chunk.Type);
            if (chunk.Type == SctpChunkType.Shutdown)
            {
                Assert.True(ShutdownChunks.TryParseShutdown(chunk, out uint cum, out _));
                Assert.Equal(0x80000001u, cum);
            }
            if (chunk.Type == SctpChunkType.ShutdownComplete)
            {
                Assert.True(ShutdownChunks.TryParseShutdownComplete(chunk, out bool t, out _));
                Assert.True(t);
            }
        }
        Assert.Equal([SctpChunkType.Shutdown, SctpChunkType.ShutdownAck, SctpChunkType.ShutdownComplete], types);
    }

    [Fact]
    public void Cookie_echo_and_ack_round_trip()
    {
        byte[] cookie = new byte[37];
        new Random(3).NextBytes(cookie);
        var w = Writer(_buffer);
        w.AddCookieEcho(cookie);
        w.AddCookieAck();
        var view = Parse(w.ToArray());
        Assert.True(CookieChunks.TryParseCookieEcho(view.FirstChunk, out var echoed, out _));
        Assert.Equal(cookie, echoed.ToArray());
        Assert.Equal(2, view.ChunkCount);
    }

    [Fact]
    public void Forward_tsn_round_trips()
    {
        ForwardTsnStream[] streams = [new(1, 10), new(65535, 0)];
        var w = Writer(_buffer);
        w.AddForwardTsn(1234, streams);
        var view = Parse(w.ToArray());
        Assert.True(ForwardTsnChunk.TryParse(view.FirstChunk, out var fwd, out var error), error.ToString());
        Assert.Equal(1234u, fwd.NewCumulativeTsn);
        Assert.Equal(2, fwd.StreamCount);
        Assert.Equal(streams[1], fwd.GetStream(1));
    }

    [Fact]
    public void ReConfig_requests_and_response_round_trip()
    {
        var w = Writer(_buffer);
        w.BeginReConfig();
        w.AddOutgoingSsnResetRequest(7, 6, 999, [1, 3, 5]);
        w.AddIncomingSsnResetRequest(8, [2]);
        w.AddChunk(SctpChunkType.ReConfig, 0, 0);
        w.AddReconfigurationResponse(new ReconfigurationResponse(6, ReconfigurationResult.SuccessPerformed));
        w.AddReconfigurationResponse(new ReconfigurationResponse(5, ReconfigurationResult.InProgress, 10, 20));
        var view = Parse(w.ToArray());
        int seen = 0;
        foreach (var chunk in view.Chunks)
        {
            Assert.True(ReConfigChunk.TryParse(chunk, out var rc, out var error), error.ToString());
            foreach (var p in rc.Parameters)
            {
                seen++;
                switch (p.Type)
                {
                    case SctpParameterType.OutgoingSsnResetRequest:
                        Assert.True(OutgoingSsnResetRequest.TryParse(p, out var o, out _));
                        Assert.Equal((7u, 6u, 999u, 3, (ushort)5), (o.RequestSequence, o.ResponseSequence, o.SendersLastAssignedTsn, o.StreamCount, o.GetStreamId(2)));
                        break;
                    case SctpParameterType.IncomingSsnResetRequest:
                        Assert.True(IncomingSsnResetRequest.TryParse(p, out var i, out _));
                        Assert.Equal((8u, 1, (ushort)2), (i.RequestSequence, i.StreamCount, i.GetStreamId(0)));
                        break;
                    case SctpParameterType.ReconfigurationResponse:
                        Assert.True(ReconfigurationResponse.TryParse(p, out var r, out _));
                        Assert.Equal(r.ResponseSequence == 6
                            ? new ReconfigurationResponse(6, ReconfigurationResult.SuccessPerformed)
                            : new ReconfigurationResponse(5, ReconfigurationResult.InProgress, 10, 20), r);
                        break;
                    default:
                        Assert.Fail($"unexpected parameter {p.Type}");
                        break;
                }
            }
        }
        Assert.Equal(4, seen);
    }

    [Fact]
    public void Unknown_chunk_types_are_reported_with_their_action()
    {
        var w = Writer(_buffer);
        w.AddChunk(0x3F, 0, 2);  // 00: stop
        w.AddChunk(0x7F, 0, 0);  // 01: stop and report
        w.AddChunk(0xBF, 0, 1);  // 10: skip
        w.AddChunk(0xFE, 0, 0);  // 11: skip and report
        var view = Parse(w.ToArray());
        Assert.True(view.HasUnknownChunk);
        var actions = new List<SctpUnrecognizedAction>();
        foreach (var chunk in view.Chunks)
        {
            Assert.False(chunk.IsKnown);
            actions.Add(chunk.UnrecognizedAction);
        }
        Assert.Equal([SctpUnrecognizedAction.Stop, SctpUnrecognizedAction.StopAndReport, SctpUnrecognizedAction.Skip, SctpUnrecognizedAction.SkipAndReport], actions);
    }

    [Fact]
    public void Typed_parsers_refuse_other_chunk_types()
    {
        var w = Writer(_buffer);
        w.AddCookieAck();
        var chunk = Parse(w.ToArray()).FirstChunk;
        Assert.False(DataChunk.TryParse(chunk, out _, out var e1));
        Assert.False(InitChunk.TryParse(chunk, out _, out var e2));
        Assert.False(SackChunk.TryParse(chunk, out _, out var e3));
        Assert.All(new[] { e1, e2, e3 }, e => Assert.Equal(SctpError.WrongChunkType, e));
    }
}
