using System.Buffers.Binary;

namespace P2P.Protocol;

/// <summary>
/// Several sessions between the same two sockets (one socket per peer, many sessions) cannot be told apart by
/// address, and DTLS records or plain datagrams carry nothing that names their session. When both descriptions
/// carry a session tag (<c>a=x-p2p-session</c>, our own extension), every non-STUN datagram is sent as
/// <c>0x0E | receiver's tag (4 bytes, network order) | datagram</c>. 0x0E lies in a first-byte range that RFC 7983
/// (and RFC 9443) leave unassigned, so the frame cannot be mistaken for STUN, DTLS, TURN ChannelData or RTP.
/// Peers that do not announce a tag (other stacks, the original program) get and send plain datagrams.
/// </summary>
public static class SessionMux
{
    public const byte Marker = 0x0E;
    public const int HeaderLength = 5;

    /// <summary>A new datagram: the header for <paramref name="tag"/>, then <paramref name="payload"/>.</summary>
    public static byte[] Frame(uint tag, ReadOnlySpan<byte> payload)
    {
        var framed = new byte[HeaderLength + payload.Length];
        Write(framed, tag, payload);
        return framed;
    }

    /// <summary>Writes the frame into <paramref name="destination"/>, which holds at least <see cref="HeaderLength"/> + the payload's length.</summary>
    public static void Write(Span<byte> destination, uint tag, ReadOnlySpan<byte> payload)
    {
        destination[0] = Marker;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], tag);
        payload.CopyTo(destination[HeaderLength..]);
    }

    /// <summary>The tag of a framed datagram; false for anything else (including a frame too short for its header).</summary>
    public static bool TryReadTag(ReadOnlySpan<byte> datagram, out uint tag)
    {
        tag = 0;
        if (datagram.Length < HeaderLength || datagram[0] != Marker) return false;
        tag = BinaryPrimitives.ReadUInt32BigEndian(datagram[1..]);
        return true;
    }
}
