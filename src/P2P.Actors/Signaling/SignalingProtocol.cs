namespace P2P.Actors.Signaling;

/// <summary>
/// What a <see cref="SignalingClient"/> tells its owner, and the commands it accepts. The owner feeds
/// <see cref="RemoteDescription"/> / <see cref="RemoteCandidate"/> / <see cref="RemoteEndOfCandidates"/> to its session
/// (SessionProtocol.SetRemoteDescription, AddRemoteCandidate, RemoteEndOfCandidates) and sends the session's
/// LocalDescription / LocalCandidate the other way.
/// </summary>
public static class SignalingProtocol
{
    // to the owner

    /// <summary>
    /// The client has a seat in the room; the first to join is the controlling side (RFC 8445 §6.1.1). <paramref name="IceServers"/>:
    /// the STUN/TURN servers (with time-limited TURN credentials) the signaling server hands out, if it has any.
    /// </summary>
    public sealed record Joined(bool Controlling, IReadOnlyList<SignalIceServer>? IceServers = null);

    /// <summary>The other peer is in the room (sent to both: to the one already there, and to the one arriving).</summary>
    public sealed record PeerJoined(string Name);

    /// <summary>The other peer's description, in the text form of <c>IceDescription.Write()</c>.</summary>
    public sealed record RemoteDescription(string Text);

    /// <summary>One trickled candidate of the other peer, an "a=candidate" value (<c>IceCandidate.ToAttributeValue()</c>).</summary>
    public sealed record RemoteCandidate(string Attribute);

    /// <summary>The other peer has sent all its candidates (RFC 8838 §4.4).</summary>
    public sealed record RemoteEndOfCandidates;

    /// <summary>The other peer left the room or lost its connection; its seat is free again.</summary>
    public sealed record PeerLeft(string Name);

    /// <summary>Signaling is over: the server cannot be reached, refused us, or went away. One sentence; the client then stops.</summary>
    public sealed record SignalingFailed(string Reason);

    /// <summary>
    /// The connection to the signaling server was lost (or its node went away) and is back, through <paramref name="Server"/>,
    /// with the same seat in <paramref name="Room"/>: nothing was missed that the owner must act on.
    /// </summary>
    public sealed record Reconnected(Uri Server, string Room);

    /// <summary>From a <see cref="SignalingBridge"/> to its observer: a description or candidate from the other peer could not be used (one sentence).</summary>
    public sealed record RemoteSignalRefused(string Reason);

    // from the owner

    /// <summary>Join the room now: a client made to join when told (it opens its connection meanwhile) waits for this.</summary>
    public sealed record Join
    {
        public static readonly Join Instance = new();
    }

    public sealed record SendDescription(string Text);

    public sealed record SendCandidate(string Attribute);

    public sealed record SendEndOfCandidates;

    /// <summary>Leave the room, close the connection and stop.</summary>
    public sealed record Leave;
}
