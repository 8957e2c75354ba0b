using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>One row of the pair table (`pairs` console command, tests).</summary>
public sealed record PairInfo(IceCandidate Local, IceCandidate Remote, ulong Priority, CandidatePairState State, bool Valid, bool Nominated, bool Selected);
