using System.Net;
using P2P.Actors.Transport;
using P2P.Protocol.Turn;

namespace P2P.Actors.Turn;

/// <summary>Long-term credentials for a TURN server (RFC 8489 §9.2). The username is sent as given.</summary>
public sealed record TurnCredentials(string Username, string Password)
{
    public override string ToString() => $"TurnCredentials {{ Username = {Username} }}"; // never log the password
}

/// <summary>
/// How a <see cref="TurnClient"/> reaches its TURN server (RFC 8656 §3.1). Either way the relayed transport
/// address is UDP (REQUESTED-TRANSPORT 17): this is the client-to-server leg only, not a TCP allocation (RFC 6062).
/// </summary>
public enum TurnTransport
{
    /// <summary>UDP datagrams; requests are retransmitted per RTO (RFC 8489 §6.2.1).</summary>
    Udp,

    /// <summary>One TCP connection per allocation; requests are sent once and time out after Ti (RFC 8489 §6.2.2),
    /// ChannelData is padded to four bytes (RFC 8656 §12.5), and the allocation lives as long as the connection.</summary>
    Tcp,

    /// <summary>TLS over one TCP connection per allocation (RFC 8656 §3.1, RFC 8489 §6.2.3): as <see cref="Tcp"/>
    /// inside, the server's certificate checked first (<see cref="TurnServer.Tls"/>).</summary>
    Tls,
}

/// <summary>Messages of <see cref="TurnClient"/>: commands it accepts and events it tells its owner.</summary>
public static class TurnClientProtocol
{
    // ---- commands -------------------------------------------------------------------------------

    /// <summary>Install (and keep refreshing) a permission for a peer address (RFC 8656 §9). Answered with
    /// <see cref="PermissionCreated"/> or <see cref="PermissionFailed"/>.</summary>
    public sealed record CreatePermission(IPAddress Peer);

    /// <summary>Bind a channel to a peer (RFC 8656 §12), which also installs its permission. Answered with
    /// <see cref="ChannelBound"/> or <see cref="ChannelBindFailed"/>.</summary>
    public sealed record BindChannel(IPEndPoint Peer);

    /// <summary>Relay one datagram to a peer: as ChannelData when a channel to it is bound, else in a Send
    /// indication. Without a permission for the peer's address one is requested first and the datagram
    /// waits for it (bounded by <c>max-queued-per-peer</c>). The payload is owned by the message.</summary>
    public sealed record SendToPeer(IPEndPoint Peer, ReadOnlyMemory<byte> Data);

    /// <summary>Release the allocation (Refresh with LIFETIME 0, RFC 8656 §8); then <see cref="Deallocated"/> and the actor stops.</summary>
    public sealed record Deallocate
    {
        public static readonly Deallocate Instance = new();
    }

    /// <summary>
    /// Is the allocation still there? A Refresh now (RFC 8656 §8); unanswered within
    /// <see cref="TurnClientSettings.AllocationCheckTimeout"/> the allocation is lost (<see cref="AllocationLost"/>). Sent by the
    /// owner when a session's relayed path lost consent. Ignored while there is no allocation.
    /// </summary>
    public sealed record CheckAllocation
    {
        public static readonly CheckAllocation Instance = new();
    }

    /// <summary>Ask for counters; answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats
    {
        public static readonly GetStats Instance = new();
    }

    /// <param name="Malformed">Packets from the server that are neither a valid STUN message nor valid ChannelData.</param>
    /// <param name="StrayResponses">Responses that match no pending transaction (late, duplicated or forged).</param>
    /// <param name="BadIntegrity">Responses discarded because their MESSAGE-INTEGRITY did not verify (RFC 8489 §9.2.5).</param>
    /// <param name="ForeignSource">Packets handed to the allocator that did not come from its server.</param>
    /// <param name="UnknownChannel">ChannelData on a channel number that is not bound.</param>
    /// <param name="Ignored">Valid STUN messages the client has no use for (requests, unknown indications).</param>
    /// <param name="SendsDropped">Datagrams to peers not relayed: too many waited for a permission, the permission failed,
    /// the allocation was being released or had been dropped by the server, the peer is one the server could not reach
    /// (<see cref="AllocationDropped.NotRelayedTo"/>), or the datagram was larger than <see cref="TurnClient.MaxPeerData"/>.</param>
    public sealed record Stats(long Malformed, long StrayResponses, long BadIntegrity, long ForeignSource, long UnknownChannel, long Ignored, long SendsDropped);

    // ---- events (told to the owner) -------------------------------------------------------------

    /// <summary>The allocation exists: the relayed transport address (the relay candidate), the server-reflexive
    /// address the server saw (XOR-MAPPED-ADDRESS; null if the server sent none) and the granted lifetime.
    /// <paramref name="Transport"/> is how the server is reached: over <see cref="TurnTransport.Tcp"/>,
    /// <paramref name="Mapped"/> is the mapping of the TCP connection, which says nothing about UDP mappings,
    /// so it may serve as the relay candidate's related address but must not become a UDP server-reflexive candidate.</summary>
    public sealed record AllocationSucceeded(IPEndPoint Relayed, IPEndPoint? Mapped, TimeSpan Lifetime, TurnTransport Transport = TurnTransport.Udp);

