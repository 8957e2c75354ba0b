using System.Net;
using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>
/// How an ICE agent's packets leave and arrive: through the <see cref="Sessions.Peer"/> that owns the socket
/// (and the TURN allocation, for relayed candidates). Payloads are owned by the messages.
/// </summary>
public static class IceTransportProtocol
{
    /// <summary>Send <paramref name="Payload"/> from local candidate <paramref name="Local"/> (its base: host or relayed) to <paramref name="To"/>.</summary>
    public sealed record Transmit(IceCandidate Local, IPEndPoint To, ReadOnlyMemory<byte> Payload);

    /// <summary>A packet arrived on local candidate <paramref name="Local"/> (host, or relayed when it came through the TURN server) from <paramref name="From"/>.</summary>
    public sealed record Inbound(IceCandidate Local, IPEndPoint From, ReadOnlyMemory<byte> Payload);
}
