using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;

namespace P2P.Actors.Sessions;

public static class SessionProtocol
{
    // commands from the owner (console, signaling, tests)
    public sealed record SetRemoteDescription(IceDescription Description);

    public sealed record AddRemoteCandidate(IceCandidate Candidate);

    public sealed record RemoteEndOfCandidates;

    public sealed record Send(ReadOnlyMemory<byte> Data);

    public sealed record Close;

    /// <summary>Answered with <see cref="PairCheckerProtocol.PairTable"/>.</summary>
    public sealed record GetPairs;

    /// <summary>Answered with <see cref="ConnectionProtocol.Info"/>, or <see cref="NotConnected"/>.</summary>
    public sealed record GetConnectionInfo;

    public sealed record NotConnected(string SessionId);

    /// <summary>Diagnostics and benchmarks: answered with <see cref="Timeline"/>.</summary>
    public sealed record GetTimeline;

    /// <summary>
    /// When each step of setting the session up was reached, as <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>
    /// values (0: not yet): created, first local candidate, connection begun, ICE pair selected, DTLS handshake done,
    /// SCTP association up.
    /// </summary>
    /// <param name="DataPath">When the connection began: on a secure session the first valid pair (DTLS starts then), else the selection.</param>
    public sealed record Timeline(string SessionId, long Started, long FirstLocalCandidate, long DataPath, long IceConnected, long DtlsConnected, long Associated);

    // events to the owner, each naming the session
    public sealed record Started(string SessionId, IActorRef Session, IceCredentials Credentials)
    {
        /// <summary>This side is an ICE-lite agent (the remote must know: a=ice-lite).</summary>
        public bool IceLite { get; init; }

        /// <summary>What the remote must get before any candidate: credentials, and for a secure session the certificate fingerprint and a=setup.</summary>
        public IceDescription? Description { get; init; }
    }

    /// <summary>A local candidate to trickle to the remote (RFC 8838).</summary>
    public sealed record LocalCandidate(string SessionId, IceCandidate Candidate);

    /// <summary>Gathering is over: the whole local description, for a manual copy-paste exchange.</summary>
    public sealed record LocalDescription(string SessionId, IceDescription Description);

    /// <summary>The session carries data: on a secure session after the DTLS handshake, with the peer's verified fingerprint.</summary>
    public sealed record Connected(string SessionId, SelectedPair Pair)
    {
        public string? RemoteFingerprint { get; init; }
    }

    public sealed record Failed(string SessionId, string Reason);

    public sealed record Disconnected(string SessionId, string Reason);

    public sealed record DataReceived(string SessionId, ReadOnlyMemory<byte> Data);

    /// <summary>
    /// The session is over and its actors are stopping: closed here (<see cref="Close"/>), or by the peer, which
    /// <see cref="PeerReason"/> then says how (close_notify, SCTP SHUTDOWN, a user-initiated ABORT). Its last message.
    /// </summary>
    public sealed record Closed(string SessionId)
    {
        /// <summary>How the peer closed it; null when it was closed here.</summary>
        public string? PeerReason { get; init; }
    }

    /// <summary>
    /// ICE restarted (RFC 8445 §9) with new local credentials, after consent was lost or because the remote
    /// restarted: the signaling must send these to the remote; candidates follow as <see cref="LocalCandidate"/>.
    /// </summary>
    public sealed record Restarted(string SessionId, IceCredentials Credentials);

    // ---- data channels (RFC 8831) on a secure session --------------------------------------------------

    /// <summary>
    /// Open a data channel by label (RFC 8832): ordered or not, fully reliable or partially (max retransmissions or
    /// max lifetime, RFC 3758). Both sides then hear <see cref="ChannelOpened"/>.
    /// </summary>
    public sealed record OpenChannel(string Label, bool Ordered = true, int? MaxRetransmits = null, TimeSpan? MaxLifetime = null);

    /// <summary>One message on a channel, text or binary (messages, not a stream).</summary>
    public sealed record SendOnChannel(string Label, ReadOnlyMemory<byte> Data, bool Binary = true);

    public sealed record CloseChannel(string Label);

    public sealed record ChannelOpened(string SessionId, string Label, bool Ordered, int? MaxRetransmits, TimeSpan? MaxLifetime, bool RemoteInitiated);

    public sealed record ChannelMessage(string SessionId, string Label, ReadOnlyMemory<byte> Data, bool Binary);

    public sealed record ChannelClosed(string SessionId, string Label);

    /// <summary>A channel command could not be carried out (unknown label, message too large, association gone).</summary>
    public sealed record ChannelError(string SessionId, string Label, string Reason);

    /// <summary>Answered with <see cref="Faults"/>.</summary>
    public sealed record GetFaults;

    /// <summary>The faults of the session's children, oldest first: the last <see cref="Session.FaultsKept"/> of <paramref name="Total"/>.</summary>
    public sealed record Faults(string SessionId, IReadOnlyList<ChildFault> Entries, int Total);

    /// <summary>One child threw: which (its actor name), why, and what the session did (resumed it, or stopped it and failed).</summary>
    public sealed record ChildFault(string Child, string Reason, string Action);

    /// <summary>Told by the supervisor strategy when a child had to be stopped: the session fails with <paramref name="Reason"/>.</summary>
    internal sealed record ChildStopped(string Reason);

    // from the LocalPeer
    internal sealed record LocalCandidatesGathered(IReadOnlyList<IceCandidate> Candidates);

    internal sealed record LocalGatheringComplete;

    /// <summary>The TURN server dropped the allocation behind <paramref name="Old"/> and gave a new one, <paramref name="New"/>.</summary>
    internal sealed record RelayedCandidateReplaced(IceCandidate Old, IceCandidate New);

    /// <summary>The allocation behind the relayed candidate <paramref name="Lost"/> is lost (its TURN server died): the candidate leaves the session's ICE agent.</summary>
    internal sealed record RelayedCandidateLost(IceCandidate Lost);

    internal sealed record GatheringProblem(string Reason);

    /// <summary>The LocalPeer's answer to <see cref="LocalPeerProtocol.RelayedPathLost"/>: the relay candidates are as good as they get; restart ICE.</summary>
    internal sealed record RelayChecked;

    /// <summary>
    /// What the peer's RFC 5780 discovery found about its NAT: the session puts it into its description (a=x-p2p-nat),
    /// and with the remote's report it decides port prediction.
    /// </summary>
    public sealed record LocalNatReport(P2P.Protocol.Nat.NatReport Report);

    /// <summary>
    /// To the owner: this side's NAT report came after its description went out. Send <paramref name="Description"/> (the
    /// current credentials, no candidates, a=x-p2p-session and a=x-p2p-nat) to the remote as a description; an agent takes
    /// it as nothing new, a p2p peer's session reads the report from it. Only sent to a remote that showed it is a p2p
    /// peer (its description carried a=x-p2p-session), so browsers and libnice never get it.
    /// </summary>
    public sealed record LocalNatReported(string SessionId, IceDescription Description);

    /// <summary>Answered with <see cref="NatReports"/>.</summary>
    public sealed record GetNat;

    /// <summary>This side's NAT report (null until discovery finished) and the remote's from its description (null when it sent none).</summary>
    public sealed record NatReports(string SessionId, P2P.Protocol.Nat.NatReport? Local, P2P.Protocol.Nat.NatReport? Remote);
}
