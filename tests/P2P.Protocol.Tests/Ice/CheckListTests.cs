using System.Net;
using P2P.Protocol.Ice;
using Xunit;
using static P2P.Protocol.Tests.Ice.IceTestData;

namespace P2P.Protocol.Tests.Ice;

public class CheckListTests
{
    private static IceCandidate WithPriority(IceCandidate c, uint priority, string? foundation = null) =>
        c with { Priority = priority, Foundation = foundation ?? c.Foundation };

    [Fact]
    public void Only_compatible_candidates_are_paired()
    {
        var list = new CheckList(controlling: true);
        list.AddLocal(Host("10.0.0.2", 5000));
        list.AddLocal(Host("2001:db8::2", 5000));
        Assert.Single(list.AddRemote(Host("192.0.2.9", 6000)));              // v4 with v4
        Assert.Single(list.AddRemote(Host("2001:db8::9", 6000)));            // v6 with v6
        Assert.Empty(list.AddRemote(Host("192.0.2.9", 6001, component: 2)));  // no local component 2
        Assert.Empty(list.AddRemote(Host("169.254.3.3", 6000)));             // link-local with non-link-local
        Assert.Empty(list.AddRemote(Host("127.0.0.1", 6000)));               // loopback with non-loopback
        Assert.Empty(list.AddRemote(Tcp("192.0.2.9", 7000, TcpCandidateType.Passive))); // no local TCP
        Assert.Equal(2, list.Pairs.Count);
        Assert.All(list.Pairs, p => Assert.Equal(p.Local.Address.AddressFamily, p.Remote.Address.AddressFamily));
    }

    [Fact]
    public void Tcp_pairs_active_with_passive_and_so_with_so()
    {
        var list = new CheckList(controlling: true);
        var active = Tcp("10.0.0.2", 0, TcpCandidateType.Active);
        var passive = Tcp("10.0.0.2", 5001, TcpCandidateType.Passive);
        var so = Tcp("10.0.0.2", 5002, TcpCandidateType.SimultaneousOpen);
        list.AddLocals([active, passive, so, Host("10.0.0.2", 5000)]);

        var toPassive = list.AddRemote(Tcp("192.0.2.9", 6001, TcpCandidateType.Passive));
        Assert.Equal(active, Assert.Single(toPassive).Local);
        var toActive = list.AddRemote(Tcp("192.0.2.9", 0, TcpCandidateType.Active));
        Assert.Equal(passive, Assert.Single(toActive).Local);
        var toSo = list.AddRemote(Tcp("192.0.2.9", 6002, TcpCandidateType.SimultaneousOpen));
        Assert.Equal(so, Assert.Single(toSo).Local);
        Assert.Equal(3, list.Pairs.Count);
        Assert.False(CheckList.CanPair(active, Tcp("192.0.2.9", 0, TcpCandidateType.Active)));
        Assert.False(CheckList.CanPair(Host("10.0.0.2", 5000), Tcp("192.0.2.9", 6001, TcpCandidateType.Passive)));
    }

    [Fact]
    public void A_removed_local_candidate_fails_its_pairs_pairs_no_more_and_unfreezes_its_foundation()
    {
        var list = new CheckList(controlling: true);
        var first = Relay("198.51.100.1", 40000, "203.0.113.10", 5000) with { Priority = 20 };
        var second = Relay("198.51.100.1", 41000, "203.0.113.10", 5000) with { Priority = 10 }; // the same foundation
        list.AddLocals([first, second]);
        list.AddRemote(Host("192.0.2.9", 6000));
        var checking = list.NextForOrdinaryCheck()!;
        Assert.Same(first, checking.Local);
        checking.State = CandidatePairState.InProgress;
        Assert.Null(list.NextForOrdinaryCheck()); // the other pair is Frozen behind it

        var failed = Assert.Single(list.RemoveLocal(first));
        Assert.Same(checking, failed);
        Assert.Equal(CandidatePairState.Failed, failed.State);
        Assert.Same(second, list.NextForOrdinaryCheck()!.Local);
        Assert.All(list.AddRemote(Host("192.0.2.9", 6001)), p => Assert.Same(second, p.Local));
        Assert.DoesNotContain(first, list.LocalCandidates);
        Assert.Empty(list.RemoveLocal(first));
    }

