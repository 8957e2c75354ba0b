using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>The pair a session uses, as the agent reports it.</summary>
public sealed record SelectedPair(IceCandidate Local, IceCandidate Remote, ulong Priority, TimeSpan RoundTrip)
{
    /// <summary>"host 192.0.2.1:5000 -> srflx 198.51.100.7:6000"; a TCP pair (RFC 6544) says so, with its local TCP type: "… (TCP, active)".</summary>
    public override string ToString() =>
        $"{Local.Type.ToSdp()} {Local.Address} -> {Remote.Type.ToSdp()} {Remote.Address}"
        + (Local.Transport == CandidateTransport.Tcp && Local.TcpType != TcpCandidateType.None ? $" (TCP, {Local.TcpType.ToSdp()})" : "");
}
