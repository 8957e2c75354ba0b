using System.Buffers;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;

namespace P2P.Host.Operations;

/// <summary>
/// What /health and /cluster say about a node: whether it serves (its listeners are up, it is not shutting down, and
/// in a cluster it is Up), and the cluster's members as this node sees them. Read from Akka's own state
/// (<see cref="Cluster.State"/>, <see cref="CoordinatedShutdown"/>), which is safe to read from any thread.
/// </summary>
public sealed class NodeStatus(ActorSystem system, string role)
{
    private readonly Cluster? _cluster = ((ExtendedActorSystem)system).Provider is Akka.Cluster.ClusterActorRefProvider ? Cluster.Get(system) : null;

    public string Role => role;

    /// <summary>True when the node serves: not shutting down and, in a cluster, a member that is Up (or WeaklyUp).</summary>
    public bool Healthy(out string status)
    {
        if (CoordinatedShutdown.Get(system).ShutdownReason is not null) { status = "shutting down"; return false; }
        if (_cluster is null) { status = "serving"; return true; }
        var self = _cluster.SelfMember.Status;
        status = self.ToString();
        return self is MemberStatus.Up or MemberStatus.WeaklyUp;
    }

    /// <summary>/health's body: {"status": "...", "role": "...", "healthy": bool}.</summary>
    public byte[] HealthJson(out bool healthy)
    {
        healthy = Healthy(out var status);
        bool ok = healthy;
        return Write(w =>
        {
            w.WriteString("status", status);
            w.WriteString("role", role);
            w.WriteBoolean("healthy", ok);
        });
    }

    /// <summary>/cluster's body: this node, its role, the members with their status and roles, the unreachable ones.</summary>
    public byte[] ClusterJson() => Write(w =>
    {
        w.WriteString("role", role);
        if (_cluster is null)
        {
            w.WriteString("self", system.Name);
            w.WriteBoolean("cluster", false); // no Akka.Cluster: the node alone
            w.WriteStartArray("members");
            w.WriteStartObject();
            w.WriteString("address", system.Name);
            w.WriteString("status", Healthy(out var status) ? "Up" : status);
            w.WriteStartArray("roles");
            w.WriteStringValue(role);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartArray("unreachable");
            w.WriteEndArray();
            return;
        }
        var state = _cluster.State;
        w.WriteString("self", _cluster.SelfAddress.ToString());
        w.WriteBoolean("cluster", true); // Akka.Cluster membership (p2p signal runs a one-node cluster when it is no fleet)
        w.WriteString("leader", state.Leader?.ToString());
        w.WriteStartArray("members");
        foreach (var member in state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("address", member.Address.ToString());
            w.WriteString("status", member.Status.ToString());
            w.WriteStartArray("roles");
            foreach (var r in member.Roles.Order(StringComparer.Ordinal)) w.WriteStringValue(r);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("unreachable");
        foreach (var member in state.Unreachable.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)) w.WriteStringValue(member.Address.ToString());
        w.WriteEndArray();
    });

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