    [Fact]
    public void Server_reflexive_local_is_replaced_by_its_base_and_so_pruned()
    {
        var list = new CheckList(controlling: true);
        var host = Host("10.0.0.2", 5000);
        list.AddLocal(host);
        Assert.Empty(list.AddLocal(Srflx("198.51.100.7", 61000, "10.0.0.2", 5000)));
        list.AddRemote(Host("192.0.2.9", 6000));
        Assert.Empty(list.AddLocal(Srflx("198.51.100.7", 61001, "10.0.0.2", 5000, server: "198.51.100.2")));
        var pair = Assert.Single(list.Pairs);
        Assert.Same(host, pair.Local);
        Assert.Equal(3, list.LocalCandidates.Count);
    }

    [Fact]
    public void Redundant_remote_keeps_the_higher_priority_pair()
    {
        // A peer not behind a NAT signals a host and a srflx candidate with the same address.
        var srflx = WithPriority(Host("192.0.2.9", 6000), 1694498815, "S1") with { Type = CandidateType.ServerReflexive };
        var host = Host("192.0.2.9", 6000, priority: 2130706431, foundation: "H1");

        var list = new CheckList(controlling: false);
        list.AddLocal(Host("10.0.0.2", 5000));
        Assert.Single(list.AddRemote(srflx));
        Assert.Equal("H1", Assert.Single(list.AddRemote(host)).Remote.Foundation); // replaces the Waiting lower pair
        Assert.Equal("H1", Assert.Single(list.Pairs).Remote.Foundation);

        var reversed = new CheckList(controlling: false);
        reversed.AddLocal(Host("10.0.0.2", 5000));
        reversed.AddRemote(host);
        Assert.Empty(reversed.AddRemote(srflx));
        Assert.Equal("H1", Assert.Single(reversed.Pairs).Remote.Foundation);
        Assert.Equal(2, reversed.RemoteCandidates.Count);

        var busy = new CheckList(controlling: false);
        busy.AddLocal(Host("10.0.0.2", 5000));
        busy.AddRemote(srflx);
        busy.Pairs[0].State = CandidatePairState.InProgress; // a pair being checked is never replaced (RFC 8838 §10)
        Assert.Empty(busy.AddRemote(host));
        Assert.Equal("S1", Assert.Single(busy.Pairs).Remote.Foundation);
    }

    [Fact]
    public void Pairs_are_sorted_by_priority_descending()
    {
        var list = new CheckList(controlling: true);
        list.AddLocals([Host("10.0.0.2", 5000), Relay("203.0.113.9", 49152, "198.51.100.7", 61000)]);
        list.AddRemotes([Host("192.0.2.9", 6000), Relay("203.0.113.10", 49153, "198.51.100.8", 61001)]);
        Assert.Equal(4, list.Pairs.Count);
        Assert.Equal(list.Pairs.OrderByDescending(p => p.Priority).ToList(), list.Pairs);
        Assert.Equal(CandidateType.Host, list.Pairs[0].Local.Type);
        Assert.Equal(CandidateType.Host, list.Pairs[0].Remote.Type);
        Assert.Equal(CandidateType.Relayed, list.Pairs[^1].Local.Type);
    }

    [Fact]
    public void Cap_drops_the_lowest_priority_pairs()
    {
        var list = new CheckList(controlling: true, maxPairs: 3);
        list.AddLocals([Host("10.0.0.2", 5000), Relay("203.0.113.9", 49152, "198.51.100.7", 61000)]);
        list.AddRemote(Host("192.0.2.9", 6000));
        var added = list.AddRemote(Relay("203.0.113.10", 49153, "198.51.100.8", 61001));
        Assert.Equal(3, list.Pairs.Count);
        Assert.Single(added); // relay-relay was the lowest and was dropped at once
        Assert.DoesNotContain(list.Pairs, p => p.Local.Type == CandidateType.Relayed && p.Remote.Type == CandidateType.Relayed);
    }

