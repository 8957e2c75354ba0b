using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Virtual;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// Peers on the virtual network with the actor system's ordinary scheduler: time is real. For whole secure sessions,
/// whose DTLS handshake (BouncyCastle) times its retransmissions by the wall clock, so virtual time would let ICE
/// consent and SCTP timers run ahead of a handshake still waiting on a lost flight.
/// </summary>
public abstract class RealTimeVirtualNetworkTestBase : TestKit
{
    protected RealTimeVirtualNetworkTestBase(string config, ITestOutputHelper output, int seed) : base(config, output) =>
        Net = new VirtualNetwork(Sys, seed);

    protected VirtualNetwork Net { get; }

    /// <summary>
    /// Our TURN server ("relay") on a new public host at <paramref name="address"/>, with one user, listening;
    /// <paramref name="wrap"/> may put something between the host's sockets and the server.
    /// </summary>
    protected async Task<IActorRef> StartRelayAsync(IPEndPoint address, TurnCredentials user, Func<IUdpSocketFactory, IUdpSocketFactory>? wrap = null)
    {
        Net.AddPublicHost("relay", address.Address);
        var settings = new RelaySettings { Listen = [address], Realm = "vnet", Users = new Dictionary<string, string> { [user.Username] = user.Password } };
        var sockets = Net.SocketsOf("relay");
        var relay = Sys.ActorOf(RelayServer.Props(settings, wrap is null ? sockets : wrap(sockets)), "relay");
        Assert.IsType<RelayServerProtocol.Listening>(await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), TimeSpan.FromSeconds(60)));
        return relay;
    }

    /// <summary>A peer on a new public host of the network, bound to port 5000 of every address; with <paramref name="turn"/>, its TURN server.</summary>
    protected IActorRef StartPeer(string name, string address, IceSettings? ice = null, TurnServer? turn = null, TurnClientSettings? client = null)
    {
        Net.AddPublicHost(name, IPAddress.Parse(address));
        var settings = new LocalPeerSettings(name, new IPEndPoint(IPAddress.Any, 5000), [], turn is null ? [] : [turn]) { Sockets = Net.SocketsOf(name) };
        var parent = CreateTestProbe();
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, ice ?? IceSettings.Default, StunSettings.Default, client ?? TurnClientSettings.Default), name);
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(TimeSpan.FromSeconds(10));
        return peer;
    }
}
