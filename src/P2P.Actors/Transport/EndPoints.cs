using System.Net;

namespace P2P.Actors.Transport;

/// <summary>Addresses as the engine compares them: an IPv4 peer seen through a dual-stack socket (::ffff:a.b.c.d) is a.b.c.d.</summary>
public static class EndPoints
{
    public static IPEndPoint Unmapped(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;

    public static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