    /// <summary>No allocation could be made; <paramref name="Reason"/> is for the user, <paramref name="Code"/> is the
    /// STUN error code when the server gave one. The actor stops itself after telling this.</summary>
    public sealed record AllocationFailed(string Reason, int? Code);

    /// <summary>
    /// The server answered the Allocate with 300 Try Alternate (RFC 8489 §10): the allocator now asks
    /// <paramref name="To"/>, over the same transport. Over the owner's UDP socket the owner forwards <paramref name="To"/>'s
    /// packets from now on (this is told before the first request goes there); the allocation that follows is on <paramref name="To"/>.
    /// </summary>
    public sealed record AllocationRedirected(IPEndPoint From, IPEndPoint To);

    /// <summary>A Refresh succeeded; the allocation now lives <paramref name="Lifetime"/> from now.</summary>
    public sealed record AllocationRefreshed(TimeSpan Lifetime);

    /// <summary>The allocation is gone or could not be refreshed; over TCP also when the connection to the server is
    /// lost ("TURN server … closed the TCP connection"), as the allocation lives with its connection (RFC 8656 §3.1).
    /// The actor stops itself after telling this.</summary>
    public sealed record AllocationLost(string Reason, int? Code);

    /// <summary>
    /// The TURN server dropped the allocation: it answered a request for it (Refresh, CreatePermission, ChannelBind)
    /// with 437 Allocation Mismatch, or with 400 right after a 438 Stale Nonce (coturn closes an allocation whose
    /// relayed send to a peer failed, and then takes the client's next request as one from a new client). The
    /// allocator does not stop: it allocates again (RFC 8656 §7, §9) and then tells <see cref="AllocationSucceeded"/>
    /// with the new relayed address (the old one is gone), or <see cref="AllocationLost"/>. Peers in
    /// <paramref name="NotRelayedTo"/> (private addresses that were sent data but never answered before the drop: what
    /// a server on the Internet cannot reach) get no more data through this allocator, so the new allocation is not
    /// dropped the same way.
    /// </summary>
    public sealed record AllocationDropped(IPEndPoint Relayed, string Reason, int? Code, IReadOnlyList<IPEndPoint> NotRelayedTo);

    /// <summary>The allocation was released after <see cref="Deallocate"/>; the actor stops itself after telling this.</summary>
    public sealed record Deallocated
    {
        public static readonly Deallocated Instance = new();
    }

    public sealed record PermissionCreated(IPAddress Peer);

    /// <summary>A permission could not be created or refreshed; datagrams waiting for it are dropped.</summary>
    public sealed record PermissionFailed(IPAddress Peer, string Reason, int? Code);

    public sealed record ChannelBound(IPEndPoint Peer, ushort Channel);

    /// <summary>A channel could not be bound or refreshed; sends to the peer fall back to Send indications.</summary>
    public sealed record ChannelBindFailed(IPEndPoint Peer, string Reason, int? Code);

    /// <summary>
    /// To an owner that asked for it (<c>publishChannels</c>, the LocalPeer): the allocation's channels whenever they change,
    /// so that the owner can write and read ChannelData on the shared UDP socket itself, without a hop through the
    /// allocator for every datagram. <paramref name="ByPeer"/> holds the channels bound now (data to those peers may go
    /// as ChannelData); <paramref name="ByNumber"/> every number ever given to a peer on this allocation (ChannelData
    /// from the server on it names that peer). Anything else still goes through the allocator. Empty once the
    /// allocation is being released.
    /// </summary>
    public sealed record ChannelsChanged(IReadOnlyDictionary<IPEndPoint, ushort> ByPeer, IReadOnlyDictionary<ushort, IPEndPoint> ByNumber)
    {
        public static readonly ChannelsChanged None = new(new Dictionary<IPEndPoint, ushort>(), new Dictionary<ushort, IPEndPoint>());

        /// <summary>
        /// <paramref name="payload"/> to <paramref name="peer"/> as the ChannelData datagram to write to the server (RFC 8656
        /// §12.5, over UDP: unpadded); null when no channel is bound to that peer or the payload is too large for one.
        /// </summary>
        public byte[]? Frame(IPEndPoint peer, ReadOnlySpan<byte> payload)
        {
            if (!ByPeer.TryGetValue(EndPoints.Unmapped(peer), out ushort number) || payload.Length > TurnClient.MaxPeerData) return null;
            return ChannelData.Encode(number, payload, padForStream: false);
        }

        /// <summary>A datagram from the server that is ChannelData on a number given to a peer: that peer, and its data as a slice of the datagram.</summary>
        public bool TryRead(ReadOnlyMemory<byte> datagram, out IPEndPoint peer, out ReadOnlyMemory<byte> data)
        {
            peer = null!;
            data = default;
            var packet = datagram.Span;
            if (!ChannelData.LooksLikeChannelData(packet) || !ChannelData.TryParse(packet, out ushort number, out var payload, out _)
                || !ByNumber.TryGetValue(number, out var known)) return false;
            peer = known;
            data = datagram.Slice(ChannelData.HeaderLength, payload.Length);
            return true;
        }
    }

    /// <summary>A datagram from a peer, relayed by the server in a Data indication or, with
    /// <paramref name="ViaChannel"/>, in ChannelData. The bytes are a private copy.</summary>
    public sealed record PeerData(IPEndPoint Peer, ReadOnlyMemory<byte> Data, bool ViaChannel);
}
