using System.Net;
using Akka.Actor;
using P2P.Protocol.Stun;

namespace P2P.Actors.Relay;

/// <summary>Messages of <see cref="RelayServer"/>.</summary>
public static class RelayServerProtocol
{
    /// <summary>Answered with <see cref="Listening"/> once every listener is bound, or <see cref="ListenFailed"/>.</summary>
    public sealed record AwaitListening;

    /// <summary>The bound addresses (port 0 in the settings resolved to the real port); <paramref name="Tcp"/> is empty when the server runs on virtual (UDP-only) sockets.</summary>
    /// <param name="Tls">The TLS listeners (TURN over TLS), null when there are none.</param>
    /// <param name="TlsFingerprint">The SHA-256 fingerprint of the certificate they serve, "sha-256 AB:CD:…" (RFC 8122 notation), for clients to pin.</param>
    public sealed record Listening(IReadOnlyList<IPEndPoint> Udp, IReadOnlyList<IPEndPoint> Tcp, IReadOnlyList<IPEndPoint>? Tls = null, string? TlsFingerprint = null);

    /// <summary>A listener could not be bound; the server stops itself.</summary>
    public sealed record ListenFailed(string Reason);

    /// <summary>Answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats;

    /// <param name="Malformed">Packets that were neither valid STUN nor ChannelData (dropped).</param>
    /// <param name="Unrouted">Indications and ChannelData for a 5-tuple without an allocation (dropped).</param>
    /// <param name="TcpRefused">TCP connections closed as soon as accepted: over the total or per-address cap.</param>
    /// <param name="TcpUnframeable">TCP connections closed because their bytes were neither STUN nor ChannelData.</param>
    /// <param name="TcpIdleClosed">TCP connections without an allocation closed after the idle timeout.</param>
    /// <param name="AuthFailures">TURN requests refused for an unknown user or realm, or a wrong password (401).</param>
    /// <param name="TlsHandshakes">TLS connections whose handshake completed.</param>
    /// <param name="TlsHandshakesFailed">TLS connections closed because their handshake failed or took too long.</param>
    public sealed record Stats(long Received, long Malformed, long Unrouted, long BindingRequests, int Allocations, long AllocationsFailed,
        long TcpRefused = 0, long TcpUnframeable = 0, long TcpIdleClosed = 0, long AuthFailures = 0, long TlsHandshakes = 0, long TlsHandshakesFailed = 0)
    {
        /// <summary>Of <see cref="AuthFailures"/>, TURN REST API usernames refused because their expiry had passed.</summary>
        public long ExpiredCredentials { get; init; }
        /// <summary>Children (allocations, listeners, connections) that threw and were stopped.</summary>
        public long ChildFaults { get; init; }
        /// <summary>Users (usernames) with at least one allocation.</summary>
        public int Users { get; init; }
        /// <summary>Error responses the server sent, by code (401 counts the challenge of every first request too).</summary>
        public IReadOnlyDictionary<int, long> RefusedByCode { get; init; } = new Dictionary<int, long>();
    }

    /// <summary>Answered with <see cref="AllocationList"/>: the live allocations (diagnostics, tests).</summary>
    public sealed record GetAllocations;

    public sealed record AllocationEntry(FiveTuple FiveTuple, string User, IActorRef Allocation);

    public sealed record AllocationList(IReadOnlyList<AllocationEntry> Allocations);

    /// <summary>
    /// Stop taking new allocations (a fleet node being taken down: <c>p2p relay</c> on SIGUSR1): a new Allocate gets 300 Try
    /// Alternate to a node with room, or 508; the allocations there keep working, refreshes included. Answered with
    /// <see cref="Drained"/> once the last allocation has ended. There is no way back but a restart.
    /// </summary>
    public sealed record Drain
    {
        public static readonly Drain Instance = new();
    }

    /// <summary>The draining relay holds no allocation any more.</summary>
    public sealed record Drained
    {
        public static readonly Drained Instance = new();
    }

    /// <summary>Answered with <see cref="FleetStats"/>.</summary>
    public sealed record GetFleetStats
    {
        public static readonly GetFleetStats Instance = new();
    }

    /// <param name="Redirected">Allocates answered 300 Try Alternate.</param>
    /// <param name="Draining">Whether the relay drains.</param>
    /// <param name="View">The other nodes of the fleet as this one sees them (empty alone).</param>
    public sealed record FleetStats(long Redirected, bool Draining, Fleet.RelayFleetView View);
}

/// <summary>Messages of <see cref="Allocation"/>.</summary>
public static class AllocationProtocol
{
    /// <summary>
    /// A request on this allocation's 5-tuple whose credentials the server checked (RFC 8489 §9.2.4).
    /// <paramref name="Request"/> is the whole STUN message, owned by this message.
    /// </summary>
    public sealed record AuthenticatedRequest(ReadOnlyMemory<byte> Request, string User, PasswordAlgorithm Algorithm, bool UsedSha256);

    /// <summary>An unauthenticated message from the client: a Send indication or ChannelData.</summary>
    public sealed record FromClient(ReadOnlyMemory<byte> Packet);

    /// <summary>Told to the parent when the relayed socket is bound and the client has its success response.</summary>
    public sealed record Allocated(FiveTuple FiveTuple, IPEndPoint Relayed);

    /// <summary>Told to the parent when the relayed port could not be bound; the allocation stops and the server may retry.</summary>
    public sealed record RelayBindFailed(ClientPath Path, int Port, string Reason, AuthenticatedRequest Request, int Attempt);

    /// <summary>Answered with <see cref="Info"/>.</summary>
    public sealed record GetInfo;

    /// <param name="ToPeer">Datagrams relayed to peers, by the actors and by the fast data path.</param>
    /// <param name="FromPeer">Datagrams relayed from peers to the client, by the actors and by the fast data path.</param>
    /// <param name="FastToPeer">Of <paramref name="ToPeer"/>, those the fast data path relayed (<see cref="AllocationDataPath"/>).</param>
    /// <param name="FastFromPeer">Of <paramref name="FromPeer"/>, those the fast data path relayed.</param>
    public sealed record Info(
        IPEndPoint? Relayed, string User, int Permissions, int Channels, long ToPeer, long FromPeer, long DroppedNoPermission, long Malformed,
        long FastToPeer = 0, long FastFromPeer = 0);

    /// <summary>
    /// RFC 6062 §5.4: a ConnectionBind, authenticated, that arrived on a new TCP connection (<paramref name="Data"/>) for one
    /// of this allocation's connection ids; routed here by the server.
    /// </summary>
    public sealed record BindConnection(ClientPath Data, AuthenticatedRequest Request);

    /// <summary>To the server: this allocation now owns CONNECTION-ID <paramref name="Id"/> (ConnectionBind is routed by it).</summary>
    public sealed record ConnectionIdAdded(uint Id);

    /// <summary>To the server: CONNECTION-ID <paramref name="Id"/> is gone.</summary>
    public sealed record ConnectionIdRemoved(uint Id);

    /// <summary>To the server: what arrives on the client's data connection goes to <paramref name="Link"/> (a <see cref="TcpPeerConnection"/>), raw.</summary>
    public sealed record DataConnectionBound(IActorRef Connection, IActorRef Link);

    internal sealed record LifetimeExpired;

    internal sealed record PermissionExpired(IPAddress Peer);

    internal sealed record ChannelExpired(ushort Channel);
}

/// <summary>Messages of <see cref="Reservation"/>.</summary>
public static class ReservationProtocol
{
    /// <summary>Told to the parent once the reserved port is bound (held): its token can be handed out.</summary>
    public sealed record Held(IPEndPoint Port);
}
