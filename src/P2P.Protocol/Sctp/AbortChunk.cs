namespace P2P.Protocol.Sctp;

/// <summary>
/// An ABORT chunk (RFC 9260 §3.3.7): the T bit says the verification tag is the receiver's own
/// (reflected) rather than the peer's; zero or more error causes follow.
/// </summary>
public readonly ref struct AbortChunk
{
    /// <summary>The T flag bit (ABORT and SHUTDOWN COMPLETE).</summary>
    public const byte TagReflectedFlag = 0x01;

    private AbortChunk(bool tagReflected, ReadOnlySpan<byte> causes)
    {
        TagReflected = tagReflected;
        CauseBytes = causes;
    }

    public bool TagReflected { get; }
    public ReadOnlySpan<byte> CauseBytes { get; }
    /// <summary>The error causes (<see cref="SctpParameter.CauseCode"/> and value each).</summary>
    public SctpParameterEnumerator Causes => new(CauseBytes);

    public static bool TryParse(SctpChunk chunk, out AbortChunk abort, out SctpError error)
    {
        abort = default;
        if (chunk.Type != SctpChunkType.Abort) { error = SctpError.WrongChunkType; return false; }
        error = SctpParameterEnumerator.Validate(chunk.Value);
        if (error != SctpError.None) return false;
        abort = new AbortChunk((chunk.Flags & TagReflectedFlag) != 0, chunk.Value);
        return true;
    }
}

/// <summary>An ERROR chunk (RFC 9260 §3.3.10): one or more error causes reporting a non-fatal condition.</summary>
public readonly ref struct ErrorChunk
{
    private ErrorChunk(ReadOnlySpan<byte> causes) => CauseBytes = causes;

    public ReadOnlySpan<byte> CauseBytes { get; }
    public SctpParameterEnumerator Causes => new(CauseBytes);

    public static bool TryParse(SctpChunk chunk, out ErrorChunk errorChunk, out SctpError error)
    {
        errorChunk = default;
        if (chunk.Type != SctpChunkType.Error) { error = SctpError.WrongChunkType; return false; }
        error = SctpParameterEnumerator.Validate(chunk.Value);
        if (error != SctpError.None) return false;
        errorChunk = new ErrorChunk(chunk.Value);
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Starts an ABORT chunk (RFC 9260 §3.3.7); add causes with <see cref="AddErrorCause"/>.</summary>
    public void BeginAbort(bool tagReflected) => AddChunk(SctpChunkType.Abort, tagReflected ? AbortChunk.TagReflectedFlag : (byte)0, 0);

    /// <summary>Starts an ERROR chunk (RFC 9260 §3.3.10); add causes with <see cref="AddErrorCause"/>.</summary>
    public void BeginError() => AddChunk(SctpChunkType.Error, 0, 0);
}
