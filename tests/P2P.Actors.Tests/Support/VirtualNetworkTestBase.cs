using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// A <see cref="VirtualNetwork"/> in an actor system with TestKit's virtual-time scheduler, and helpers to open
/// sockets on its hosts, run our STUN/TURN server on it, and wait until every packet in flight has landed.
/// </summary>
public abstract class VirtualNetworkTestBase : TestKit
{
    private const string VirtualTime = """
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = INFO
        """;

    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    protected const string TurnUser = "alice";
    protected const string TurnPassword = "secret";

    private readonly List<Endpoint> _endpoints = [];

    protected VirtualNetworkTestBase(ITestOutputHelper output) : base(VirtualTime, output) => Net = new VirtualNetwork(Sys, seed: 42);

    protected VirtualNetwork Net { get; }

    protected TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    protected static IPAddress Ip(string text) => IPAddress.Parse(text);

    protected static IPEndPoint Ep(string text) => IPEndPoint.Parse(text);

    /// <summary>A socket on a host, owned by a <see cref="VirtualEndpoint"/>; what it receives (not for a client) lands in <see cref="Inbox"/>.</summary>
    protected sealed record Endpoint(IActorRef Actor, IActorRef Socket, IPEndPoint Local, TestProbe Inbox);

    protected Endpoint Open(string host, int port = 0, IPAddress? address = null, VirtualNetwork? network = null)
    {
        var inbox = CreateTestProbe();
        var actor = Sys.ActorOf(VirtualEndpoint.Props((network ?? Net).SocketsOf(host), new IPEndPoint(address ?? IPAddress.Any, port), inbox.Ref));
        var ready = inbox.ExpectMsg<VirtualEndpoint.Ready>(Wait);
        var endpoint = new Endpoint(actor, ready.Socket, ready.Local, inbox);
        _endpoints.Add(endpoint);
        return endpoint;
    }

    protected static void Send(Endpoint from, IPEndPoint to, string text) =>
        from.Socket.Tell(new UdpSocketProtocol.Send(to, Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// Waits until everything the endpoints were told has gone through their sockets, the wire and back into the
    /// inboxes (each hop is FIFO, so one round of questions behind the traffic is enough), then returns the
    /// network's counters. Packets held by a delay stay in flight until virtual time reaches them.
    /// </summary>
    protected async Task<VirtualNetworkProtocol.Stats> Settle(VirtualNetwork? network = null)
    {
        foreach (var e in _endpoints) await e.Socket.Ask<UdpSocketProtocol.Stats>(new UdpSocketProtocol.GetStats(), Wait);
        var stats = await (network ?? Net).GetStatsAsync(Wait);
        foreach (var e in _endpoints) await e.Socket.Ask<UdpSocketProtocol.Stats>(new UdpSocketProtocol.GetStats(), Wait);
        foreach (var e in _endpoints) await e.Actor.Ask<VirtualEndpoint.Pong>(VirtualEndpoint.Ping.Instance, Wait);
        return stats;
    }

    /// <summary>The datagrams that have reached the endpoint's inbox so far (call after <see cref="Settle"/>).</summary>
    protected static List<(IPEndPoint From, string Text)> Drain(Endpoint endpoint)
    {
        var got = new List<(IPEndPoint, string)>();
        while (endpoint.Inbox.HasMessages)
        {
            var r = Assert.IsType<UdpSocketProtocol.Received>(endpoint.Inbox.ReceiveOne(TimeSpan.Zero));
            got.Add((r.From, Encoding.UTF8.GetString(r.Payload.Span)));
        }
        return got;
    }

    /// <summary>Our <see cref="RelayServer"/> on a host of the network, serving STUN (and TURN for <see cref="TurnUser"/>).</summary>
    protected Task<IActorRef> StartRelay(string host, params IPEndPoint[] listen) => StartRelay(host, listen[0], null, listen);

    /// <summary>As above, with the settings changed by <paramref name="adjust"/> (quotas, lifetimes).</summary>
    protected async Task<IActorRef> StartRelay(string host, IPEndPoint first, Func<RelaySettings, RelaySettings>? adjust, params IPEndPoint[] more)
    {
        var listen = more.Length > 0 ? more : [first];
        var settings = new RelaySettings
        {
            Listen = listen,
            Realm = "vnet",
            Users = new Dictionary<string, string> { [TurnUser] = TurnPassword },
        };
        if (adjust is not null) settings = adjust(settings);
        var relay = Sys.ActorOf(RelayServer.Props(settings, Net.SocketsOf(host)), $"relay-{host}");
        var listening = Assert.IsType<RelayServerProtocol.Listening>(await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), Wait));
        Assert.Equal(listen, listening.Udp);
        Assert.Empty(listening.Tcp);
        return relay;
    }

    /// <summary>Runs our <see cref="StunProber"/> on the endpoint's socket against <paramref name="server"/>: the mapped address it finds.</summary>
    protected IPEndPoint MappedBy(Endpoint endpoint, IPEndPoint server)
    {
        var owner = CreateTestProbe();
        endpoint.Actor.Tell(new VirtualEndpoint.StartClient(server, socket => StunProber.Props(StunSettings.Default, server, socket, owner.Ref)), owner.Ref);
        owner.ExpectMsg<VirtualEndpoint.ClientStarted>(Wait);
        return owner.ExpectMsg<StunProberProtocol.MappedAddressDiscovered>(Wait).Mapped;
    }

    /// <summary>A preset by name, so theories read as the NAT types they test.</summary>
    protected static NatBehavior Preset(string name) => name switch
    {
        "FullCone" => NatBehavior.FullCone,
        "AddressRestrictedCone" => NatBehavior.AddressRestrictedCone,
        "PortRestrictedCone" => NatBehavior.PortRestrictedCone,
        "Symmetric" => NatBehavior.Symmetric,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a NAT preset"),
    };
}