    [Fact]
    public void One_pair_per_foundation_starts_Waiting_the_others_Frozen()
    {
        var list = new CheckList(controlling: true);
        list.AddLocal(Host("10.0.0.2", 5000, foundation: "L"));
        // Two remote candidates with the same foundation (same type and base IP on the peer).
        var added = list.AddRemotes([Host("192.0.2.9", 6001, priority: 1000, foundation: "R"), Host("192.0.2.9", 6002, priority: 2000, foundation: "R")]);
        Assert.Equal(2, added.Count);
        Assert.Equal(CandidatePairState.Waiting, list.Pairs[0].State); // the higher priority one
        Assert.Equal(6002, list.Pairs[0].Remote.Address.Port);
        Assert.Equal(CandidatePairState.Frozen, list.Pairs[1].State);

        // Another foundation: Waiting at once.
        var other = Assert.Single(list.AddRemote(Host("192.0.2.10", 6000, priority: 500, foundation: "Q")));
        Assert.Equal(CandidatePairState.Waiting, other.State);
    }

    [Fact]
    public void Lowest_component_gets_the_Waiting_state_first()
    {
        var list = new CheckList(controlling: true);
        list.AddLocals([Host("10.0.0.2", 5000, component: 1, foundation: "L"), Host("10.0.0.2", 5001, component: 2, foundation: "L")]);
        list.AddRemotes([Host("192.0.2.9", 6001, component: 2, foundation: "R"), Host("192.0.2.9", 6000, component: 1, foundation: "R")]);
        Assert.Equal(CandidatePairState.Waiting, list.Pairs.Single(p => p.Local.Component == 1).State);
        Assert.Equal(CandidatePairState.Frozen, list.Pairs.Single(p => p.Local.Component == 2).State);
    }

    [Fact]
    public void Success_unfreezes_the_pairs_of_the_same_foundation()
    {
        var list = new CheckList(controlling: true);
        list.AddLocal(Host("10.0.0.2", 5000, foundation: "L"));
        list.AddRemotes([Host("192.0.2.9", 6001, priority: 2000, foundation: "R"), Host("192.0.2.9", 6002, priority: 1000, foundation: "R")]);
        var first = list.NextForOrdinaryCheck()!;
        Assert.Equal(6001, first.Remote.Address.Port);
        first.State = CandidatePairState.InProgress;
        Assert.Null(list.NextForOrdinaryCheck()); // the other one's foundation is in use
        list.OnSucceeded(first);
        Assert.Equal(CandidatePairState.Succeeded, first.State);
        Assert.True(first.Valid);
        Assert.Equal(CandidatePairState.Waiting, list.Pairs[1].State);

        // A trickled pair whose foundation already succeeded starts Waiting.
        var trickled = Assert.Single(list.AddRemote(Host("192.0.2.9", 6003, priority: 500, foundation: "R")));
        Assert.Equal(CandidatePairState.Waiting, trickled.State);
    }

    [Fact]
    public void Failure_lets_the_next_ordinary_check_unfreeze_the_foundation()
    {
        var list = new CheckList(controlling: true);
        list.AddLocal(Host("10.0.0.2", 5000, foundation: "L"));
        list.AddRemotes([Host("192.0.2.9", 6001, priority: 2000, foundation: "R"), Host("192.0.2.9", 6002, priority: 1000, foundation: "R")]);
        var first = list.NextForOrdinaryCheck()!;
        first.State = CandidatePairState.InProgress;
        first.State = CandidatePairState.Failed;
        var next = list.NextForOrdinaryCheck();
        Assert.NotNull(next);
        Assert.Equal(6002, next.Remote.Address.Port);
        Assert.Equal(CandidatePairState.Waiting, next.State);
        next.State = CandidatePairState.Failed;
        Assert.Null(list.NextForOrdinaryCheck());
        Assert.True(list.AllDone);
    }

    [Fact]
    public void Ordinary_checks_go_in_priority_order()
    {
        var list = new CheckList(controlling: true);
        list.AddLocals([Host("10.0.0.2", 5000), Relay("203.0.113.9", 49152, "198.51.100.7", 61000)]);
        list.AddRemotes([Host("192.0.2.9", 6000), Relay("203.0.113.10", 49153, "198.51.100.8", 61001)]);
        var order = new List<CandidatePair>();
        while (list.NextForOrdinaryCheck() is { } pair)
        {
            Assert.Equal(CandidatePairState.Waiting, pair.State);
            pair.State = CandidatePairState.InProgress;
            order.Add(pair);
        }
        Assert.Equal(list.Pairs, order);
        Assert.False(list.AllDone);
        foreach (var p in order) list.OnSucceeded(p);
        Assert.True(list.AllDone);
        Assert.Equal(4, list.ValidPairs.Count());
    }

