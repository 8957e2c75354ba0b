using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Transport.Virtual;
using P2P.Actors.Turn;
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

    /// <summary>A peer of the test; its Parent probe hears PeerReady, GatheringProblem and PeerFailed.</summary>
    protected sealed record Side(string Name, IActorRef Peer, string Host, TestProbe Parent);

    /// <summary>Builds the network: the relay host, and for each side a public host or a NAT with a private host behind it.</summary>
    protected async Task<(Side A, Side B)> BuildAsync(string? natA, string? natB, IceSettings? ice = null, bool turn = true, bool stun = true,
        bool wrongTurnPassword = false, Func<RelaySettings, RelaySettings>? relay = null, Func<NatBehavior, NatBehavior>? nat = null,
        Action? beforePeers = null)
    {
        Net.AddPublicHost("relay", RelayServerEndPoint.Address);
        Relay = await StartRelay("relay", RelayServerEndPoint, relay, RelayServerEndPoint);
        AddHost("alice", natA, "203.0.113.1", "203.0.113.10", "10.0.1.2", nat);
        AddHost("bob", natB, "203.0.113.2", "203.0.113.20", "10.0.2.2", nat);
        beforePeers?.Invoke();
        IReadOnlyList<IPEndPoint> stunServers = stun ? [RelayServerEndPoint] : [];
        IReadOnlyList<TurnServer> turnServers = turn
            ? [new TurnServer(RelayServerEndPoint, new TurnCredentials(TurnUser, wrongTurnPassword ? "wrong" : TurnPassword))]
            : [];
        return (StartPeer("alice", "alice", stunServers, turnServers, ice), StartPeer("bob", "bob", stunServers, turnServers, ice));
    }

    private void AddHost(string name, string? natKind, string natAddress, string publicAddress, string privateAddress, Func<NatBehavior, NatBehavior>? nat)
    {
        if (natKind is null) Net.AddPublicHost(name, Ip(publicAddress));
        else
        {
            var behavior = Preset(natKind);
            Net.AddNat($"nat-{name}", Ip(natAddress), nat is null ? behavior : nat(behavior));
            Net.AddPrivateHost(name, Ip(privateAddress), $"nat-{name}");
        }
    }

    /// <summary>Starts a peer on <paramref name="host"/> (which must exist) binding port 5000 of every address.</summary>
    protected Side StartPeer(string name, string host, IReadOnlyList<IPEndPoint> stun, IReadOnlyList<TurnServer> turn, IceSettings? ice = null)
    {
        var settings = new LocalPeerSettings(name, new IPEndPoint(IPAddress.Any, 5000), stun, turn) { Sockets = Net.SocketsOf(host) };
        var parent = CreateTestProbe();
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, ice ?? IceSettings.Default, StunSettings.Default, TurnClientSettings.Default), name);
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Wait);
        return new Side(name, peer, host, parent);
    }

    /// <summary>Opens a session between the two sides (alice controlling unless told otherwise) through a <see cref="SessionLink"/>.</summary>
    protected TestProbe OpenSessions(Side a, Side b, string id, bool aControlling = true, bool bControlling = false)
    {
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        a.Peer.Tell(new LocalPeerProtocol.OpenSession(id + "/a", aControlling, link));
        b.Peer.Tell(new LocalPeerProtocol.OpenSession(id + "/b", bControlling, link));
        return events;
    }

    /// <summary>
    /// Moves virtual time in small steps, handing each event that arrived to <paramref name="handle"/>, until it
    /// returns true; fails when <paramref name="virtualLimit"/> of virtual time passed first.
    /// </summary>
    protected TimeSpan RunUntil(TestProbe events, Func<object, bool> handle, TimeSpan virtualLimit, TimeSpan? step = null, bool failAtLimit = true)
    {
        var elapsed = TimeSpan.Zero;
        while (true)
        {
            object? message;
            while ((message = events.ReceiveOne(TimeSpan.FromMilliseconds(2))) is not null)
                if (handle(message)) return elapsed;
            if (elapsed >= virtualLimit)
            {
                if (failAtLimit) throw new Xunit.Sdk.XunitException($"nothing conclusive after {virtualLimit.TotalSeconds} s of virtual time");
                return elapsed;
            }
            Scheduler.Advance(step ?? Step);
            elapsed += step ?? Step;
            Elapsed += step ?? Step;
            WaitUntilQuiet();
        }
    }

    /// <summary>
    /// Lets the actors finish what the last step of virtual time set off before time moves again, so that a
    /// busy machine (a parallel test run) cannot make timeouts fire ahead of the work they guard. Actors run
    /// on the .NET thread pool (Akka's default executor): quiet means nothing queued and nothing completed
    /// across two looks a millisecond apart.
    /// </summary>
    private static void WaitUntilQuiet()
    {
        var limit = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        long last = -1;
        int stable = 0;
        while (DateTime.UtcNow < limit)
        {
            long completed = ThreadPool.CompletedWorkItemCount;
            stable = ThreadPool.PendingWorkItemCount == 0 && completed == last ? stable + 1 : 0;
            if (stable >= 2) return;
            last = completed;
            Thread.Sleep(1);
        }
    }

    /// <summary>Virtual time moved by <see cref="RunUntil"/> since the test began.</summary>
    protected TimeSpan Elapsed { get; private set; }

    /// <summary>Runs until both sessions of <paramref name="id"/> are connected (a failure ends the test with its reason).</summary>
    protected (Dictionary<string, IActorRef> Sessions, Dictionary<string, SelectedPair> Pairs, TimeSpan Elapsed) Connect(TestProbe events, string id, TimeSpan? limit = null) =>
        ConnectWatching(events, id, _ => { }, limit);

    /// <summary>As <see cref="Connect"/>, showing every event to <paramref name="watch"/> too.</summary>
    protected (Dictionary<string, IActorRef> Sessions, Dictionary<string, SelectedPair> Pairs, TimeSpan Elapsed) ConnectWatching(
        TestProbe events, string id, Action<object> watch, TimeSpan? limit = null)
    {
        var sessions = new Dictionary<string, IActorRef>();
        var pairs = new Dictionary<string, SelectedPair>();
        var elapsed = RunUntil(events, m =>
        {
            watch(m);
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

    /// <summary>Opens <paramref name="count"/> sessions between the two sides at once and runs until all of them are connected (a failure ends the test).</summary>
    protected TimeSpan ConnectMany(Side a, Side b, int count, TimeSpan virtualLimit, bool secure = false)
    {
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        for (int i = 0; i < count; i++)
        {
            a.Peer.Tell(new LocalPeerProtocol.OpenSession($"{i}/a", true, link, Secure: secure));
            b.Peer.Tell(new LocalPeerProtocol.OpenSession($"{i}/b", false, link, Secure: secure));
        }
        var connected = new HashSet<string>();
        return RunUntil(events, m =>
        {
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            if (m is SessionProtocol.Connected c) connected.Add(c.SessionId);
            return connected.Count == 2 * count;
        }, virtualLimit, step: TimeSpan.FromMilliseconds(10));
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
