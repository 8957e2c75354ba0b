using System.Diagnostics.Metrics;
using Akka.Actor;
using P2P.Actors.Relay;

namespace P2P.Host.Operations;

/// <summary>
/// A relay node's instruments (meter <c>p2p.relay</c>), observable ones that read the last snapshot of the
/// <see cref="RelayServer"/>'s own counters: no work on the relaying path. A snapshot is its
/// <see cref="RelayServerProtocol.Stats"/> and, for the datagrams relayed, each live allocation's counts
/// (<see cref="AllocationProtocol.Info"/>); an allocation that ended keeps adding what it had relayed when last seen,
/// so the counter never goes down (Prometheus computes packets/s from it with rate()).
/// </summary>
public sealed class RelayMetrics : INodeMetrics
{
    public const string MeterName = "p2p.relay";

    private sealed record Snapshot(RelayServerProtocol.Stats Stats, long Relayed);

    private readonly IActorRef _relay;
    private readonly TimeSpan _timeout;
    private readonly Dictionary<IActorRef, long> _seen = [];
    private long _retired;
    private volatile Snapshot _last = new(new RelayServerProtocol.Stats(0, 0, 0, 0, 0, 0), 0);

    public Meter Meter { get; } = new(MeterName);

    public RelayMetrics(IActorRef relay, TimeSpan timeout)
    {
        _relay = relay;
        _timeout = timeout;
        Meter.CreateObservableGauge("p2p.relay.allocations", () => _last.Stats.Allocations, description: "Live TURN allocations on this node (RFC 8656).");
        Meter.CreateObservableGauge("p2p.relay.users", () => _last.Stats.Users, description: "Usernames with at least one allocation on this node.");
        Meter.CreateObservableCounter("p2p.relay.packets", () => _last.Relayed, description: "Datagrams relayed between clients and peers, both ways.");
        Meter.CreateObservableCounter("p2p.relay.received", () => _last.Stats.Received, description: "Packets the server received on its listeners.");
        Meter.CreateObservableCounter("p2p.relay.refused", () => _last.Stats.RefusedByCode.Select(kv =>
            new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("code", kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)))),
            description: "Error responses by code (401 counts the challenge of every first request; 437, 438, 486, 508, 300 ...).");
        Meter.CreateObservableCounter("p2p.relay.auth.failures", () => _last.Stats.AuthFailures, description: "Requests refused for credentials: unknown user, wrong password, expired REST username.");
        Meter.CreateObservableCounter("p2p.relay.credentials.expired", () => _last.Stats.ExpiredCredentials, description: "TURN REST usernames refused because their expiry had passed.");
        Meter.CreateObservableCounter("p2p.relay.malformed", () => _last.Stats.Malformed, description: "Packets that were neither STUN nor ChannelData (dropped).");
        Meter.CreateObservableCounter("p2p.relay.faults", () => _last.Stats.ChildFaults, description: "Relay children that threw and were stopped.");
        Meter.CreateObservableCounter("p2p.relay.allocations.failed", () => _last.Stats.AllocationsFailed, description: "Allocations that could not get a relayed port.");
    }

    public async Task RefreshAsync(CancellationToken cancel)
    {
        var stats = await _relay.Ask<RelayServerProtocol.Stats>(new RelayServerProtocol.GetStats(), _timeout, cancel);
        var list = await _relay.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), _timeout, cancel);
        var infos = await Task.WhenAll(list.Allocations.Select(async a =>
        {
            try { return (a.Allocation, Info: await a.Allocation.Ask<AllocationProtocol.Info>(new AllocationProtocol.GetInfo(), _timeout, cancel)); }
            catch (AskTimeoutException) { return (a.Allocation, Info: (AllocationProtocol.Info?)null); }
        }));
        var live = new HashSet<IActorRef>(list.Allocations.Select(a => a.Allocation));
        foreach (var gone in _seen.Keys.Where(k => !live.Contains(k)).ToList())
        {
            _retired += _seen[gone];
            _seen.Remove(gone);
        }
        foreach (var (allocation, info) in infos)
            if (info is not null) _seen[allocation] = Math.Max(_seen.GetValueOrDefault(allocation), info.ToPeer + info.FromPeer);
        _last = new Snapshot(stats, _retired + _seen.Values.Sum());
    }

    public void Dispose() => Meter.Dispose();
}