    [Fact]
    public void Empty_list_is_not_done_and_has_nothing_to_check()
    {
        var list = new CheckList(controlling: false);
        Assert.False(list.AllDone);
        Assert.Null(list.NextForOrdinaryCheck());
        list.AddLocal(Host("10.0.0.2", 5000));
        Assert.Null(list.NextForOrdinaryCheck());
    }

    [Fact]
    public void Trickled_candidates_pair_with_those_already_known()
    {
        var list = new CheckList(controlling: true);
        Assert.Empty(list.AddRemote(Host("192.0.2.9", 6000)));
        Assert.Single(list.AddLocal(Host("10.0.0.2", 5000)));
        Assert.Single(list.AddLocal(Relay("203.0.113.9", 49152, "198.51.100.7", 61000)));
        Assert.Equal(2, list.AddRemote(Host("192.0.2.10", 6000)).Count);
        Assert.Empty(list.AddRemote(Host("192.0.2.10", 6000))); // duplicate ignored
        Assert.Empty(list.AddLocal(Host("10.0.0.2", 5000)));
        Assert.Equal(4, list.Pairs.Count);
    }

    [Fact]
    public void Role_change_recomputes_priorities_and_re_sorts()
    {
        var list = new CheckList(controlling: true);
        var a = Host("10.0.0.2", 5000, priority: 200);
        var b = Host("10.0.0.3", 5000, priority: 100);
        var x = Host("192.0.2.9", 6000, priority: 100);
        var y = Host("192.0.2.10", 6000, priority: 200);
        list.AddLocals([a, b]);
        list.AddRemotes([x, y]);
        int Index(IceCandidate l, IceCandidate r) => list.Pairs.ToList().FindIndex(p => p.Local == l && p.Remote == r);

        Assert.True(Index(a, x) < Index(b, y)); // controlling: G = local, A-X has the tie bit
        list.SetRole(controlling: false);
        Assert.False(list.Controlling);
        Assert.True(Index(b, y) < Index(a, x)); // controlled: G = remote, B-Y has it now
        Assert.Equal(list.Pairs.OrderByDescending(p => p.Priority).ToList(), list.Pairs);
        Assert.All(list.Pairs, p => Assert.Equal(CandidatePair.ComputePriority(p.Remote.Priority, p.Local.Priority), p.Priority));
    }

    [Fact]
    public void Find_matches_ipv4_mapped_addresses()
    {
        var list = new CheckList(controlling: true);
        list.AddLocal(Host("10.0.0.2", 5000));
        list.AddRemote(Host("192.0.2.9", 6000));
        Assert.NotNull(list.Find(Ep("10.0.0.2", 5000), Ep("192.0.2.9", 6000)));
        Assert.NotNull(list.Find(Ep("::ffff:10.0.0.2", 5000), Ep("::ffff:192.0.2.9", 6000)));
        Assert.Null(list.Find(Ep("10.0.0.2", 5000), Ep("192.0.2.9", 6001)));
        Assert.Null(list.Find(Ep("10.0.0.2", 5000), Ep("192.0.2.9", 6000), CandidateTransport.Tcp));
    }

