using System.Net;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Actors.Tests.Ice;

/// <summary>One peer's gathering without the actor (<see cref="CandidateGatherer"/>): which candidates it keeps and when it is complete.</summary>
public sealed class CandidateGathererTests
{
    private static readonly IPEndPoint Bound = new(IPAddress.Parse("192.168.1.10"), 5000);
    private static readonly IPEndPoint Stun = new(IPAddress.Parse("198.51.100.1"), 3478);
    private static readonly IPEndPoint Turn = new(IPAddress.Parse("198.51.100.2"), 3478);

    [Fact]
    public void A_mapped_address_that_is_a_host_address_or_already_known_adds_no_server_reflexive_candidate()
    {
        var gathering = new CandidateGatherer();
        gathering.AddHosts(Bound);
        Assert.Empty(gathering.AddServerReflexive(Bound, Stun)); // no NAT: the server saw the host address
        var mapped = new IPEndPoint(IPAddress.Parse("203.0.113.5"), 40000);
        var srflx = Assert.Single(gathering.AddServerReflexive(mapped, Stun));
        Assert.Equal((CandidateType.ServerReflexive, Bound), (srflx.Type, srflx.Related));
        Assert.Empty(gathering.AddServerReflexive(mapped, Turn)); // a second server seeing the same mapping adds nothing
        Assert.Equal(2, gathering.Candidates.Count);
    }

    [Fact]
    public void A_relayed_candidate_that_replaces_a_dropped_allocation_gets_a_foundation_of_its_own()
    {
        var gathering = new CandidateGatherer();
        gathering.AddHosts(Bound);
        var first = gathering.Relayed(new IPEndPoint(IPAddress.Parse("198.51.100.2"), 50000), null, Turn, replacing: false);
        var same = gathering.Relayed(new IPEndPoint(IPAddress.Parse("198.51.100.2"), 50002), null, Turn, replacing: false);
        var replacement = gathering.Relayed(new IPEndPoint(IPAddress.Parse("198.51.100.2"), 50004), null, Turn, replacing: true);
        Assert.Equal(first.Foundation, same.Foundation);           // RFC 8445 §5.1.1.3: same type, base IP and server
        Assert.NotEqual(first.Foundation, replacement.Foundation); // or its pairs would wait behind the old one's
        Assert.DoesNotContain(gathering.Candidates, c => c.Type == CandidateType.Relayed); // built, not added
    }

    [Fact]
    public void Gathering_is_complete_once_every_server_answered_and_each_problem_is_told_once()
    {
        var gathering = new CandidateGatherer();
        gathering.AddHosts(Bound);
        Assert.True(gathering.NothingPending);
        gathering.Started();
        gathering.Started();
        Assert.False(gathering.Done());
        Assert.True(gathering.AddProblem("STUN server did not answer"));
        Assert.False(gathering.AddProblem("STUN server did not answer"));
        Assert.True(gathering.Done());
        Assert.True(gathering.MarkComplete());
        Assert.False(gathering.MarkComplete());
        Assert.Equal(["STUN server did not answer"], gathering.Problems);
    }

    [Fact]
    public void A_relay_only_session_sees_only_relayed_candidates()
    {
        var gathering = new CandidateGatherer();
        gathering.AddHosts(Bound);
        gathering.Add([gathering.Relayed(new IPEndPoint(IPAddress.Parse("198.51.100.2"), 50000), null, Turn, replacing: false)]);
        Assert.Equal(2, CandidateGatherer.Visible(gathering.Candidates, CandidatePolicy.All).Count);
        Assert.Equal(CandidateType.Relayed, Assert.Single(CandidateGatherer.Visible(gathering.Candidates, CandidatePolicy.RelayOnly)).Type);
    }
}
