using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>The pair a session uses, as the agent reports it.</summary>
public sealed record SelectedPair(IceCandidate Local, IceCandidate Remote, ulong Priority, TimeSpan RoundTrip)
{
    public override string ToString() => $"{Local.Type.ToSdp()} {Local.Address} -> {Remote.Type.ToSdp()} {Remote.Address}";
}
