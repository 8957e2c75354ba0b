using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace P2P.Actors.Relay.Fleet;

/// <summary>
/// What one relay node of a fleet tells the others about itself: where clients reach it (for ALTERNATE-SERVER, RFC 8489
/// §14.15), how many allocations it holds against its capacity (RFC 8656 §7.2's 508), whether it drains, and how many
/// allocations each user holds on it (RFC 8656 §7.2's 486, counted across the fleet). The node is the one writer of its
/// entry; the value travels as one JSON string in the fleet's replicated dictionary, so its serialization is trivial.
/// </summary>
/// <param name="Udp">Client-facing UDP listening endpoints.</param>
/// <param name="Tcp">Client-facing TCP listening endpoints.</param>
/// <param name="Tls">Client-facing TURN-over-TLS endpoints.</param>
/// <param name="Allocations">Allocations in use (and being made) on the node.</param>
/// <param name="Capacity">The node's max-allocations.</param>
/// <param name="Draining">The node takes no new allocations.</param>
/// <param name="Users">Allocations per user on the node (users with none are left out).</param>
public sealed record RelayNodeEntry(
    IReadOnlyList<string> Udp, IReadOnlyList<string> Tcp, IReadOnlyList<string> Tls,
    int Allocations, int Capacity, bool Draining, IReadOnlyDictionary<string, int> Users)
{
    public static readonly RelayNodeEntry Empty = new([], [], [], 0, 0, false, new Dictionary<string, int>());

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Room for one more allocation: not draining and below capacity.</summary>
    [JsonIgnore]
    public bool HasRoom => !Draining && Allocations < Capacity;

    /// <summary>Allocations per capacity, for picking the least loaded node.</summary>
    [JsonIgnore]
    public double Load => Capacity <= 0 ? 1.0 : (double)Allocations / Capacity;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The entry a node wrote, or false (with the reason) for a value that is not one; it is then ignored.</summary>
    public static bool TryParse(string json, out RelayNodeEntry entry, out string? error)
    {
        entry = Empty;
        error = null;
        try
        {
            var parsed = JsonSerializer.Deserialize<RelayNodeEntry>(json, Json);
            if (parsed is null || parsed.Udp is null || parsed.Tcp is null || parsed.Tls is null || parsed.Users is null)
            {
                error = "an entry without its lists";
                return false;
            }
            entry = parsed;
            return true;
        }
        catch (JsonException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>The endpoints of <paramref name="kind"/> as addresses (unparseable ones are skipped).</summary>
    public IEnumerable<IPEndPoint> EndPoints(ListenerKind kind)
    {
        foreach (var text in kind switch { ListenerKind.Udp => Udp, ListenerKind.Tcp => Tcp, _ => Tls })
            if (IPEndPoint.TryParse(text, out var ep)) yield return ep;
    }
}

/// <summary>Which of a node's listeners a client reached it on (and so which kind of listener ALTERNATE-SERVER names).</summary>
public enum ListenerKind
{
    Udp,
    Tcp,
    Tls,
}
