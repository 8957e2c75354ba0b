using System.Net;
using Akka.Actor;
using P2P.Actors.Relay;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Virtual;
using Xunit;

namespace P2P.Actors.Tests.Stun;

/// <summary>
/// Our relay as an RFC 5780 server on the virtual network, whose hosts have one address each: two public hosts
/// ("stun" at <see cref="Primary"/>, "stun-alt" at <see cref="Alternate"/>) and one server actor whose sockets bound to the
/// alternate address are made on the second host.
/// </summary>
internal static class VirtualRfc5780Server
{
    public static readonly IPAddress Primary = IPAddress.Parse("198.51.100.1"), Alternate = IPAddress.Parse("198.51.100.2");
    public static readonly IPEndPoint Server = new(Primary, 3478);

    private sealed class TwoHostSockets(IUdpSocketFactory primary, IUdpSocketFactory alternate) : IUdpSocketFactory
    {
        public Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0, IUdpRouter? router = null) =>
            (bind.Address.Equals(Alternate) ? alternate : primary).Create(bind, handler, socketBufferBytes, router);
    }

    /// <summary>Adds the two hosts and starts the server (with or without its alternate address); returns once it listens.</summary>
    public static async Task StartAsync(VirtualNetwork net, ActorSystem system, bool alternate = true)
    {
        net.AddPublicHost("stun", Primary);
        net.AddPublicHost("stun-alt", Alternate);
        var settings = new RelaySettings { Listen = [Server], AlternateIp = alternate ? Alternate : null };
        var relay = system.ActorOf(RelayServer.Props(settings, new TwoHostSockets(net.SocketsOf("stun"), net.SocketsOf("stun-alt"))), "relay");
        var listening = Assert.IsType<RelayServerProtocol.Listening>(await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), TimeSpan.FromSeconds(30)));
        Assert.Equal(alternate ? 4 : 1, listening.Udp.Count);
    }
}
