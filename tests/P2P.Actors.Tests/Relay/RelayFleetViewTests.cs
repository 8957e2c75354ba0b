using System.Net;
using System.Net.Sockets;
using P2P.Actors.Relay.Fleet;
using Xunit;

namespace P2P.Actors.Tests.Relay;

/// <summary>The fleet's view and the Allocate decision made from it: quotas across nodes, 300 to the least loaded node with room, 508 without one.</summary>
public class RelayFleetViewTests
{
    private static RelayNodeEntry Entry(string udp, int allocations, int capacity = 10, bool draining = false, string? tcp = null,
        Dictionary<string, int>? users = null) =>
        new([udp], tcp is null ? [] : [tcp], [], allocations, capacity, draining, users ?? []);

    private static RelayFleetView View(params (string Node, RelayNodeEntry Entry)[] others) => View([], others);

    private static RelayFleetView View(string[] unreachable, params (string Node, RelayNodeEntry Entry)[] others) =>
        new(others.ToDictionary(o => o.Node, o => o.Entry), unreachable.ToHashSet());

    [Fact]
    public void An_entry_survives_its_json_and_bad_json_is_an_error_not_an_exception()
    {
        var entry = new RelayNodeEntry(["127.0.0.1:3478", "[::1]:3478"], ["127.0.0.1:3478"], ["127.0.0.1:5349"], 3, 100, true,
            new Dictionary<string, int> { ["alice"] = 2, ["bob;x:y"] = 1 });
        Assert.True(RelayNodeEntry.TryParse(entry.ToJson(), out var back, out var error), error);
        Assert.Equal(entry.Udp, back.Udp);
        Assert.Equal(entry.Tls, back.Tls);
        Assert.Equal((3, 100, true), (back.Allocations, back.Capacity, back.Draining));
        Assert.Equal(entry.Users, back.Users);
        Assert.False(RelayNodeEntry.TryParse("{not json", out _, out error));
        Assert.NotNull(error);
        Assert.False(RelayNodeEntry.TryParse("{}", out _, out error));
        Assert.Equal("an entry without its lists", error);
    }

    [Fact]
    public void A_users_allocations_on_the_other_nodes_add_up()
    {
        var view = View(("b", Entry("10.0.0.2:3478", 3, users: new() { ["alice"] = 2, ["bob"] = 1 })),
            ("c", Entry("10.0.0.3:3478", 1, users: new() { ["alice"] = 1 })));
        Assert.Equal(3, view.AllocationsOf("alice"));
        Assert.Equal(1, view.AllocationsOf("bob"));
        Assert.Equal(0, view.AllocationsOf("carol"));
    }

    [Fact]
    public void The_alternate_is_the_least_loaded_reachable_node_with_room_of_the_clients_family_and_transport()
    {
        var view = View(["e"],
            ("b", Entry("10.0.0.2:3478", 5)),                      // half full
            ("c", Entry("10.0.0.3:3478", 10)),                     // full
            ("d", Entry("10.0.0.4:3478", 1, draining: true)),      // draining
            ("e", Entry("10.0.0.5:3478", 0)),                      // unreachable
            ("f", Entry("[2001:db8::6]:3478", 0)),                 // IPv6 only
            ("g", Entry("10.0.0.7:3478", 2, tcp: "10.0.0.7:3479")));
        Assert.Equal(IPEndPoint.Parse("10.0.0.7:3478"), view.Alternate(AddressFamily.InterNetwork, ListenerKind.Udp));
        Assert.Equal(IPEndPoint.Parse("10.0.0.7:3479"), view.Alternate(AddressFamily.InterNetwork, ListenerKind.Tcp));
        Assert.Equal(IPEndPoint.Parse("[2001:db8::6]:3478"), view.Alternate(AddressFamily.InterNetworkV6, ListenerKind.Udp));
        Assert.Null(view.Alternate(AddressFamily.InterNetwork, ListenerKind.Tls));
        // equal load: the lowest node key, so every node picks the same
        Assert.Equal(IPEndPoint.Parse("10.0.0.2:3478"),
            View(("z", Entry("10.0.0.9:3478", 1)), ("b", Entry("10.0.0.2:3478", 1))).Alternate(AddressFamily.InterNetwork, ListenerKind.Udp));
    }

    [Theory]
    // user here, allocations here, draining, others' count of the user, other node's allocations -> outcome
    [InlineData(1, 5, false, 0, 0, AdmissionOutcome.Allocate)]
    [InlineData(1, 5, false, 1, 0, AdmissionOutcome.QuotaReached)]   // 1 here + 1 there = quota 2
    [InlineData(0, 10, false, 0, 0, AdmissionOutcome.TryAlternate)]  // full here, room there
    [InlineData(0, 10, false, 0, 10, AdmissionOutcome.InsufficientCapacity)]
    [InlineData(0, 0, true, 0, 0, AdmissionOutcome.TryAlternate)]    // draining with room here still redirects
    [InlineData(0, 0, true, 0, 10, AdmissionOutcome.InsufficientCapacity)]
    public void The_allocate_decision(int userHere, int allocationsHere, bool draining, int userThere, int allocationsThere, AdmissionOutcome expected)
    {
        var view = View(("b", Entry("10.0.0.2:3478", allocationsThere, users: userThere == 0 ? [] : new() { ["alice"] = userThere })));
        var (outcome, alternate) = RelayAdmission.Decide("alice", userHere, quota: 2, allocationsHere, capacity: 10, draining, view,
            AddressFamily.InterNetwork, ListenerKind.Udp);
        Assert.Equal(expected, outcome);
        Assert.Equal(expected == AdmissionOutcome.TryAlternate ? IPEndPoint.Parse("10.0.0.2:3478") : null, alternate);
    }

    [Fact]
    public void An_allocate_that_redeems_a_reservation_is_never_redirected()
    {
        var view = View(("b", Entry("10.0.0.2:3478", 0)));
        var (outcome, _) = RelayAdmission.Decide("alice", 0, 2, 10, 10, false, view, AddressFamily.InterNetwork, ListenerKind.Udp, redirectable: false);
        Assert.Equal(AdmissionOutcome.InsufficientCapacity, outcome);
    }
}
