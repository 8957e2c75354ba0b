using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Virtual;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// Two peers on the virtual network, each on a public host or behind a NAT of a given behaviour, with our
/// relay (STUN and TURN) on a public host; time is virtual and moves only when <see cref="RunUntil"/> advances it.
/// </summary>
public abstract class IceVirtualNetworkTestBase(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    protected static readonly IPEndPoint RelayServerEndPoint = Ep("198.51.100.1:3478");
    protected static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    protected IActorRef? Relay { get; private set; }

    protected sealed record Side(string Name, IActorRef Peer, string Host);

    /// <summary>Builds the network: the relay host, and for each side a public host or a NAT with a private host behind it.</summary>
    protected async Task<(Side A, Side B)> BuildAsync(string? natA, string? natB, IceSettings? ice = null, bool turn = true, bool stun = true)
    {
        Net.AddPublicHost("relay", RelayServerEndPoint.Address);
        Relay = await StartRelay("relay", RelayServerEndPoint);
        var a = AddSide("alice", natA, "203.0.113.1", "203.0.113.10", "10.0.1.2", ice, turn, stun);
        var b = AddSide("bob", natB, "203.0.113.2", "203.0.113.20", "10.0.2.2", ice, turn, stun);
        return (a, b);
    }

    private Side AddSide(string name, string? nat, string natAddress, string publicAddress, string privateAddress, IceSettings? ice, bool turn, bool stun)
    {
        string host = name;
        if (nat is null) Net.AddPublicHost(host, Ip(publicAddress));
        else
        {
            Net.AddNat($"nat-{name}", Ip(natAddress), Preset(nat));
            Net.AddPrivateHost(host, Ip(privateAddress), $"nat-{name}");
        }
        var settings = new PeerSettings(name, new IPEndPoint(IPAddress.Any, 5000),
            stun ? [RelayServerEndPoint] : [],
            turn ? [new TurnServer(RelayServerEndPoint, new TurnCredentials(TurnUser, TurnPassword))] : [])
        {
            Sockets = Net.SocketsOf(host),
        };
        var parent = CreateTestProbe();
        var peer = parent.ChildActorOf(Peer.Props(settings, ice ?? IceSettings.Default, StunSettings.Default, TurnClientSettings.Default), name);
        parent.ExpectMsg<PeerProtocol.PeerReady>(Wait);
        return new Side(name, peer, host);
    }

    /// <summary>Opens a session between the two sides (alice controlling unless told otherwise) through a <see cref="SessionLink"/>.</summary>
    protected TestProbe OpenSessions(Side a, Side b, string id, bool aControlling = true, bool bControlling = false)
    {
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        a.Peer.Tell(new PeerProtocol.OpenSession(id + "/a", aControlling, link));
        b.Peer.Tell(new PeerProtocol.OpenSession(id + "/b", bControlling, link));
        return events;
    }

    /// <summary>
    /// Moves virtual time in small steps, handing each event that arrived to <paramref name="handle"/>, until it
    /// returns true; fails when <paramref name="virtualLimit"/> of virtual time passed first.
    /// </summary>
    protected TimeSpan RunUntil(TestProbe events, Func<object, bool> handle, TimeSpan virtualLimit)
    {
        var elapsed = TimeSpan.Zero;
        while (true)
        {
            object? message;
            while ((message = events.ReceiveOne(TimeSpan.FromMilliseconds(2))) is not null)
                if (handle(message)) return elapsed;
            if (elapsed >= virtualLimit) throw new Xunit.Sdk.XunitException($"nothing conclusive after {virtualLimit.TotalSeconds} s of virtual time");
            Scheduler.Advance(Step);
            elapsed += Step;
        }
    }

    /// <summary>Runs until both sessions of <paramref name="id"/> are connected (a failure ends the test with its reason).</summary>
    protected (Dictionary<string, IActorRef> Sessions, Dictionary<string, SelectedPair> Pairs, TimeSpan Elapsed) Connect(TestProbe events, string id, TimeSpan? limit = null)
    {
        var sessions = new Dictionary<string, IActorRef>();
        var pairs = new Dictionary<string, SelectedPair>();
        var elapsed = RunUntil(events, m =>
        {
            switch (m)
            {
                case SessionProtocol.Started s: sessions[s.SessionId] = s.Session; break;
                case SessionProtocol.Failed f: throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
                case SessionProtocol.Connected c: pairs[c.SessionId] = c.Pair; break;
            }
            return pairs.ContainsKey(id + "/a") && pairs.ContainsKey(id + "/b");
        }, limit ?? TimeSpan.FromSeconds(60));
        return (sessions, pairs, elapsed);
    }

    /// <summary>Sends a line each way and runs until both arrived.</summary>
    protected void ExchangeData(TestProbe events, Dictionary<string, IActorRef> sessions, string id)
    {
        sessions[id + "/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("from a")));
        sessions[id + "/b"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("from b")));
        var got = new Dictionary<string, string>();
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.DataReceived d) got[d.SessionId] = Encoding.UTF8.GetString(d.Data.Span);
            return got.Count == 2;
        }, TimeSpan.FromSeconds(10));
        Assert.Equal("from a", got[id + "/b"]);
        Assert.Equal("from b", got[id + "/a"]);
    }

    protected static bool IsRelayed(SelectedPair pair) => pair.Local.Type == Protocol.Ice.CandidateType.Relayed || pair.Remote.Type == Protocol.Ice.CandidateType.Relayed;
}
