using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>Result of a re-configuration request (RFC 6525 §4.4).</summary>
public enum ReconfigurationResult : uint
{
    SuccessNothingToDo = 0,
    SuccessPerformed = 1,
    Denied = 2,
    ErrorWrongSsn = 3,
    ErrorRequestAlreadyInProgress = 4,
    ErrorBadSequenceNumber = 5,
    InProgress = 6,
}

/// <summary>
/// A RE-CONFIG chunk (RFC 6525 §3.1): one or two re-configuration parameters. WebRTC closes a data
/// channel by resetting its stream with an Outgoing SSN Reset Request (RFC 8831 §6.7).
/// </summary>
public readonly ref struct ReConfigChunk
{
    private ReConfigChunk(ReadOnlySpan<byte> parameters) => ParameterBytes = parameters;

    public ReadOnlySpan<byte> ParameterBytes { get; }
    public SctpParameterEnumerator Parameters => new(ParameterBytes);

    public static bool TryParse(SctpChunk chunk, out ReConfigChunk reconfig, out SctpError error)
    {
        reconfig = default;
        if (chunk.Type != SctpChunkType.ReConfig) { error = SctpError.WrongChunkType; return false; }
        error = SctpParameterEnumerator.Validate(chunk.Value);
        if (error != SctpError.None) return false;
        if (chunk.Value.IsEmpty) { error = SctpError.BadChunkValue; return false; }
        reconfig = new ReConfigChunk(chunk.Value);
        return true;
    }
}

