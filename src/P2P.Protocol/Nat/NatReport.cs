using System.Net;

namespace P2P.Protocol.Nat;

/// <summary>How a NAT maps an internal endpoint to external ones, as RFC 5780 §4.3 finds it (RFC 4787 §4.1 names).</summary>
public enum MappingBehavior
{
    /// <summary>Not known: no RFC 5780 server, or the tests did not finish.</summary>
    Unknown,

    /// <summary>No NAT: the mapped address is the local one.</summary>
    NoNat,

    /// <summary>One mapping per internal endpoint, whatever the destination: hole punching works.</summary>
    EndpointIndependent,

    /// <summary>A new mapping per destination address.</summary>
    AddressDependent,

    /// <summary>A new mapping per destination address and port (a "symmetric" NAT).</summary>
    AddressAndPortDependent,
}

/// <summary>Which inbound packets a NAT lets through a mapping, as RFC 5780 §4.4 finds it (RFC 4787 §5 names).</summary>
public enum FilteringBehavior
{
    /// <summary>Not known.</summary>
    Unknown,

    /// <summary>Anyone may send to the mapping.</summary>
    EndpointIndependent,

    /// <summary>Only addresses the inside has sent to.</summary>
    AddressDependent,

    /// <summary>Only the exact address and port the inside has sent to.</summary>
    AddressAndPortDependent,
}

/// <summary>How a NAT picks the external port of a new mapping (what port prediction needs).</summary>
public enum PortAllocation
{
    /// <summary>Not known.</summary>
    Unknown,

    /// <summary>The external port is the internal one (RFC 4787 §4.2.1 port preservation).</summary>
    Preserving,

    /// <summary>Each new mapping takes the previous one's port plus <see cref="NatReport.PortStep"/>.</summary>
    Sequential,

    /// <summary>Ports with no pattern: only the birthday method can meet them.</summary>
    Random,
}

/// <summary>
/// What one peer learned about its own NAT with RFC 5780 (and what it tells the other peer in our descriptions,
/// <c>a=x-p2p-nat</c>). Null members were not measured. <see cref="PortPrediction"/> says the peer takes part in port
/// prediction (<c>p2p.ice.port-prediction = on</c>); prediction runs only when both peers say so.
/// </summary>
public sealed record NatReport(MappingBehavior Mapping, FilteringBehavior Filtering, PortAllocation Allocation)
{
    /// <summary>For <see cref="PortAllocation.Sequential"/>: the difference between two consecutive mappings' ports.</summary>
    public int? PortStep { get; init; }

    /// <summary>The NAT sends a packet to its own external address back inside (RFC 5780 §4.5).</summary>
    public bool? Hairpinning { get; init; }

    /// <summary>An idle mapping lasted at least this long (RFC 5780 §4.6, an estimate).</summary>
    public TimeSpan? MappingLifetime { get; init; }

    /// <summary>The public address the STUN server saw (the address a predicting peer may probe, and no other).</summary>
    public IPAddress? PublicAddress { get; init; }

    /// <summary>This peer takes part in port prediction.</summary>
    public bool PortPrediction { get; init; }

    /// <summary>A report that says nothing was measured.</summary>
    public static NatReport Unknown { get; } = new(MappingBehavior.Unknown, FilteringBehavior.Unknown, PortAllocation.Unknown);
}
