using System.Net;
using P2P.Protocol.Ice;

namespace P2P.Protocol.Tests.Ice;

/// <summary>Small builders for candidates in tests.</summary>
internal static class IceTestData
{
    public static IPEndPoint Ep(string ip, int port) => new(IPAddress.Parse(ip), port);

    public static IceCandidate Host(string ip, int port, uint? priority = null, int component = 1, string? foundation = null) =>
        new(foundation ?? CandidateFoundation.Compute(CandidateType.Host, IPAddress.Parse(ip), null, CandidateTransport.Udp),
            component, CandidateTransport.Udp,
            priority ?? CandidatePriority.Compute(CandidateType.Host, CandidatePriority.LocalPreference(IPAddress.Parse(ip), 1), component),
            Ep(ip, port), CandidateType.Host);

    public static IceCandidate Srflx(string ip, int port, string baseIp, int basePort, int component = 1, string server = "198.51.100.1") =>
        new(CandidateFoundation.Compute(CandidateType.ServerReflexive, IPAddress.Parse(baseIp), Ep(server, 3478), CandidateTransport.Udp),
            component, CandidateTransport.Udp,
            CandidatePriority.Compute(CandidateType.ServerReflexive, 65535, component),
            Ep(ip, port), CandidateType.ServerReflexive, Ep(baseIp, basePort));

    public static IceCandidate Relay(string ip, int port, string mappedIp, int mappedPort, int component = 1) =>
        new(CandidateFoundation.Compute(CandidateType.Relayed, IPAddress.Parse(ip), Ep("198.51.100.9", 3478), CandidateTransport.Udp),
            component, CandidateTransport.Udp,
            CandidatePriority.Compute(CandidateType.Relayed, 65535, component),
            Ep(ip, port), CandidateType.Relayed, Ep(mappedIp, mappedPort));

    public static IceCandidate Tcp(string ip, int port, TcpCandidateType tcpType, int component = 1) =>
        new(CandidateFoundation.Compute(CandidateType.Host, IPAddress.Parse(ip), null, CandidateTransport.Tcp),
            component, CandidateTransport.Tcp,
            CandidatePriority.Compute(CandidateType.Host, CandidatePriority.LocalPreference(IPAddress.Parse(ip), 1, tcpType, false), component),
            Ep(ip, tcpType == TcpCandidateType.Active ? IceCandidate.ActiveTcpPort : port), CandidateType.Host, TcpType: tcpType);
}
