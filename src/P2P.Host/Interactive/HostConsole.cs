using System.Globalization;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using P2P.Actors.Chat;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Signaling;
using P2P.Actors.Turn;
using P2P.Host.Chat;
using P2P.Host.Hosting;
using P2P.Protocol.Ice;
using Spectre.Console;

namespace P2P.Host.Interactive;

/// <summary>
/// <c>p2p host</c>: one process, many local peers, many sessions at once, driven by typed commands.
/// <c>peer add &lt;name&gt;</c> binds a peer; <c>open &lt;peer&gt; &lt;remote&gt;</c> opens a secure session from one
/// local peer to another (signaled in-process), <c>sessions</c> and <c>pairs</c> show tables, <c>say</c> sends a
/// line, <c>close</c> ends a session, <c>quit</c> ends everything. Events (connected, received, failed) are printed
/// as they happen, each prefixed with its session id. Commands come from <see cref="RunAsync"/>'s input, so tests
/// drive it through stdin.
/// </summary>
public sealed class HostConsole(ActorSystem system, IActorRef peers, HostConsoleSettings settings, IAnsiConsole console)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private readonly Channel<object> _events = Channel.CreateUnbounded<object>();
    private readonly Dictionary<string, SessionRow> _sessions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _peers = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private IActorRef _pump = ActorRefs.Nobody;
    private int _opened;

    // file transfers' progress: live Spectre bars on a terminal (the other lines go above them), plain lines in a pipe
    private readonly TransferProgress _progress = new(console, console.WriteLine, prefix: id => $"[{id}] ");

    /// <summary>What the console knows about one session (from its events).</summary>
    private sealed class SessionRow(string id, string peer, string remote)
    {
        public string Id { get; } = id;
        public string Peer { get; } = peer;
        public string Remote { get; } = remote;
        public IActorRef Session { get; set; } = ActorRefs.Nobody;
        public IActorRef Chat { get; set; } = ActorRefs.Nobody;
        public IActorRef Bridge { get; set; } = ActorRefs.Nobody; // room:<name> sessions: their signaling
        public IActorRef Tagger { get; set; } = ActorRefs.Nobody;
        public IActorRef Link { get; set; } = ActorRefs.Nobody;   // in-process sessions: the signaling shared with the other row
        /// <summary>Closed or failed: the row is shown that way for a while (<see cref="HostConsoleSettings.ClosedRowLinger"/>), then removed.</summary>
        public bool Ended { get; set; }
        public string State { get; set; } = "gathering";
        public SelectedPair? Pair { get; set; }
        /// <summary>Why its chat stopped (<see cref="ChatProtocol.ChatStopped"/>); null while it runs.</summary>
        public string? ChatStopped { get; set; }
    }

    public const string Help = """
        peer add <name>               bind a new local peer (one UDP socket, shared by its sessions)
        peers                         list the local peers
        open <peer> <remote>          open a secure session from <peer> to another local peer <remote>
        open <peer> room:<name>       meet whoever joins that room of the --signal server (any process, any machine)
        sessions                      table of sessions: state, selected pair, RTT, bytes
        pairs <session>               the candidate pair table of a session
        say <session> <text>          send a chat line (acknowledged, shown once on the other side)
        send <session> <path>         offer a file on a session (own data channel, SHA-256 checked)
        accept <session> <id> [overwrite]   take a file the other side offered (into --download-dir)
        reject <session> <id>         refuse an offered file
        close <session>               close a session (the other side is told)
        stats                         sessions the peers hold, threads, file descriptors and memory (after a full collection)
        help                          this list
        quit                          close everything and leave
        """;

    /// <summary>
    /// Runs the console until "quit", the end of <paramref name="input"/> (0), or <paramref name="cancel"/> (Ctrl+C,
    /// SIGTERM: 130); each way closes every open session first, so the other sides hear of it at once.
    /// </summary>
    public async Task<int> RunAsync(TextReader input, CancellationToken cancel)
    {
        _pump = system.ActorOf(EventSink.Props(_events.Writer), "console");
        peers.Tell(new PeerHostProtocol.Subscribe(_pump));
        _ = Task.Run(() => PrintEventsAsync(CancellationToken.None), CancellationToken.None);
        console.MarkupLine("[bold]p2p host[/]: type [green]help[/] for the commands.");
        var lines = new LineInput(input);
        try
        {
            while (await lines.ReadLineAsync(cancel) is { } line)
            {
                var words = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0) continue;
                if (words[0] is "quit" or "exit") return await QuitAsync();
                try
                {
                    await ExecuteAsync(words, line.Trim(), cancel);
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !cancel.IsCancellationRequested)
                {
                    Say($"'{words[0]}' got no answer in time: {e.Message}");
                }
            }
            return await QuitAsync();
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            await QuitAsync("interrupted: closing the sessions");
            return Interrupts.ExitCode;
        }
    }

    private async Task ExecuteAsync(string[] words, string line, CancellationToken cancel)
    {
        switch (words[0])
        {
            case "help":
                console.WriteLine(Help);
                break;
            case "peer" when words.Length == 3 && words[1] == "add":
                await AddPeerAsync(words[2]);
                break;
            case "peers":
                lock (_gate) console.WriteLine(_peers.Count == 0 ? "no peers yet: peer add <name>" : string.Join(", ", _peers.Order()));
                break;
            case "open" when words.Length == 3:
                Open(words[1], words[2]);
                break;
            case "sessions":
                await ShowSessionsAsync();
                break;
            case "pairs" when words.Length == 2:
                await ShowPairsAsync(words[1]);
                break;
            case "say" when words.Length >= 3:
                if (FindChat(words[1]) is { } row) row.Chat.Tell(new ChatProtocol.Say(Rest(line, words[1])));
                break;
            case "send" when words.Length >= 3:
                if (FindChat(words[1]) is { } sending) sending.Chat.Tell(new ChatProtocol.SendFile(Rest(line, words[1])));
                break;
            case "accept" when words.Length is 3 or 4:
                if (Find(words[1]) is { } accepting) accepting.Chat.Tell(new ChatProtocol.AcceptFile(words[2], Overwrite: words.Length == 4 && words[3] == "overwrite"));
                break;
            case "reject" when words.Length == 3:
                if (Find(words[1]) is { } rejecting) rejecting.Chat.Tell(new ChatProtocol.RejectFile(words[2]));
                break;
            case "stats":
                await ShowStatsAsync();
                break;
            case "close" when words.Length == 2:
                if (Find(words[1]) is { } closing) closing.Session.Tell(new SessionProtocol.Close());
                break;
            default:
                Say($"unknown command or wrong arguments: '{line}'. Type help for the list.");
                break;
        }
    }

    private async Task AddPeerAsync(string name)
    {
        var bind = new IPEndPoint(settings.LocalAddress ?? IPAddress.Any, 0);
        var answer = await peers.Ask<object>(new PeerHostProtocol.AddPeer(new LocalPeerSettings(name, bind, settings.StunServers, settings.TurnServers)), AskTimeout);
        switch (answer)
        {
            case PeerHostProtocol.PeerAdded added:
                lock (_gate) _peers.Add(name);
                console.WriteLine($"peer {name} bound {added.Local}");
                break;
            case PeerHostProtocol.PeerNotAdded refused:
                Say($"peer {name} not added: {refused.Reason}");
                break;
        }
    }

    private void Open(string peer, string remote)
    {
        if (remote.StartsWith("room:", StringComparison.Ordinal))
        {
            OpenInRoom(peer, remote["room:".Length..]);
            return;
        }
        lock (_gate)
        {
            if (!_peers.Contains(peer) || !_peers.Contains(remote))
            {
                Say($"cannot open {peer} -> {remote}: both must be local peers (peer add <name>); known: {(_peers.Count == 0 ? "none" : string.Join(", ", _peers.Order()))}");
                return;
            }
            if (peer == remote)
            {
                Say("a session needs two different peers");
                return;
            }
            int n = ++_opened;
            var a = $"{peer}-{remote}-{n}";
            var b = $"{remote}-{peer}-{n}";
            _sessions[a] = new SessionRow(a, peer, remote);
            _sessions[b] = new SessionRow(b, remote, peer);
            var link = system.ActorOf(LocalSignaling.Props(a, b, _pump), $"link-{n}");
            // each session's owner is its chat (lines with ids and acks, files), which passes the rest on to the link
            foreach (var (row, controlling) in new[] { (_sessions[a], true), (_sessions[b], false) })
            {
                row.Link = link;
                row.Tagger = system.ActorOf(Props.Create(() => new Tagger(row.Id, link)));
                row.Chat = system.ActorOf(ChatSession.Props(settings.Chat, row.Tagger), $"chat-{n}-{(controlling ? "a" : "b")}");
                peers.Tell(new PeerHostProtocol.OpenSession(row.Peer, row.Id, controlling, row.Chat, Secure: true));
            }
            console.WriteLine($"opening {a} and {b}");
        }
    }

    /// <summary>
    /// A session with whoever is in <paramref name="room"/> of the signaling server: the room decides the role (the first
    /// in it controls), so the session opens once the bridge has joined (see <see cref="PrintEventsAsync"/>).
    /// </summary>
    private void OpenInRoom(string peer, string room)
    {
        lock (_gate)
        {
            if (settings.Signal is null)
            {
                Say("a room needs a signaling server: start p2p host with --signal ws://host:port/");
                return;
            }
            if (!_peers.Contains(peer) || room.Length == 0)
            {
                Say($"cannot open {peer} in room '{room}': {(room.Length == 0 ? "the room has no name" : $"{peer} is not a local peer (peer add {peer})")}");
                return;
            }
            int n = ++_opened;
            var id = $"{peer}@{room}-{n}";
            var row = _sessions[id] = new SessionRow(id, peer, "room:" + room);
            var tagger = row.Tagger = system.ActorOf(Props.Create(() => new Tagger(id, _pump)));
            row.Bridge = system.ActorOf(SignalingBridge.Props(settings.Signal, room, peer, tagger, settings.SignalSettings), $"room-{n}");
            console.WriteLine($"joining room '{room}' as {peer} ({id})");
        }
    }

    /// <summary>What follows the word <paramref name="after"/> in the typed line (a text or a path, spaces kept).</summary>
    private static string Rest(string line, string after) => line[(line.IndexOf(after, line.IndexOf(' '), StringComparison.Ordinal) + after.Length)..].Trim();

    private SessionRow? Find(string id)
    {
        lock (_gate)
        {
            if (_sessions.TryGetValue(id, out var row) && !row.Session.IsNobody()) return row;
        }
        Say($"no session '{id}' (yet): see 'sessions'");
        return null;
    }

    /// <summary>The session, when its chat still runs: a line for a stopped chat is refused out loud, not lost.</summary>
    private SessionRow? FindChat(string id)
    {
        if (Find(id) is not { } row) return null;
        if (row.ChatStopped is null) return row;
        Say($"not sent: the chat of {id} stopped ({row.ChatStopped.TrimEnd('.')}); close it and open a new session");
        return null;
    }

    private async Task ShowSessionsAsync()
    {
        List<SessionRow> rows;
        lock (_gate) rows = _sessions.Values.OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        if (rows.Count == 0)
        {
            console.WriteLine("no sessions: open <peer> <remote>");
            return;
        }
        var table = new Table().Title("sessions").AddColumns("session", "peer", "state", "local", "remote", "RTT", "sent", "received", "NAT (local/remote)");
        foreach (var row in rows)
        {
            string rtt = "", sent = "", received = "", local = "", remote = "", nat = "";
            if (!row.Session.IsNobody() && !row.Ended)
            {
                try
                {
                    if (await row.Session.Ask<object>(new SessionProtocol.GetNat(), AskTimeout) is SessionProtocol.NatReports reports)
                        nat = $"{NatWords(reports.Local)} / {NatWords(reports.Remote)}";
                }
                catch (AskTimeoutException)
                {
                    // the session ended meanwhile: its row says so
                }
            }
            if (row.State == "connected" && !row.Session.IsNobody())
            {
                var info = await row.Session.Ask<object>(new SessionProtocol.GetConnectionInfo(), AskTimeout);
                if (info is ConnectionProtocol.Info i)
                {
                    rtt = i.RoundTrip is { } r ? $"{r.TotalMilliseconds:0.0} ms" : "";
                    sent = Bytes(i.BytesSent);
                    received = Bytes(i.BytesReceived);
                    local = $"{i.Pair.Local.Type.ToSdp()} {i.Pair.Local.Address}";
                    remote = $"{i.Pair.Remote.Type.ToSdp()} {i.Pair.Remote.Address}";
                }
            }
            table.AddRow(Markup.Escape(row.Id), Markup.Escape(row.Peer), Markup.Escape(row.State), Markup.Escape(local), Markup.Escape(remote), rtt, sent, received,
                Markup.Escape(nat));
        }
        lock (_gate) console.Write(table);
    }

    /// <summary>A NAT report in the short words of a=x-p2p-nat (mapping, filtering, ports), "-" when there is none (no RFC 5780 server, or not yet).</summary>
    internal static string NatWords(P2P.Protocol.Nat.NatReport? report) => report is null
        ? "-"
        : report.Mapping == P2P.Protocol.Nat.MappingBehavior.NoNat
            ? "no NAT"
            : $"{P2P.Protocol.Nat.NatAttribute.Token(report.Mapping)} {P2P.Protocol.Nat.NatAttribute.Token(report.Filtering)} {P2P.Protocol.Nat.NatAttribute.Token(report.Allocation)}"
                + (report.PortStep is { } step ? $"{step:+0;-0}" : string.Empty);

    private async Task ShowPairsAsync(string id)
    {
        if (Find(id) is not { } row) return;
        var answer = await row.Session.Ask<object>(new SessionProtocol.GetPairs(), AskTimeout);
        if (answer is not PairCheckerProtocol.PairTable pairs)
        {
            Say($"{id}: no pair table ({answer.GetType().Name})");
            return;
        }
        var table = new Table().Title($"pairs of {id}").AddColumns("local", "remote", "priority", "state", "valid", "nominated", "selected");
        foreach (var p in pairs.Pairs.OrderByDescending(p => p.Priority))
            table.AddRow(Markup.Escape($"{p.Local.Type.ToSdp()} {p.Local.Address}"), Markup.Escape($"{p.Remote.Type.ToSdp()} {p.Remote.Address}"),
                p.Priority.ToString(CultureInfo.InvariantCulture), p.State.ToString(), p.Valid ? "yes" : "", p.Nominated ? "yes" : "", p.Selected ? "[green]yes[/]" : "");
        lock (_gate) console.Write(table);
    }

    private static string Bytes(long n) => ChatEventText.Size(n);

    /// <summary>
    /// One line on what the process holds: its peers and the sessions they still route (which a closed session leaves),
    /// the rows shown, and the threads, file descriptors and memory of the process, to check it returns to its baseline.
    /// </summary>
    private async Task ShowStatsAsync()
    {
        var list = await peers.Ask<PeerHostProtocol.Peers>(new PeerHostProtocol.GetPeers(), AskTimeout);
        int sessions = 0;
        foreach (var peer in list.List)
            sessions += (await peer.Peer.Ask<LocalPeerProtocol.Stats>(new LocalPeerProtocol.GetStats(), AskTimeout)).Sessions;
        int rows;
        lock (_gate) rows = _sessions.Count;
        // after a full, compacting collection that gives unused memory back: what is held, not what is garbage
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        int descriptors = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : -1;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"stats: {list.List.Count} peers, {sessions} sessions, {rows} rows, {process.Threads.Count} threads, {(descriptors < 0 ? "?" : descriptors.ToString(CultureInfo.InvariantCulture))} file descriptors, {process.WorkingSet64 / 1048576.0:0.0} MiB resident, {GC.GetTotalMemory(false) / 1048576.0:0.0} MiB managed");
        lock (_gate) console.WriteLine(line);
    }

    private async Task PrintEventsAsync(CancellationToken cancel)
    {
        await foreach (var e in _events.Reader.ReadAllAsync(cancel))
        {
            if (e is TaskCompletionSource printed)
            {
                printed.TrySetResult();
                continue;
            }
            lock (_gate)
            {
                switch (e)
                {
                    case SessionProtocol.Started s when _sessions.TryGetValue(s.SessionId, out var row):
                        row.Session = s.Session;
                        row.State = "checking";
                        break;
                    case SessionProtocol.Connected c when _sessions.TryGetValue(c.SessionId, out var row):
                        row.State = "connected";
                        row.Pair = c.Pair;
                        console.WriteLine($"[{c.SessionId}] connected over {c.Pair}{(c.RemoteFingerprint is null ? "" : " (DTLS)")}");
                        break;
                    case SessionProtocol.DataReceived d:
                        console.WriteLine($"[{d.SessionId}] Received: {Encoding.UTF8.GetString(d.Data.Span)}");
                        break;
                    case Tagged { Event: SignalingProtocol.Joined j, SessionId: var id } when _sessions.TryGetValue(id, out var row):
                        // the room gave the role: now the session, its chat the owner, the bridge behind it
                        row.Chat = system.ActorOf(ChatSession.Props(settings.Chat, row.Bridge));
                        var open = new PeerHostProtocol.OpenSession(row.Peer, row.Id, j.Controlling, row.Chat, Secure: true);
                        if (j.IceServers is { Count: > 0 }) _ = OpenWithHandedOutServersAsync(row.Peer, j.IceServers, open, cancel);
                        else peers.Tell(open);
                        console.WriteLine($"[{id}] joined {row.Remote} ({(j.Controlling ? "first in the room: controlling" : "controlled")})");
                        break;
                    case Tagged { Event: SignalingProtocol.PeerJoined j, SessionId: var id }:
                        console.WriteLine($"[{id}] {j.Name} joined the room");
                        break;
                    case Tagged { Event: SignalingProtocol.PeerLeft l, SessionId: var id }:
                        console.WriteLine($"[{id}] {l.Name} left the room");
                        break;
                    case Tagged { Event: SignalingProtocol.Reconnected r, SessionId: var id }:
                        console.WriteLine($"[{id}] signaling: reconnected to {r.Server} (room {r.Room})");
                        break;
                    case Tagged { Event: SignalingProtocol.SignalingFailed f, SessionId: var id } when _sessions.TryGetValue(id, out var row):
                        if (row.State != "connected") row.State = "failed";
                        console.WriteLine($"[{id}] {f.Reason}");
                        break;
                    case Tagged { Event: ChatProtocol.MessageReceived m, SessionId: var id }:
                        console.WriteLine($"[{id}] Received: {m.Text}");
                        break;
                    case Tagged { Event: ChatProtocol.ChatStopped stopped, SessionId: var id } when _sessions.TryGetValue(id, out var row):
                        row.ChatStopped = stopped.Reason;
                        console.WriteLine($"[{id}] {ChatEventText.Describe(stopped, c => c)}");
                        break;
                    case Tagged { Event: ChatProtocol.IChatEvent chatEvent, SessionId: var id }:
                        if (!_progress.Show(id, chatEvent) && ChatEventText.Describe(chatEvent, c => c.Insert(c.IndexOf(' '), " " + id)) is { } text)
                            console.WriteLine($"[{id}] {text}");
                        break;
                    case SessionProtocol.Disconnected d when _sessions.TryGetValue(d.SessionId, out var row):
                        row.State = "reconnecting";
                        console.WriteLine($"[{d.SessionId}] {d.Reason}");
                        break;
                    case SessionProtocol.Failed f when _sessions.TryGetValue(f.SessionId, out var row):
                        row.State = "failed";
                        console.WriteLine($"[{f.SessionId}] failed: {f.Reason}");
                        row.Session.Tell(new SessionProtocol.Close()); // nothing more can come of it: its actors go
                        End(row);
                        break;
                    case SessionProtocol.Closed c when _sessions.TryGetValue(c.SessionId, out var row) && !row.Ended:
                        row.State = c.PeerReason is null ? "closed" : "closed by peer";
                        console.WriteLine(c.PeerReason is null ? $"[{c.SessionId}] closed" : $"[{c.SessionId}] {c.PeerReason}");
                        End(row);
                        break;
                    case LocalPeerProtocol.GatheringProblem g:
                        console.WriteLine($"[{g.Name}] {g.Reason}");
                        break;
                    case LocalPeerProtocol.PeerFailed f:
                        _peers.Remove(f.Name);
                        console.WriteLine($"[{f.Name}] peer failed: {f.Reason}");
                        break;
                }
            }
        }
    }

    /// <summary>
    /// A room that handed out TURN servers (time-limited credentials): the peer gets them first, then the session opens
    /// and gathers their relayed candidates. Problems (a name that does not resolve) are printed; the session opens anyway.
    /// </summary>
    private async Task OpenWithHandedOutServersAsync(string peer, IReadOnlyList<SignalIceServer> servers, PeerHostProtocol.OpenSession open, CancellationToken cancel)
    {
        var (turn, problems) = await HandedOutServers.ResolveAsync(servers, cancel);
        foreach (var problem in problems) Say(problem);
        if (turn.Count > 0) peers.Tell(new PeerHostProtocol.AddTurnServers(peer, turn));
        peers.Tell(open);
    }

    /// <summary>A chat event with the session it belongs to (chat events do not carry it).</summary>
    private sealed record Tagged(string SessionId, object Event);

    /// <summary>Between a chat and what signals it (the link, or the console behind a room's bridge): tags chat and room events with the session id, passes session events on.</summary>
    private sealed class Tagger : ReceiveActor
    {
        public Tagger(string sessionId, IActorRef link)
        {
            var console = Context.System.ActorSelection("/user/console");
            Receive<ChatProtocol.IChatEvent>(e => console.Tell(new Tagged(sessionId, e)));
            Receive<SignalingProtocol.Joined>(e => console.Tell(new Tagged(sessionId, e)));
            Receive<SignalingProtocol.PeerJoined>(e => console.Tell(new Tagged(sessionId, e)));
            Receive<SignalingProtocol.PeerLeft>(e => console.Tell(new Tagged(sessionId, e)));
            Receive<SignalingProtocol.Reconnected>(e => console.Tell(new Tagged(sessionId, e)));
            Receive<SignalingProtocol.SignalingFailed>(e => console.Tell(new Tagged(sessionId, e)));
            ReceiveAny(link.Forward);
        }
    }

    private void Say(string sentence)
    {
        lock (_gate) console.WriteLine($"p2p: {sentence.TrimEnd('.')}.");
    }

    /// <summary>
    /// A session that closed or failed: its row says so for <see cref="HostConsoleSettings.ClosedRowLinger"/>, then it
    /// goes, with the actors the console made for it (its chat, tagger, room bridge, and the in-process link once both
    /// of its rows are gone), so that a host that ran any number of sessions is back to where it started.
    /// </summary>
    private void End(SessionRow row)
    {
        if (row.Ended) return;
        row.Ended = true;
        _ = Task.Delay(settings.ClosedRowLinger).ContinueWith(_ => Remove(row), TaskScheduler.Default);
    }

    private void Remove(SessionRow row)
    {
        lock (_gate)
        {
            if (!_sessions.Remove(row.Id)) return;
            foreach (var actor in new[] { row.Chat, row.Tagger, row.Bridge })
                if (!actor.IsNobody()) system.Stop(actor);
            if (!row.Link.IsNobody() && !_sessions.Values.Any(r => r.Link.Equals(row.Link))) system.Stop(row.Link);
        }
    }

    /// <summary>Closes every open session and waits (at most <see cref="HostConsoleSettings.CloseTimeout"/>) for each to have told its peer.</summary>
    private async Task<int> QuitAsync(string? why = null)
    {
        List<SessionRow> open;
        lock (_gate) open = _sessions.Values.Where(r => !r.Session.IsNobody() && !r.Ended).ToList();
        if (why is not null && open.Count > 0) Say(why);
        await SessionClose.CloseAsync(open.Select(r => r.Session).ToList(), settings.CloseTimeout);
        // what the sessions told on their way out is printed before the last word
        var printed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _events.Writer.TryWrite(printed);
        await Task.WhenAny(printed.Task, Task.Delay(settings.CloseTimeout));
        _progress.EndAll();
        console.WriteLine("bye");
        return 0;
    }
}

/// <summary>What peers added in the console are given: the servers and the local address.</summary>
public sealed record HostConsoleSettings(IReadOnlyList<IPEndPoint> StunServers, IReadOnlyList<TurnServer> TurnServers, IPAddress? LocalAddress, ChatSettings Chat)
{
    /// <summary>--signal: the server (or the nodes of a signal fleet, tried in turn) whose rooms <c>open &lt;peer&gt; room:&lt;name&gt;</c> joins.</summary>
    public IReadOnlyList<Uri>? Signal { get; init; }

    public SignalSettings SignalSettings { get; init; } = SignalSettings.Default;

    /// <summary>How long a closed or failed session's row stays in <c>sessions</c> before it goes (<c>p2p.console.closed-row-linger</c>).</summary>
    public TimeSpan ClosedRowLinger { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long "quit" or Ctrl+C waits for the sessions to tell their peers (<c>p2p.close-timeout</c>).</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