/// <summary>
/// Outgoing SSN Reset Request (RFC 6525 §4.1): the sender resets the listed outgoing streams (all
/// streams when the list is empty) once every TSN up to <see cref="SendersLastAssignedTsn"/> arrived.
/// </summary>
public readonly ref struct OutgoingSsnResetRequest
{
    private readonly ReadOnlySpan<byte> _streams;

    private OutgoingSsnResetRequest(uint request, uint response, uint lastTsn, ReadOnlySpan<byte> streams)
    {
        RequestSequence = request;
        ResponseSequence = response;
        SendersLastAssignedTsn = lastTsn;
        _streams = streams;
    }

    public uint RequestSequence { get; }
    public uint ResponseSequence { get; }
    public uint SendersLastAssignedTsn { get; }
    public int StreamCount => _streams.Length / 2;
    public ushort GetStreamId(int index) => BinaryPrimitives.ReadUInt16BigEndian(_streams[(index * 2)..]);

    public static bool TryParse(SctpParameter parameter, out OutgoingSsnResetRequest request, out SctpError error)
    {
        request = default;
        var v = parameter.Value;
        if (parameter.Type != SctpParameterType.OutgoingSsnResetRequest || v.Length < 12 || (v.Length & 1) != 0)
        {
            error = SctpError.BadParameterValue;
            return false;
        }
        request = new OutgoingSsnResetRequest(BinaryPrimitives.ReadUInt32BigEndian(v), BinaryPrimitives.ReadUInt32BigEndian(v[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(v[8..]), v[12..]);
        error = SctpError.None;
        return true;
    }
}

/// <summary>Incoming SSN Reset Request (RFC 6525 §4.2): asks the peer to reset its outgoing streams listed (or all).</summary>
public readonly ref struct IncomingSsnResetRequest
{
    private readonly ReadOnlySpan<byte> _streams;

    private IncomingSsnResetRequest(uint request, ReadOnlySpan<byte> streams)
    {
        RequestSequence = request;
        _streams = streams;
    }

    public uint RequestSequence { get; }
    public int StreamCount => _streams.Length / 2;
    public ushort GetStreamId(int index) => BinaryPrimitives.ReadUInt16BigEndian(_streams[(index * 2)..]);

    public static bool TryParse(SctpParameter parameter, out IncomingSsnResetRequest request, out SctpError error)
    {
        request = default;
        var v = parameter.Value;
        if (parameter.Type != SctpParameterType.IncomingSsnResetRequest || v.Length < 4 || (v.Length & 1) != 0)
        {
            error = SctpError.BadParameterValue;
            return false;
        }
        request = new IncomingSsnResetRequest(BinaryPrimitives.ReadUInt32BigEndian(v), v[4..]);
        error = SctpError.None;
        return true;
    }
}

/// <summary>
/// Re-configuration Response (RFC 6525 §4.4): the result for one request, with the next TSNs when
/// answering an SSN/TSN Reset Request.
/// </summary>
public readonly record struct ReconfigurationResponse(uint ResponseSequence, ReconfigurationResult Outcome, uint? SendersNextTsn = null, uint? ReceiversNextTsn = null)
{
    public static bool TryParse(SctpParameter parameter, out ReconfigurationResponse response, out SctpError error)
    {
        response = default;
        var v = parameter.Value;
        if (parameter.Type != SctpParameterType.ReconfigurationResponse || (v.Length != 8 && v.Length != 16))
        {
            error = SctpError.BadParameterValue;
            return false;
        }
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(v);
        var result = (ReconfigurationResult)BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
        response = v.Length == 16
            ? new ReconfigurationResponse(seq, result, BinaryPrimitives.ReadUInt32BigEndian(v[8..]), BinaryPrimitives.ReadUInt32BigEndian(v[12..]))
            : new ReconfigurationResponse(seq, result);
        error = SctpError.None;
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Starts a RE-CONFIG chunk (RFC 6525 §3.1); add one or two request/response parameters next.</summary>
    public void BeginReConfig() => AddChunk(SctpChunkType.ReConfig, 0, 0);

    /// <summary>Adds an Outgoing SSN Reset Request parameter (RFC 6525 §4.1).</summary>
    public void AddOutgoingSsnResetRequest(uint requestSequence, uint responseSequence, uint sendersLastAssignedTsn, scoped ReadOnlySpan<ushort> streamIds)
    {
        var v = AddParameter(SctpParameterType.OutgoingSsnResetRequest, 12 + 2 * streamIds.Length);
        BinaryPrimitives.WriteUInt32BigEndian(v, requestSequence);
        BinaryPrimitives.WriteUInt32BigEndian(v[4..], responseSequence);
        BinaryPrimitives.WriteUInt32BigEndian(v[8..], sendersLastAssignedTsn);
        for (int i = 0; i < streamIds.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(v[(12 + 2 * i)..], streamIds[i]);
    }

    /// <summary>Adds an Incoming SSN Reset Request parameter (RFC 6525 §4.2).</summary>
    public void AddIncomingSsnResetRequest(uint requestSequence, scoped ReadOnlySpan<ushort> streamIds)
    {
        var v = AddParameter(SctpParameterType.IncomingSsnResetRequest, 4 + 2 * streamIds.Length);
        BinaryPrimitives.WriteUInt32BigEndian(v, requestSequence);
        for (int i = 0; i < streamIds.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(v[(4 + 2 * i)..], streamIds[i]);
    }

    /// <summary>Adds a Re-configuration Response parameter (RFC 6525 §4.4); both next TSNs or neither.</summary>
    public void AddReconfigurationResponse(in ReconfigurationResponse response)
    {
        bool tsns = response.SendersNextTsn.HasValue && response.ReceiversNextTsn.HasValue;
        var v = AddParameter(SctpParameterType.ReconfigurationResponse, tsns ? 16 : 8);
        BinaryPrimitives.WriteUInt32BigEndian(v, response.ResponseSequence);
        BinaryPrimitives.WriteUInt32BigEndian(v[4..], (uint)response.Outcome);
        if (!tsns) return;
        BinaryPrimitives.WriteUInt32BigEndian(v[8..], response.SendersNextTsn!.Value);
        BinaryPrimitives.WriteUInt32BigEndian(v[12..], response.ReceiversNextTsn!.Value);
    }
}
