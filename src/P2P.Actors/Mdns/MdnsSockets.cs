using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Akka.Actor;
using P2P.Protocol.Dns;

namespace P2P.Actors.Mdns;

/// <summary>
/// The sockets of <see cref="MdnsResponder"/>, behind a seam so that tests can run it on an in-memory link (the
/// virtual network carries no multicast). Every datagram received is told to the receiver as
/// <see cref="MdnsProtocol.DatagramReceived"/>.
/// </summary>
public interface IMdnsSockets
{
    /// <summary>Opens the sockets; <paramref name="problems"/> lists what could not be opened (mDNS then works in part, or not at all).</summary>
    IMdnsLink Open(IActorRef receiver, out IReadOnlyList<string> problems);
}

/// <summary>Open mDNS sockets.</summary>
public interface IMdnsLink : IDisposable
{
    /// <summary>A query from an ephemeral port (RFC 6762 §5.1's one-shot querier) to both groups, on every interface.</summary>
    void Query(ReadOnlySpan<byte> datagram);

    /// <summary>An answer to both groups from port 5353, on every interface (§6).</summary>
    void AnswerToGroups(ReadOnlySpan<byte> datagram);

    /// <summary>A unicast answer from port 5353 (a QU question, §5.4, or a legacy unicast query, §6.7).</summary>
    void AnswerTo(ReadOnlySpan<byte> datagram, IPEndPoint to);
}

/// <summary>
/// Real sockets: for each family, a responder socket bound to port 5353 with SO_REUSEADDR (so that avahi, a browser or
/// another p2p on the host keeps its own) that joins the mDNS group on every multicast interface, and a querier
/// socket on an ephemeral port. Multicast answers to anyone's query reach the responder socket; unicast answers to our
/// one-shot queries reach the querier socket, which no other program shares. IP TTL / hop limit 255 (RFC 6762 §11).
/// </summary>
public sealed class RealMdnsSockets : IMdnsSockets
{
    public IMdnsLink Open(IActorRef receiver, out IReadOnlyList<string> problems)
    {
        var found = new List<string>();
        var interfaces = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.SupportsMulticast && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .ToList();
        var v4 = interfaces.SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address).Where(a => a.AddressFamily == AddressFamily.InterNetwork).Distinct().ToList();
        var v6 = interfaces.Where(n => n.Supports(NetworkInterfaceComponent.IPv6))
            .Select(n => n.GetIPProperties().GetIPv6Properties()?.Index ?? 0).Where(i => i > 0).Distinct().ToList();
        if (v4.Count == 0 && v6.Count == 0) found.Add("no interface is up with multicast (loopback does not count)");
        var link = new Link(receiver, v4, v6, found);
        problems = found;
        return link;
    }

    private sealed class Link : IMdnsLink
    {
        private readonly List<IPAddress> _v4;
        private readonly List<int> _v6;
        private readonly Socket? _responder4, _responder6, _querier4, _querier6;
        private readonly IPEndPoint _group4 = new(MdnsNames.IPv4Group, MdnsNames.Port), _group6 = new(MdnsNames.IPv6Group, MdnsNames.Port);

        public Link(IActorRef receiver, List<IPAddress> v4, List<int> v6, List<string> problems)
        {
            _v4 = v4;
            _v6 = v6;
            if (v4.Count > 0)
            {
                _responder4 = Try(problems, "IPv4 port 5353", () => Responder(AddressFamily.InterNetwork, s =>
                {
                    foreach (var a in v4) s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(MdnsNames.IPv4Group, a));
                }));
                _querier4 = Try(problems, "IPv4 querier", () => Querier(AddressFamily.InterNetwork));
            }
            if (v6.Count > 0)
            {
                _responder6 = Try(problems, "IPv6 port 5353", () => Responder(AddressFamily.InterNetworkV6, s =>
                {
                    foreach (int i in v6) s.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(MdnsNames.IPv6Group, i));
                }));
                _querier6 = Try(problems, "IPv6 querier", () => Querier(AddressFamily.InterNetworkV6));
            }
            foreach (var socket in new[] { _responder4, _responder6, _querier4, _querier6 })
                if (socket is not null) _ = ReceiveLoop(socket, receiver);
        }

        public void Query(ReadOnlySpan<byte> datagram) => SendToGroups(_querier4, _querier6, datagram);

        public void AnswerToGroups(ReadOnlySpan<byte> datagram) => SendToGroups(_responder4, _responder6, datagram);

        public void AnswerTo(ReadOnlySpan<byte> datagram, IPEndPoint to)
        {
            var socket = to.AddressFamily == AddressFamily.InterNetwork ? _responder4 : _responder6;
            try { socket?.SendTo(datagram, SocketFlags.None, to); }
            catch (SocketException) { } // an unreachable querier: mDNS is best effort, the query comes again
        }

        private void SendToGroups(Socket? v4, Socket? v6, ReadOnlySpan<byte> datagram)
        {
            if (v4 is not null)
                foreach (var a in _v4)
                {
                    try
                    {
                        v4.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, a.GetAddressBytes());
                        v4.SendTo(datagram, SocketFlags.None, _group4);
                    }
                    catch (SocketException) { } // an interface going down: the others still get it
                }
            if (v6 is not null)
                foreach (int i in _v6)
                {
                    try
                    {
                        v6.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, i);
                        v6.SendTo(datagram, SocketFlags.None, _group6);
                    }
                    catch (SocketException) { }
                }
        }

        public void Dispose()
        {
            _responder4?.Dispose();
            _responder6?.Dispose();
            _querier4?.Dispose();
            _querier6?.Dispose();
        }

        private static Socket? Try(List<string> problems, string what, Func<Socket> open)
        {
            try { return open(); }
            catch (SocketException e)
            {
                problems.Add($"{what}: {e.Message}");
                return null;
            }
        }

        private static Socket Responder(AddressFamily family, Action<Socket> join)
        {
            var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                if (family == AddressFamily.InterNetworkV6) socket.DualMode = false;
                socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, MdnsNames.Port));
                SetMulticastOptions(socket, family);
                join(socket);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        private static Socket Querier(AddressFamily family)
        {
            var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                if (family == AddressFamily.InterNetworkV6) socket.DualMode = false;
                socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
                SetMulticastOptions(socket, family);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        private static void SetMulticastOptions(Socket socket, AddressFamily family)
        {
            var level = family == AddressFamily.InterNetwork ? SocketOptionLevel.IP : SocketOptionLevel.IPv6;
            socket.SetSocketOption(level, SocketOptionName.MulticastTimeToLive, 255);
            socket.SetSocketOption(level, SocketOptionName.MulticastLoopback, true); // another program on this host may be the peer
        }

        private static async Task ReceiveLoop(Socket socket, IActorRef receiver)
        {
            var buffer = new byte[9000]; // RFC 6762 §17: an mDNS message fits the interface MTU, 9000 at most
            EndPoint any = socket.AddressFamily == AddressFamily.InterNetwork ? new IPEndPoint(IPAddress.Any, 0) : new IPEndPoint(IPAddress.IPv6Any, 0);
            while (true)
            {
                SocketReceiveFromResult result;
                try { result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any).ConfigureAwait(false); }
                catch (ObjectDisposedException) { return; }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.Shutdown) { return; }
                catch (SocketException) { continue; } // an ICMP error for an earlier send: the socket still works
                receiver.Tell(new MdnsProtocol.DatagramReceived(buffer.AsSpan(0, result.ReceivedBytes).ToArray(), (IPEndPoint)result.RemoteEndPoint));
            }
        }
    }
}
