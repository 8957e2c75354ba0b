namespace P2P.Actors.Transport.Virtual;

/// <summary>
/// How a NAT chooses the external endpoint of an outbound flow (RFC 4787 §4.1). With
/// <see cref="EndpointIndependent"/> an internal endpoint keeps one mapping whatever it talks to (REQ-1: a
/// behaviour NATs are required to have, and the one that makes hole punching work).
/// </summary>
public enum NatMapping
{
    /// <summary>One mapping per internal endpoint, reused for every destination.</summary>
    EndpointIndependent,

    /// <summary>One mapping per internal endpoint and destination address (any port of that address).</summary>
    AddressDependent,

    /// <summary>One mapping per internal endpoint and destination endpoint: the "symmetric NAT".</summary>
    AddressAndPortDependent,
}

/// <summary>
/// Which inbound packets a NAT lets through an existing mapping (RFC 4787 §5). REQ-8 recommends
/// <see cref="EndpointIndependent"/> when transparency matters most and <see cref="AddressDependent"/> when
/// stricter filtering is wanted.
/// </summary>
public enum NatFiltering
{
    /// <summary>Anyone may send to the mapped endpoint ("full cone").</summary>
    EndpointIndependent,

    /// <summary>Only addresses the internal endpoint has sent to, from any of their ports ("address-restricted cone").</summary>
    AddressDependent,

    /// <summary>Only the exact endpoints the internal endpoint has sent to ("port-restricted cone", and symmetric NATs).</summary>
    AddressAndPortDependent,
}

/// <summary>
/// How a NAT picks the external port of a new mapping when it does not keep the internal one (RFC 4787 §4.2.1
/// leaves it open). Port prediction (issue 16) depends on it: a sequence can be guessed from a few mapped ports,
/// random ports only met by the birthday method.
/// </summary>
public enum NatPortAllocation
{
    /// <summary>Each new mapping takes the previous one's port plus <see cref="NatBehavior.PortStep"/> (many carrier NATs).</summary>
    Sequential,

    /// <summary>A port drawn at random from 1024-65535 for each new mapping (Linux <c>masquerade fully-random</c>).</summary>
    Random,
}

/// <summary>
/// The behaviour of one virtual NAT, named after RFC 4787. Start from a preset and change one aspect with
/// <c>with { }</c>, for example <c>NatBehavior.PortRestrictedCone with { Hairpinning = false }</c>.
/// </summary>
public sealed record NatBehavior
{
    /// <summary>RFC 4787 REQ-5: a UDP mapping must not expire in less than 2 minutes (unless the port is in the IANA well-known range).</summary>
    public static readonly TimeSpan Rfc4787MinimumMappingTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Mapping behaviour (RFC 4787 §4.1).</summary>
    public NatMapping Mapping { get; init; } = NatMapping.EndpointIndependent;

    /// <summary>Filtering behaviour (RFC 4787 §5).</summary>
    public NatFiltering Filtering { get; init; } = NatFiltering.AddressAndPortDependent;

    /// <summary>
    /// Port preservation (RFC 4787 §4.2.1): a new mapping keeps the internal port as its external port when no other
    /// mapping holds it; otherwise (or when false) the NAT picks another port.
    /// </summary>
    public bool PortPreservation { get; init; } = true;

    /// <summary>How the NAT picks a port it does not preserve (drawn from the network's seed when random).</summary>
    public NatPortAllocation PortAllocation { get; init; } = NatPortAllocation.Sequential;

    /// <summary>For <see cref="NatPortAllocation.Sequential"/>: the distance between two consecutive new mappings' ports.</summary>
    public int PortStep { get; init; } = 1;

    /// <summary>
    /// A mapping with no outbound packet for this long is removed (RFC 4787 §4.3). Only outbound packets refresh
    /// it (REQ-6 requires outbound refresh; inbound refresh is optional and not modelled). REQ-5 asks for at least
    /// 2 minutes, the default; tests may use shorter values.
    /// </summary>
    public TimeSpan MappingTimeout { get; init; } = Rfc4787MinimumMappingTimeout;

    /// <summary>
    /// Hairpinning (RFC 4787 §6, REQ-9): a packet from inside to one of the NAT's own external mappings is turned
    /// back inside, its source being the sender's external mapping (REQ-9 b). When false such packets are dropped,
    /// as many real NATs (and plain Linux masquerade) do.
    /// </summary>
    public bool Hairpinning { get; init; } = true;

    /// <summary>Endpoint-independent mapping and filtering: once mapped, anyone can reach the internal endpoint.</summary>
    public static NatBehavior FullCone { get; } = new() { Mapping = NatMapping.EndpointIndependent, Filtering = NatFiltering.EndpointIndependent };

    /// <summary>Endpoint-independent mapping, address-dependent filtering.</summary>
    public static NatBehavior AddressRestrictedCone { get; } = new() { Mapping = NatMapping.EndpointIndependent, Filtering = NatFiltering.AddressDependent };

    /// <summary>Endpoint-independent mapping, address-and-port-dependent filtering (Linux masquerade with conntrack).</summary>
    public static NatBehavior PortRestrictedCone { get; } = new() { Mapping = NatMapping.EndpointIndependent, Filtering = NatFiltering.AddressAndPortDependent };

    /// <summary>
    /// Address-and-port-dependent mapping and filtering without port preservation, on random ports (Linux masquerade
    /// <c>fully-random</c>): every destination endpoint sees another external port, with no pattern.
    /// </summary>
    public static NatBehavior Symmetric { get; } = new()
    {
        Mapping = NatMapping.AddressAndPortDependent,
        Filtering = NatFiltering.AddressAndPortDependent,
        PortPreservation = false,
        PortAllocation = NatPortAllocation.Random,
    };

    /// <summary>As <see cref="Symmetric"/>, but new mappings take consecutive ports (a carrier NAT's allocator).</summary>
    public static NatBehavior SymmetricSequential { get; } = Symmetric with { PortAllocation = NatPortAllocation.Sequential };

    /// <summary>Null when the behaviour makes sense, else one sentence saying what is wrong.</summary>
    public string? Validate() =>
        MappingTimeout <= TimeSpan.Zero ? "the mapping timeout must be positive"
        : PortStep is < 1 or > 1000 ? "the port step must be 1 to 1000"
        : null;
}
