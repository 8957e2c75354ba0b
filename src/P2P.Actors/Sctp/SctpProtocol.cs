using P2P.Protocol.Sctp;

namespace P2P.Actors.Sctp;

/// <summary>Messages of <see cref="SctpAssociation"/> with its owner; with the layer below it speaks the datagram contract (Transport.DatagramProtocol), one SCTP packet per datagram.</summary>
public static class SctpProtocol
{
    // commands from the owner

    /// <summary>
    /// Starts the association by sending INIT (RFC 9260 §5.1). Either side or both may send it: an
    /// INIT collision is resolved as RFC 9260 §5.2.1 describes. A side that never receives this
    /// still answers the peer's INIT.
    /// </summary>
    public sealed record Associate
    {
        public static readonly Associate Instance = new();
    }

    /// <summary>
    /// Opens a data channel in-band with DCEP (RFC 8832 §6): a DATA_CHANNEL_OPEN goes out on a new
    /// stream (even ids on the DTLS client, odd on the DTLS server). The owner hears
    /// <see cref="ChannelOpening"/> at once and <see cref="ChannelOpened"/> when the peer acknowledged.
    /// At most one of <paramref name="MaxRetransmits"/> and <paramref name="MaxLifetime"/> may be set
    /// (RFC 8831 §6.4: partial reliability by retransmissions or by lifetime, RFC 3758).
    /// </summary>
    public sealed record OpenChannel(string Label, string Protocol = "", bool Ordered = true, int? MaxRetransmits = null,
        TimeSpan? MaxLifetime = null, ushort Priority = DataChannelPriority.Normal);

    /// <summary>
    /// One message on an open (or opening) channel: PPID 51 for text, 53 for binary, 56/57 for an
    /// empty message (RFC 8831 §6.6). The memory is owned by the message and must not change
    /// afterwards. More than the configured maximum message size is refused with <see cref="SendFailed"/>.
    /// </summary>
    public sealed record SendMessage(ushort StreamId, ReadOnlyMemory<byte> Data, bool Binary);

    /// <summary>Closes a channel by resetting its outgoing stream (RFC 8831 §6.7, RFC 6525 §5.1.2); both owners then hear <see cref="ChannelClosed"/>.</summary>
    public sealed record CloseChannel(ushort StreamId);

    /// <summary>Graceful SHUTDOWN (RFC 9260 §9.2): queued data is delivered first; the owner then hears <see cref="AssociationClosed"/>.</summary>
    public sealed record Shutdown
    {
        public static readonly Shutdown Instance = new();
    }

    /// <summary>Sends ABORT with a "User-Initiated Abort" cause (RFC 9260 §9.1, §3.3.10.12) and stops.</summary>
    public sealed record Abort(string Reason);

    /// <summary>Answered with <see cref="Stats"/>.</summary>
    /// <summary>
    /// The path under the association changed: ICE selected a pair again after a restart (its relay died, or consent was
    /// lost). What is outstanding goes again at once with the initial RTO and a fresh congestion window (RFC 9260 §7.2.1,
    /// §6.3.1 C1: a new path has no RTT measured), instead of waiting out a T3-rtx doubled through the outage (§6.3.3 E2).
    /// </summary>
    public sealed record PathChanged
    {
        public static readonly PathChanged Instance = new();
    }

    public sealed record GetStats
    {
        public static readonly GetStats Instance = new();
    }

    /// <summary>Counters and the sender's current windows.</summary>
    public sealed record Stats(
        string State,
        long PacketsIn,
        long PacketsOut,
        long BadPackets,
        long OutOfTheBlue,
        long DataChunksIn,
        long DataChunksOut,
        long DuplicateChunksIn,
        long Retransmissions,
        long FastRetransmits,
        long T3Expirations,
        long AbandonedMessages,
        long ForwardTsnsSent,
        long DcepErrors,
        long MessagesIn,
        long MessagesOut,
        long Cwnd,
        long PeerReceiveWindow,
        TimeSpan Rto)
    {
        /// <summary>The packet size in use (RFC 8899): the base until a path MTU probe confirmed a larger one.</summary>
        public int PathMtu { get; init; }

        /// <summary>Path MTU probes sent, and acknowledged by the peer.</summary>
        public long ProbesSent { get; init; }

        public long ProbesAcknowledged { get; init; }
    }

    // events to the owner

    /// <summary>COOKIE ECHO / COOKIE ACK completed (RFC 9260 §5.1): channels can carry data.</summary>
    public sealed record AssociationEstablished(int MaxMessageSize);

    /// <summary>A locally requested channel got its stream id; messages may be sent on it already (RFC 8832 §6).</summary>
    public sealed record ChannelOpening(ushort StreamId, string Label);

    /// <summary>A channel is open: ours after DATA_CHANNEL_ACK, or the peer's after its DATA_CHANNEL_OPEN (<paramref name="RemoteInitiated"/>).</summary>
    public sealed record ChannelOpened(ushort StreamId, string Label, string Protocol, bool Ordered, int? MaxRetransmits,
        TimeSpan? MaxLifetime, ushort Priority, bool RemoteInitiated);

    /// <summary>An <see cref="OpenChannel"/> could not be started (bad options, no free stream, association not usable).</summary>
    public sealed record ChannelOpenFailed(string Label, string Reason);

    /// <summary>A whole message received on a channel; the data is owned by the message.</summary>
    public sealed record MessageReceived(ushort StreamId, ReadOnlyMemory<byte> Data, bool Binary);

    /// <summary>A <see cref="SendMessage"/> was refused (too large, unknown or closing channel, association closing).</summary>
    public sealed record SendFailed(ushort StreamId, int Length, string Reason);

    /// <summary>Both directions of the channel's stream were reset (RFC 8831 §6.7).</summary>
    public sealed record ChannelClosed(ushort StreamId);

    /// <summary>SHUTDOWN completed (RFC 9260 §9.2); the actor stops.</summary>
    public sealed record AssociationClosed
    {
        public static readonly AssociationClosed Instance = new();
    }

    /// <summary>The association ended abnormally: ABORT sent or received, setup timed out, or the path failed; the actor stops.</summary>
    /// <param name="UserInitiated">The peer ended it on its user's behalf: an ABORT with no cause or a User-Initiated Abort
    /// (RFC 9260 §3.3.10.12), as aiortc's <c>close()</c> and browsers send; a normal end, not a failure.</param>
    public sealed record AssociationAborted(string Reason, bool ByPeer, bool UserInitiated = false);
}
