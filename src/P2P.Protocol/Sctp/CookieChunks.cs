namespace P2P.Protocol.Sctp;

/// <summary>
/// COOKIE ECHO (RFC 9260 §3.3.11) carries back the State Cookie from INIT ACK verbatim; COOKIE ACK
/// (§3.3.12) is empty.
/// </summary>
public static class CookieChunks
{
    /// <summary>Returns the cookie of a COOKIE ECHO.</summary>
    public static bool TryParseCookieEcho(SctpChunk chunk, out ReadOnlySpan<byte> cookie, out SctpError error)
    {
        cookie = default;
        if (chunk.Type != SctpChunkType.CookieEcho) { error = SctpError.WrongChunkType; return false; }
        cookie = chunk.Value;
        error = SctpError.None;
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Adds COOKIE ECHO (RFC 9260 §3.3.11).</summary>
    public void AddCookieEcho(scoped ReadOnlySpan<byte> cookie) => cookie.CopyTo(AddChunk(SctpChunkType.CookieEcho, 0, cookie.Length));

    /// <summary>Adds COOKIE ACK (RFC 9260 §3.3.12).</summary>
    public void AddCookieAck() => AddChunk(SctpChunkType.CookieAck, 0, 0);
}
