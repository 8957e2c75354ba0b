using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>
/// Host candidates (RFC 8445 §5.1.1.1) for a socket: its own address when it is bound to one (a loopback test,
/// or a host of the virtual network), else every usable address of the machine's interfaces in the socket's
/// family (IPv4 or IPv6; loopback and IPv6 link-local left out), each with the socket's port.
/// Priorities prefer IPv6 and earlier interfaces (RFC 8421 spirit), foundations follow §5.1.1.3.
/// </summary>
public static class CandidateGatherer
{
    /// <summary>An address of an interface, with the interface's position in the system's list.</summary>
    public readonly record struct InterfaceAddress(IPAddress Address, int InterfaceIndex);

    public static IReadOnlyList<IceCandidate> HostCandidates(IPEndPoint bound, IEnumerable<InterfaceAddress>? interfaces = null)
    {
        IEnumerable<InterfaceAddress> addresses = IsAny(bound.Address)
            ? (interfaces ?? MachineAddresses()).Where(a => a.Address.AddressFamily == bound.AddressFamily && Usable(a.Address))
            : [new InterfaceAddress(bound.Address, 0)];
        return addresses
            .DistinctBy(a => a.Address)
            .Select(a => new IceCandidate(
                CandidateFoundation.Compute(CandidateType.Host, a.Address, null, CandidateTransport.Udp),
                1, CandidateTransport.Udp,
                CandidatePriority.Compute(CandidateType.Host, CandidatePriority.LocalPreference(a.Address, a.InterfaceIndex), 1),
                new IPEndPoint(a.Address, bound.Port), CandidateType.Host))
            .ToList();
    }

    /// <summary>The addresses of the interfaces that are up, in the system's order.</summary>
    public static IEnumerable<InterfaceAddress> MachineAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany((n, index) => n.GetIPProperties().UnicastAddresses.Select(u => new InterfaceAddress(u.Address, index)));

    private static bool IsAny(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    /// <summary>RFC 8445 §5.1.1.1: loopback addresses MUST NOT be candidates (a socket bound to one is another matter: a test).</summary>
    private static bool Usable(IPAddress address) =>
        !IPAddress.IsLoopback(address) && !address.IsIPv6LinkLocal && !address.IsIPv6Multicast
        && !(address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] == 169 && address.GetAddressBytes()[1] == 254);
}
