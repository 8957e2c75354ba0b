using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using P2P.Actors.Chat;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Signaling;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Virtual;
using P2P.Actors.Turn;
using P2P.Host.Hosting;
using P2P.Host.Signal;
using P2P.Protocol.Ice;
using Spectre.Console;

namespace P2P.Host.Demo;

/// <summary>Where the demo's peers live: behind NATs on the virtual network, or on real loopback sockets.</summary>
public sealed record DemoOptions(bool Real, string NatA, string NatB, int FileBytes, int Lines);

/// <summary>
/// The embedded default, in one process: our relay (STUN and TURN), a signaling server on 127.0.0.1, and two
/// peers, alice and bob, each behind its own simulated NAT on the virtual network (or on real loopback sockets with
/// --real). They meet in a room, connect (ICE, DTLS, SCTP), exchange chat lines, alice sends bob a file (progress
/// bar, SHA-256 checked), and the demo prints the pair table and the time of each step. No outside server.
/// </summary>
public sealed class PeersDemo(ActorSystem system, Config config, DemoOptions options, IAnsiConsole console)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);
    private static readonly IPEndPoint VirtualRelay = new(IPAddress.Parse("198.51.100.1"), 3478);
    private readonly Table _steps = new Table().Title("demo").AddColumn("step").AddColumn("result").AddColumn(new TableColumn("ms").RightAligned());
    private readonly Stopwatch _clock = new();

    /// <summary>One of the two demo users: its events, its session and its chat.</summary>
    private sealed class User(string name)
    {
        public string Name { get; } = name;
        public Channel<object> Events { get; } = Channel.CreateUnbounded<object>();
        public IActorRef Bridge { get; set; } = ActorRefs.Nobody;
        public IActorRef Chat { get; set; } = ActorRefs.Nobody;
        public IActorRef Session { get; set; } = ActorRefs.Nobody;
        public SessionProtocol.Connected? Connected { get; set; }
    }

    public static IReadOnlyDictionary<string, NatBehavior?> Nats { get; } = new Dictionary<string, NatBehavior?>(StringComparer.OrdinalIgnoreCase)
    {
        ["none"] = null,
        ["full-cone"] = NatBehavior.FullCone,
        ["restricted-cone"] = NatBehavior.AddressRestrictedCone,
        ["port-restricted-cone"] = NatBehavior.PortRestrictedCone,
        ["symmetric"] = NatBehavior.Symmetric,
    };

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        var total = Stopwatch.StartNew();
        var downloads = Directory.CreateTempSubdirectory("p2p-demo-");
        try
        {
            await RunStepsAsync(downloads.FullName, cancel);
            console.Write(_steps);
            console.MarkupLine($"[green]demo passed[/] in {total.ElapsedMilliseconds} ms: two peers {(options.Real ? "on 127.0.0.1" : $"behind {options.NatA} and {options.NatB} NATs")} connected, chatted and moved a file; no outside server was contacted.");
            return 0;
        }
        catch (Exception e) when (e is DemoFailedException or TimeoutException)
        {
            console.Write(_steps);
            console.MarkupLineInterpolated($"[red]demo failed:[/] {e.Message}");
            return 1;
        }
        finally
        {
            downloads.Delete(recursive: true);
        }
    }

    private void Step(string name, string result)
    {
        _steps.AddRow(Markup.Escape(name), Markup.Escape(result), _clock.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture));
        console.MarkupLineInterpolated($"[grey]{_clock.ElapsedMilliseconds,6} ms[/]  {name}: {result}");
        _clock.Restart();
    }

    private async Task RunStepsAsync(string downloads, CancellationToken cancel)
    {
        _clock.Start();
        // 1. the network and the relay
        VirtualNetwork? net = null;
        IUdpSocketFactory relaySockets = RealUdpSockets.Instance;
        IPEndPoint relayListen = new(IPAddress.Loopback, 0);
        if (!options.Real)
        {
            net = new VirtualNetwork(system, seed: 2026);
            net.AddPublicHost("relay", VirtualRelay.Address);
            relaySockets = net.SocketsOf("relay");
            relayListen = VirtualRelay;
        }
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var relaySettings = RelaySettings.From(config) with
        {
            Listen = [relayListen],
            Users = new Dictionary<string, string> { ["demo"] = password },
            AllowLoopback = options.Real,
        };
        var relay = system.ActorOf(RelayServer.Props(relaySettings, relaySockets), "demo-relay");
        var listening = await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), StepTimeout, cancel);
        if (listening is not RelayServerProtocol.Listening { Udp.Count: > 0 } up) throw new DemoFailedException($"the relay did not start: {listening}");
        var relayAddress = up.Udp[0];
        Step("relay (STUN + TURN)", $"listening on udp {relayAddress}{(options.Real ? "" : " (virtual network)")}");

        // 2. the signaling server, on real loopback (it is out of band: the peers' packets never cross it)
        await using var signal = await SignalServer.StartAsync(system, new IPEndPoint(IPAddress.Loopback, 0), SignalSettings.From(config));
        Step("signaling server", $"listening on {signal.Url}");

        // 3. the peers, each behind its NAT
        var peers = system.ActorOf(PeerHost.Props(config), "demo-peers");
        var turn = new TurnServer(relayAddress, new TurnCredentials("demo", password));
        var alice = new User("alice");
        var bob = new User("bob");
        foreach (var (user, nat, index) in new[] { (alice, options.NatA, 1), (bob, options.NatB, 2) })
        {
            var settings = new LocalPeerSettings(user.Name, new IPEndPoint(options.Real ? IPAddress.Loopback : IPAddress.Any, options.Real ? 0 : 5000), [relayAddress], [turn]);
            string where = "127.0.0.1";
            if (net is not null)
            {
                if (Nats[nat] is { } behavior)
                {
                    net.AddNat($"nat-{user.Name}", IPAddress.Parse($"203.0.113.{index}"), behavior);
                    net.AddPrivateHost(user.Name, IPAddress.Parse($"10.0.{index}.2"), $"nat-{user.Name}");
                    where = $"10.0.{index}.2 behind a {nat} NAT (public 203.0.113.{index})";
                }
                else
                {
                    net.AddPublicHost(user.Name, IPAddress.Parse($"203.0.113.{index}0"));
                    where = $"public 203.0.113.{index}0";
                }
                settings = settings with { Sockets = net.SocketsOf(user.Name) };
            }
            var added = await peers.Ask<object>(new PeerHostProtocol.AddPeer(settings), StepTimeout, cancel);
            if (added is PeerHostProtocol.PeerNotAdded refused) throw new DemoFailedException($"{user.Name}: {refused.Reason}");
            Step($"peer {user.Name}", $"bound {((PeerHostProtocol.PeerAdded)added).Local}, {where}");
        }

        // 4. both meet in a room; the first in the room controls
        var chatSettings = ChatSettings.OrDefault(config) with { DownloadFolder = downloads };
        foreach (var user in new[] { alice, bob })
        {
            var sink = system.ActorOf(EventSink.Props(user.Events.Writer), $"demo-{user.Name}-events");
            user.Bridge = system.ActorOf(SignalingBridge.Props(signal.Url, "demo", user.Name, sink, SignalSettings.From(config)), $"demo-{user.Name}-signaling");
            var joined = await Next<SignalingProtocol.Joined>(user, cancel);
            user.Chat = system.ActorOf(ChatSession.Props(chatSettings, user.Bridge), $"demo-{user.Name}-chat");
            peers.Tell(new PeerHostProtocol.OpenSession(user.Name, user.Name, joined.Controlling, user.Chat, Secure: true));
        }
        Step("signaling", $"alice and bob joined room 'demo' on {signal.Url}");

        // 5. connected: ICE, then DTLS
        alice.Connected = await Next<SessionProtocol.Connected>(alice, cancel);
        bob.Connected = await Next<SessionProtocol.Connected>(bob, cancel);
        Step("connected (ICE + DTLS 1.2)", $"{Describe(alice.Connected.Pair)}, {(IsRelayed(alice.Connected.Pair) ? "through the relay" : "direct")}");

        // 6. chat lines both ways, each acknowledged
        for (int i = 1; i <= options.Lines; i++)
        {
            alice.Chat.Tell(new ChatProtocol.Say($"hello bob, line {i}"));
            bob.Chat.Tell(new ChatProtocol.Say($"hi alice, line {i}"));
        }
        foreach (var user in new[] { bob, alice })
        {
            await Until(user, seen => seen.OfType<ChatProtocol.MessageReceived>().Count() >= options.Lines, cancel);
            foreach (var m in _seen[user].OfType<ChatProtocol.MessageReceived>())
                console.MarkupLineInterpolated($"         [blue]{user.Name}[/] got: {m.Text}");
        }
        foreach (var user in new[] { alice, bob })
            await Until(user, seen => seen.OfType<ChatProtocol.MessageDelivered>().Count() >= options.Lines, cancel);
        Step("chat", $"{options.Lines} lines each way over the 'chat' data channel, each shown once and acknowledged");

        // 7. a file from alice to bob, with a progress bar, checked by SHA-256
        var source = Path.Combine(downloads, "outgoing", "demo.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(source)!);
        var content = RandomNumberGenerator.GetBytes(options.FileBytes);
        await File.WriteAllBytesAsync(source, content, cancel);
        var fileClock = Stopwatch.StartNew();
        alice.Chat.Tell(new ChatProtocol.SendFile(source));
        var offered = await Next<ChatProtocol.FileOffered>(bob, cancel);
        bob.Chat.Tell(new ChatProtocol.AcceptFile(offered.Id));
        ChatProtocol.FileCompleted? completed = null;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"{offered.Name} to bob", maxValue: offered.Size);
                while (completed is null)
                {
                    switch (await NextEvent(bob, cancel))
                    {
                        case ChatProtocol.FileProgress p: task.Value = p.Bytes; break;
                        case ChatProtocol.FileCompleted c: completed = c; task.Value = offered.Size; break;
                        case ChatProtocol.FileFailed f: throw new DemoFailedException($"the file transfer failed: {f.Reason}");
                    }
                }
            });
        var expected = Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
        var actual = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(completed!.Path, cancel))).ToLowerInvariant();
        if (actual != expected) throw new DemoFailedException($"the received file's SHA-256 {actual} is not the sent one's {expected}");
        double rate = options.FileBytes / 1048576.0 / fileClock.Elapsed.TotalSeconds;
        Step("file", $"{options.FileBytes / 1048576.0:0.#} MiB alice -> bob on its own data channel, SHA-256 {expected[..16]}... matches, {rate:0.0} MiB/s");

        // 8. the pair table alice's agent ended with
        var table = await alice.Session.Ask<object>(new SessionProtocol.GetPairs(), StepTimeout, cancel);
        if (table is PairCheckerProtocol.PairTable pairs)
        {
            var view = new Table().Title("alice's candidate pairs").AddColumns("local", "remote", "state", "nominated", "selected");
            foreach (var p in pairs.Pairs.OrderByDescending(p => p.Priority))
                view.AddRow(Markup.Escape($"{p.Local.Type.ToSdp()} {p.Local.Address}"), Markup.Escape($"{p.Remote.Type.ToSdp()} {p.Remote.Address}"),
                    p.State.ToString(), p.Nominated ? "yes" : "", p.Selected ? "[green]yes[/]" : "");
            console.Write(view);
        }
        foreach (var user in new[] { alice, bob }) user.Session.Tell(new SessionProtocol.Close());
        if (!bob.Session.IsNobody()) await Task.Delay(200, cancel);
    }

    private static bool IsRelayed(SelectedPair pair) => pair.Local.Type == CandidateType.Relayed || pair.Remote.Type == CandidateType.Relayed;

    private static string Describe(SelectedPair pair) => $"{pair.Local.Type.ToSdp()} {pair.Local.Address} -> {pair.Remote.Type.ToSdp()} {pair.Remote.Address}";

    private readonly Dictionary<User, List<object>> _seen = [];

    /// <summary>The next event of <paramref name="user"/>; a failure of the session or of signaling ends the demo with its reason.</summary>
    private async Task<object> NextEvent(User user, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(StepTimeout);
        object e;
        try { e = await user.Events.Reader.ReadAsync(timeout.Token); }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"{user.Name} heard nothing for {StepTimeout.TotalSeconds:0} s");
        }
        if (!_seen.TryGetValue(user, out var seen)) _seen[user] = seen = [];
        seen.Add(e);
        if (e is SessionProtocol.Started s) user.Session = s.Session;
        return e switch
        {
            SessionProtocol.Failed f => throw new DemoFailedException($"{user.Name}'s session failed: {f.Reason}"),
            SignalingProtocol.SignalingFailed f => throw new DemoFailedException($"{user.Name}: {f.Reason}"),
            PeerHostProtocol.SessionNotOpened n => throw new DemoFailedException($"{user.Name}: {n.Reason}"),
            _ => e,
        };
    }

    private async Task<T> Next<T>(User user, CancellationToken cancel)
    {
        while (true)
            if (await NextEvent(user, cancel) is T t) return t;
    }

    /// <summary>Reads <paramref name="user"/>'s events until what was seen so far satisfies <paramref name="done"/>.</summary>
    private async Task Until(User user, Func<List<object>, bool> done, CancellationToken cancel)
    {
        while (!(_seen.TryGetValue(user, out var seen) && done(seen))) await NextEvent(user, cancel);
    }
}