    [Fact]
    public void Check_from_an_unknown_source_learns_a_peer_reflexive_remote()
    {
        var list = new CheckList(controlling: false);
        list.AddLocal(Host("10.0.0.2", 5000));
        list.AddRemote(Host("192.0.2.9", 6000));
        var pair = list.AddPeerReflexiveRemote(Ep("10.0.0.2", 5000), Ep("198.51.100.20", 40000), 1862270975, out bool added);
        Assert.NotNull(pair);
        Assert.True(added);
        Assert.Equal(CandidateType.PeerReflexive, pair.Remote.Type);
        Assert.Equal(1862270975u, pair.Remote.Priority);
        Assert.Equal(CandidatePairState.Waiting, pair.State);
        Assert.Contains(pair, list.Pairs);
        Assert.Contains(pair.Remote, list.RemoteCandidates);
        Assert.DoesNotContain(list.RemoteCandidates.Where(r => r != pair.Remote), r => r.Foundation == pair.Remote.Foundation);

        var again = list.AddPeerReflexiveRemote(Ep("::ffff:10.0.0.2", 5000), Ep("198.51.100.20", 40000), 1862270975, out added);
        Assert.Same(pair, again);
        Assert.False(added);

        // A known remote address gives the existing pair, no new candidate.
        var known = list.AddPeerReflexiveRemote(Ep("10.0.0.2", 5000), Ep("192.0.2.9", 6000), 1, out added);
        Assert.False(added);
        Assert.Equal(CandidateType.Host, known!.Remote.Type);

        Assert.Null(list.AddPeerReflexiveRemote(Ep("10.0.0.99", 5000), Ep("198.51.100.20", 40000), 1, out added));
        Assert.False(added);
    }

    [Fact]
    public void Signalled_candidate_replaces_the_peer_reflexive_one_learned_from_its_first_check()
    {
        // RFC 8445 §7.3.1.3: the peer's check outran its signalled host candidate; once the candidate comes, the pair
        // (already checked and valid) keeps its state and now names the host candidate, with its priority and foundation
        var list = new CheckList(controlling: true);
        list.AddLocal(Host("10.0.0.2", 5000));
        var pair = list.AddPeerReflexiveRemote(Ep("10.0.0.2", 5000), Ep("192.0.2.9", 6000), 1862270975, out _)!;
        pair.State = CandidatePairState.InProgress;
        list.OnSucceeded(pair);

        var host = Host("192.0.2.9", 6000, priority: 2130706431);
        Assert.Empty(list.AddRemote(host));

        var only = Assert.Single(list.Pairs);
        Assert.Same(pair, only);
        Assert.Same(host, only.Remote);
        Assert.Equal(CandidateType.Host, only.Remote.Type);
        Assert.Equal(CandidatePairState.Succeeded, only.State);
        Assert.True(only.Valid);
        Assert.Equal(CandidatePair.ComputePriority(only.Local.Priority, host.Priority), only.Priority);
        Assert.Equal(only.Local.Foundation + ":" + host.Foundation, only.Foundation);
        Assert.DoesNotContain(list.RemoteCandidates, r => r.Type == CandidateType.PeerReflexive);
        Assert.Same(only, list.Find(Ep("10.0.0.2", 5000), Ep("192.0.2.9", 6000)));
    }

    [Fact]
    public void Peer_reflexive_pair_survives_a_full_list()
    {
        var list = new CheckList(controlling: false, maxPairs: 1);
        list.AddLocal(Host("10.0.0.2", 5000));
        list.AddRemote(Host("192.0.2.9", 6000, priority: 2130706431));
        var pair = list.AddPeerReflexiveRemote(Ep("10.0.0.2", 5000), Ep("198.51.100.20", 40000), 5, out _);
        Assert.Contains(pair!, list.Pairs);
    }

    [Fact]
    public void Mapped_address_of_a_response_learns_a_peer_reflexive_local()
    {
        var list = new CheckList(controlling: true);
        var host = Host("10.0.0.2", 5000);
        list.AddLocal(host);
        list.AddRemote(Host("192.0.2.9", 6000));
        var pair = list.Pairs[0];

        var same = list.AddPeerReflexiveLocal(pair, Ep("10.0.0.2", 5000), 1862270975, out bool added);
        Assert.False(added);
        Assert.Same(host, same);

        var prflx = list.AddPeerReflexiveLocal(pair, Ep("198.51.100.30", 50000), 1862270975, out added);
        Assert.True(added);
        Assert.Equal(CandidateType.PeerReflexive, prflx.Type);
        Assert.Equal(host.Address, prflx.Related);
        Assert.Equal(1862270975u, prflx.Priority);
        Assert.Single(list.Pairs); // forms no pairs of its own
        Assert.Contains(prflx, list.LocalCandidates);
        Assert.False(list.AddPeerReflexiveLocal(pair, Ep("198.51.100.30", 50000), 1, out _) is { Type: not CandidateType.PeerReflexive });
    }
}
