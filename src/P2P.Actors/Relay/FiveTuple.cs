using System.Net;

namespace P2P.Actors.Relay;

/// <summary>The transport between a TURN client and the server (RFC 8656 §3.1): UDP or TCP.</summary>
public enum ClientTransport
{
    Udp,
    Tcp,
}

/// <summary>
/// The 5-tuple that identifies an allocation (RFC 8656 §2, §5): client address, server address and
/// transport. For TCP the connection already is one 5-tuple.
/// </summary>
public readonly record struct FiveTuple(ClientTransport Transport, IPEndPoint Client, IPEndPoint Server)
{
    public override string ToString() => $"{Transport.ToString().ToLowerInvariant()} {Client}->{Server}";
}
