using System.Net;
using Akka.Actor;

namespace P2P.Actors.Transport;

/// <summary>Makes the actor that owns one UDP socket: a real one, or a port on the virtual network.</summary>
public interface IUdpSocketFactory
{
    Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0);
}

/// <summary>Real sockets (<see cref="UdpSocket"/>).</summary>
public sealed class RealUdpSockets : IUdpSocketFactory
{
    public static readonly RealUdpSockets Instance = new();

    public Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0) => UdpSocket.Props(bind, handler, socketBufferBytes);
}
