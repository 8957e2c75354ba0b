using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.DependencyInjection;
using P2P.Actors.Chat;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Signaling;
using P2P.Actors.Stun;
using P2P.Actors.Turn;
using P2P.Host.Hosting;
using P2P.Protocol.Chat;
using P2P.Protocol.Ice;
using Spectre.Console;

namespace P2P.Host.Chat;

/// <summary>
/// <c>p2p</c> in ICE mode: one local peer, one session with one remote peer. The descriptions are
/// exchanged by hand: this side prints its block (libnice's layout, so the original program accepts it, ending with
/// an empty line) and reads the remote block from the user, up to an empty line. Then typed lines go to the peer
/// and what arrives is printed as <c>Received: text</c>. Secure by default (DTLS, the lines on the session's data
/// channel); <c>--plain</c> sends each line as one raw datagram, as the original does.
/// stdout carries only the block, <c>Connected</c> and the chat; prompts, status and errors go to stderr.
/// </summary>
public static class IceChat
{
    public static async Task<int> RunAsync(ChatOptions options, Config config, bool verbose, TextReader input, TextWriter output, TextWriter status, CancellationToken cancel)
    {
        // the chat frame codec's first use (~20 ms of CPU) is paid while the process starts, not when the session
        // opens, where it held up the session's creation on the connect path (a secure chat's chat creates it too late)
        if (!options.Plain) ChatFrame.StartWarmUp();
        var servers = await ServerAddresses.ResolveAsync(options.Stun, options.StunPort, options.Turn, options.TurnPort, options.TurnUser, options.TurnPass, status, cancel, options.TurnTransport, options.TurnTls);
        if (servers is null) return 1;
        var ice = IceSettings.From(config) with { ConnectTimeout = options.Timeout };

        using var host = P2PHostBuilder.Build(config, verbose, (_, _) => { }, stopsItself: true);
        await host.StartAsync(cancel);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var session = new ConsoleSession(system, options, ice, config, output, status);
            return await session.RunAsync(servers.Value.Stun, servers.Value.Turn, new LineInput(input), cancel);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None); // the peer releases its TURN allocations here
        }
    }

    /// <summary>Reads a description block from <paramref name="input"/>: leading blank lines skipped, CR dropped, up to the first empty line (or the end of input).</summary>
    public static async Task<string?> ReadBlockAsync(LineInput input, CancellationToken cancel)
    {
        var block = new StringBuilder();
        while (await input.ReadLineAsync(cancel) is { } raw)
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                if (block.Length == 0) continue;
                break;
            }
            block.Append(line).Append('\n');
        }
        return block.Length == 0 ? null : block.ToString();
    }

    /// <summary>One session driven from the console.</summary>
    private sealed class ConsoleSession(ActorSystem system, ChatOptions options, IceSettings ice, Config config, TextWriter output, TextWriter status)
    {
        private const string PeerName = "me";
        private const string SessionId = "chat";
        private readonly Channel<object> _events = Channel.CreateUnbounded<object>();
        private readonly Channel<string> _problems = Channel.CreateUnbounded<string>();
        private IActorRef _session = ActorRefs.Nobody;
        private IActorRef _chat = ActorRefs.Nobody; // secure sessions: lines with ids and acks, files
        private IActorRef _signaling = ActorRefs.Nobody; // --signal: the SignalingBridge that carries descriptions and candidates
        private readonly TimeSpan _closeTimeout = config.GetTimeSpan("p2p.close-timeout", TimeSpan.FromSeconds(1));

        // file transfers' progress on the status stream: live Spectre bars on a terminal, plain lines when redirected
        private readonly TransferProgress _progress = new(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(status) }), status.WriteLine);

        // stdout and stderr on one terminal: while the bars are shown, chat lines go above them through the same console
        private readonly bool _sharedScreen = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

        /// <summary>A status line: on stderr, or above the live progress bars while they are shown.</summary>
        private async Task StatusAsync(string line)
        {
            if (_progress.Live) _progress.WriteLine(line);
            else await status.WriteLineAsync(line);
        }

        /// <summary>A chat line: on stdout, or above the live progress bars while they share its screen.</summary>
        private async Task ChatLineAsync(string line, CancellationToken cancel)
        {
            if (_sharedScreen && _progress.Live)
            {
                _progress.WriteLine(line);
                return;
            }
            await output.WriteLineAsync(line);
            await output.FlushAsync(cancel);
        }

        /// <summary>
        /// The chat from start to end; Ctrl+C or SIGTERM (<paramref name="cancel"/>) at any point closes the session
        /// first, so that the peer hears at once that this side left (130).
        /// </summary>
        public async Task<int> RunAsync(IReadOnlyList<IPEndPoint> stun, IReadOnlyList<TurnServer> turn, LineInput input, CancellationToken cancel)
        {
            try
            {
                return await ChatAsync(stun, turn, input, cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                _progress.EndAll();
                if (!_session.IsNobody())
                {
                    await status.WriteLineAsync("p2p: interrupted; telling the peer and closing.");
                    await CloseSessionAsync();
                }
                return Interrupts.ExitCode;
            }
        }

        /// <summary>Closes the session and waits, at most <c>p2p.close-timeout</c>, until it is gone: its close_notify must leave before the process does.</summary>
        private Task CloseSessionAsync() => SessionClose.CloseAsync([_session], _closeTimeout);

        private async Task<int> ChatAsync(IReadOnlyList<IPEndPoint> stun, IReadOnlyList<TurnServer> turn, LineInput input, CancellationToken cancel)
        {
            var peers = system.ActorOf(PeerHost.Props(ice, StunSettings.From(config), TurnClientSettings.From(config)), "peers");
            IActorRef events = new EventPump(_events.Writer, _problems.Writer, ((ExtendedActorSystem)system).Provider);
            peers.Tell(new PeerHostProtocol.Subscribe(events));
            // problems of the peer (an unreachable STUN server, refused TURN credentials) are told as they happen
            _ = Task.Run(async () =>
            {
                await foreach (var problem in _problems.Reader.ReadAllAsync(cancel))
                    await StatusAsync($"p2p: {problem.TrimEnd('.')}.");
            }, CancellationToken.None);
            var bind = new IPEndPoint(options.LocalAddress is { } address ? IPAddress.Parse(address) : IPAddress.Any, 0);
            var added = await peers.Ask<object>(new PeerHostProtocol.AddPeer(new LocalPeerSettings(PeerName, bind, stun, turn)), TimeSpan.FromSeconds(10), cancel);
            if (added is PeerHostProtocol.PeerNotAdded notAdded)
            {
                await status.WriteLineAsync($"p2p: {notAdded.Reason}.");
                return 1;
            }
            bool controlling = options.Server;
            if (options.Signal is { } urls)
            {
                var url = string.Join(", ", urls);
                var name = $"{Environment.UserName}-{Environment.ProcessId}";
                var signal = SignalSettings.From(config);
                bool warmUp = signal.ClientWarmUp && !options.Plain;
                // the WebSocket opens while the warm-up runs; the join waits for it
                _signaling = system.ActorOf(SignalingBridge.Props(urls, options.Room!, name, events, signal, joinWhenTold: warmUp), "signaling");
                await status.WriteLineAsync($"Joining room '{options.Room}' on {url} ...");
                if (warmUp)
                {
                    await WarmUpAsync(signal.ClientWarmUpTimeout, cancel);
                    _signaling.Tell(SignalingProtocol.Join.Instance);
                }
                while (true)
                {
                    var e = await _events.Reader.ReadAsync(cancel);
                    if (e is SignalingProtocol.Joined joined)
                    {
                        controlling = joined.Controlling; // the first in the room controls, whatever -s says
                        if (!joined.Controlling) _bothInRoomAt = Stopwatch.GetTimestamp();
                        await status.WriteLineAsync(joined.Controlling ? "Joined; waiting for the other peer to join." : "Joined; the other peer is there.");
                        int handedOut = await UseHandedOutServersAsync(peers, joined, cancel);
                        if (options.RelayOnly && turn.Count == 0 && handedOut == 0)
                        {
                            await status.WriteLineAsync("p2p: --relay-only, but the signaling server handed out no TURN server (and no --turn was given), so there is no relay to use.");
                            return 1;
                        }
                        break;
                    }
                    if (e is SignalingProtocol.SignalingFailed f)
                    {
                        await status.WriteLineAsync($"p2p: {f.Reason.TrimEnd('.')}.");
                        return 1;
                    }
                    if (e is SignalingProtocol.Reconnected r) await status.WriteLineAsync($"signaling: reconnected to {r.Server} (room {r.Room})");
                }
            }
            // the session's owner: its chat (secure), then the signaling bridge (--signal), then the console
            IActorRef owner = _signaling.IsNobody() ? events : _signaling;
            if (!options.Plain)
            {
                var chat = ChatSettings.OrDefault(config);
                if (options.DownloadDirectory is { } folder) chat = chat with { DownloadFolder = Path.GetFullPath(folder) };
                owner = _chat = system.ActorOf(ChatSession.Props(chat, owner), "chat");
            }
            peers.Tell(new PeerHostProtocol.OpenSession(PeerName, SessionId, controlling, owner,
                options.RelayOnly ? CandidatePolicy.RelayOnly : CandidatePolicy.All, Secure: !options.Plain));

            if (!_signaling.IsNobody()) return await RunSignaledAsync(input, cancel);

            // 1. our description, once gathering is complete
            IceDescription? local = null;
            while (local is null)
            {
                switch (await _events.Reader.ReadAsync(cancel))
                {
                    case SessionProtocol.Started s: _session = s.Session; break;
                    case SessionProtocol.LocalDescription d: local = d.Description; break;
                    case PeerHostProtocol.SessionNotOpened n:
                        await status.WriteLineAsync($"p2p: {n.Reason}.");
                        return 1;
                    case SessionProtocol.Failed f:
                        await status.WriteLineAsync($"p2p: {f.Reason}.");
                        return 1;
                }
            }
            if (NoCandidates(local) is { } nothing)
            {
                await status.WriteLineAsync(nothing);
                return 1;
            }
            await status.WriteLineAsync("Local description (copy it to the other side, up to the empty line):");
            await output.WriteAsync(local.Write(IceDescriptionFormat.Libnice)); // ends with the empty line
            await output.FlushAsync(cancel);
            // while the user carries the descriptions across: the real session and its first lines find compiled code
            if (!options.Plain && ChatSettings.OrDefault(config).WarmUpLines > 0) NewWarmUp().Tell(ChatWarmUpProtocol.Run.Instance);

            // 2. the remote description, pasted; a bad one is explained and asked for again
            IceDescription? remote = null;
            while (remote is null)
            {
                await status.WriteLineAsync("Paste the remote description, then an empty line:");
                var block = await ReadBlockAsync(input, cancel);
                if (block is null)
                {
                    await status.WriteLineAsync("p2p: no remote description: the input ended before one was pasted.");
                    return 1;
                }
                if (!IceDescription.TryParse(block, skipHostNameCandidates: true, out var parsed, out var error, out _))
                {
                    await status.WriteLineAsync(error.Line.Length > 0
                        ? $"p2p: that description is wrong at line {error.LineNumber} ('{error.Line}'): {error.Reason}. Paste it again."
                        : $"p2p: that description is not usable: {error.Reason}. Paste it again.");
                    continue;
                }
                if (parsed.Candidates.Count == 0)
                {
                    await status.WriteLineAsync("p2p: that description has no a=candidate line, so there is nothing to connect to. Paste it again.");
                    continue;
                }
                remote = parsed;
            }
            _session.Tell(new SessionProtocol.SetRemoteDescription(remote with { EndOfCandidates = true }));
            await status.WriteLineAsync($"Connecting (up to {options.Timeout.TotalSeconds:0} s)...");

            return await ConnectAndChatAsync(input, cancel);
        }

        /// <summary>
        /// The TURN servers the signaling server handed out with the seat (time-limited credentials): the peer starts
        /// allocating on them before the session opens (same sender, so the peer has them first), and the session gathers
        /// their relayed candidates. Nothing happens when the server handed out none.
        /// </summary>
        private async Task<int> UseHandedOutServersAsync(IActorRef peers, SignalingProtocol.Joined joined, CancellationToken cancel)
        {
            if (joined.IceServers is not { Count: > 0 }) return 0;
            var (turn, problems) = await HandedOutServers.ResolveAsync(joined.IceServers, cancel);
            foreach (var problem in problems) await status.WriteLineAsync($"p2p: {problem}.");
            if (turn.Count == 0) return 0;
            peers.Tell(new PeerHostProtocol.AddTurnServers(PeerName, turn));
            await status.WriteLineAsync($"Using the TURN server{(turn.Count == 1 ? "" : "s")} the signaling server handed out: {string.Join(", ", turn.Select(t => t.Server))}.");
            return turn.Count;
        }

        /// <summary>The throw-away chat inside the process (<see cref="ChatWarmUp"/>); it stops itself once its lines went across.</summary>
        private IActorRef NewWarmUp()
        {
            return system.ActorOf(ChatWarmUp.Props(ice, StunSettings.From(config), TurnClientSettings.From(config), ChatSettings.OrDefault(config)), "warm-up");
        }

        /// <summary>
        /// --signal: the throw-away chat runs before joining, so that the real session does not pay the process's
        /// first-session costs once the other peer is there, nor its first lines the JIT's. At most
        /// <paramref name="timeout"/>; a warm-up that failed or took longer changes nothing else.
        /// </summary>
        private async Task WarmUpAsync(TimeSpan timeout, CancellationToken cancel)
        {
            var warmUp = NewWarmUp();
            try
            {
                await warmUp.Ask<ChatWarmUpProtocol.Done>(ChatWarmUpProtocol.Run.Instance, timeout, cancel);
            }
            catch (AskTimeoutException)
            {
                // slower than the timeout (a very busy machine): join now; the real session just pays what is left
                system.Stop(warmUp);
            }
            // else its lines go on in the background, paced, and it stops itself
        }

        /// <summary>--signal: the descriptions and candidates go through the signaling server as they come (trickle).</summary>
        private async Task<int> RunSignaledAsync(LineInput input, CancellationToken cancel)
        {
            await status.WriteLineAsync($"Connecting through room '{options.Room}' (up to {options.Timeout.TotalSeconds:0} s once the other peer is there)...");
            return await ConnectAndChatAsync(input, cancel);
        }

        /// <summary>
        /// With --signal, what the room tells (the bridge carries descriptions and candidates itself): the session
        /// starting, the other peer coming and going, a refused description, the server failing. True when
        /// <paramref name="e"/> was one of these; an exit code when it ends the run.
        /// </summary>
        private async Task<(bool Handled, int? Exit)> SignalAsync(object e)
        {
            if (_signaling.IsNobody()) return (false, null);
            switch (e)
            {
                case SessionProtocol.Started s:
                    _session = s.Session;
                    return (true, null);
                case SignalingProtocol.RemoteSignalRefused r:
                    await StatusAsync($"p2p: {r.Reason.TrimEnd('.')}.");
                    return (true, null);
                case SignalingProtocol.PeerJoined j:
                    if (_bothInRoomAt == 0) _bothInRoomAt = Stopwatch.GetTimestamp();
                    await StatusAsync($"{j.Name} joined the room.");
                    return (true, null);
                case SignalingProtocol.PeerLeft l:
                    await StatusAsync($"{l.Name} left the room.");
                    return (true, null);
                case SignalingProtocol.Reconnected r:
                    await StatusAsync($"signaling: reconnected to {r.Server} (room {r.Room})");
                    return (true, null);
                case SignalingProtocol.SignalingFailed f:
                    await StatusAsync($"p2p: {f.Reason.TrimEnd('.')}.");
                    return (true, _connected ? null : 1); // once connected, the chat goes on without the server
                default:
                    return (false, null);
            }
        }

        private bool _connected;
        private long _bothInRoomAt; // --signal: when this side learnt both peers were in the room, for the connect time it prints

        private async Task<int> ConnectAndChatAsync(LineInput input, CancellationToken cancel)
        {
            // 3. connected, or a sentence saying why not; a secure chat is connected once its chat channel is open, so that
            // a line typed at "Connected" leaves at once instead of waiting for the data channel to be set up
            SessionProtocol.Connected? up = null;
            bool chatOpen = _chat.IsNobody();
            while (true)
            {
                var next = await _events.Reader.ReadAsync(cancel);
                var (handled, exit) = await SignalAsync(next);
                if (exit is { } code) return code;
                if (handled) continue;
                if (next is ChatProtocol.ChatOpened) chatOpen = true;
                if (next is SessionProtocol.Connected connected) up = connected;
                if (up is { } c && chatOpen && next is ChatProtocol.ChatOpened or SessionProtocol.Connected)
                {
                    long connectedAt = Stopwatch.GetTimestamp();
                    _connected = true;
                    await output.WriteLineAsync("Connected");
                    await output.FlushAsync(cancel);
                    await status.WriteLineAsync($"Connected over {c.Pair}{(c.RemoteFingerprint is { } fp ? $", encrypted (DTLS), peer certificate sha-256 {fp}" : ", unencrypted (--plain)")}.");
                    if (_bothInRoomAt != 0)
                        await status.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Connected {Stopwatch.GetElapsedTime(_bothInRoomAt, connectedAt).TotalMilliseconds:0} ms after both peers were in the room."));
                    break;
                }
                if (next is SessionProtocol.Failed f)
                {
                    await status.WriteLineAsync(FailureSentence(f.Reason));
                    return 1;
                }
                if (next is SessionProtocol.LocalDescription { Description: var gathered } && NoCandidates(gathered) is { } nothing)
                {
                    await status.WriteLineAsync(nothing);
                    return 1;
                }
            }

            // 4. the chat: typed lines out, received ones printed, until input ends (and the transfers under way with
            // it) or the peer goes
            _ = Task.Run(async () =>
            {
                await TypeAsync(input, cancel);
                _events.Writer.TryWrite(InputEnded.Instance);
            }, CancellationToken.None);
            int result = await ReadAsync(cancel);
            _progress.EndAll(); // bars of transfers still running end here
            if (result != InputDone) return result;
            if (_chat.IsNobody()) await Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None); // --plain: no acks to wait for
            await CloseSessionAsync();
            return 0;
        }

        /// <summary>Told by the typing task when the input ended.</summary>
        private sealed record InputEnded
        {
            public static readonly InputEnded Instance = new();
        }

        /// <summary>After the input ended: lines still unacknowledged are waited for no longer.</summary>
        private sealed record LinesGrace
        {
            public static readonly LinesGrace Instance = new();
        }

        /// <summary><see cref="ReadAsync"/>'s answer when the input ended and nothing is under way any more: close, exit 0.</summary>
        private const int InputDone = -1;

        private async Task TypeAsync(LineInput input, CancellationToken cancel)
        {
            while (await input.ReadLineAsync(cancel) is { } raw)
            {
                var line = raw.TrimEnd('\r');
                if (_chat.IsNobody())
                {
                    _session.Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes(line))); // --plain: one datagram, like the original
                    continue;
                }
                var words = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
                switch (words.FirstOrDefault())
                {
                    case "/send" when words.Length >= 2:
                        _chat.Tell(new ChatProtocol.SendFile(line["/send".Length..].Trim()));
                        break;
                    case "/accept" when words.Length >= 2:
                        _chat.Tell(new ChatProtocol.AcceptFile(words[1], Overwrite: words.Length == 3 && words[2] == "overwrite"));
                        break;
                    case "/reject" when words.Length == 2:
                        _chat.Tell(new ChatProtocol.RejectFile(words[1]));
                        break;
                    case "/help":
                        await StatusAsync("/send <path>  offer a file;  /accept <id> [overwrite]  take an offered file;  /reject <id>;  anything else is a chat line");
                        break;
                    default:
                        _chat.Tell(new ChatProtocol.Say(line));
                        break;
                }
            }
        }

        /// <summary>
        /// What the session and the chat tell, printed, until the peer goes (its exit code) or the input ended with
        /// nothing under way (<see cref="InputDone"/>): lines typed last are delivered, files being sent or received
        /// (or offered by this side) finish first, and the user is told that the chat waits for them.
        /// </summary>
        private async Task<int> ReadAsync(CancellationToken cancel)
        {
            var transfers = new HashSet<string>(StringComparer.Ordinal); // offered by this side, or moving either way
            var undelivered = new HashSet<long>();
            bool inputEnded = false;
            bool Idle() => inputEnded && transfers.Count == 0 && undelivered.Count == 0;
            while (true)
            {
                var next = await _events.Reader.ReadAsync(cancel);
                var (handled, exit) = await SignalAsync(next);
                if (exit is { } code) return code;
                if (handled) continue;
                switch (next)
                {
                    case InputEnded:
                        inputEnded = true;
                        if (Idle()) return InputDone;
                        // lines typed last get a moment to be acknowledged; transfers are waited for
                        _ = Task.Delay(_closeTimeout, CancellationToken.None).ContinueWith(_ => _events.Writer.TryWrite(LinesGrace.Instance), TaskScheduler.Default);
                        if (transfers.Count > 0)
                            await StatusAsync($"p2p: input ended; closing once {(transfers.Count == 1 ? "the file transfer under way finishes" : $"the {transfers.Count} file transfers under way finish")} (Ctrl+C stops now).");
                        break;
                    case LinesGrace:
                        undelivered.Clear();
                        if (Idle()) return InputDone;
                        break;
                    case ChatProtocol.MessageQueued q:
                        undelivered.Add(q.Id);
                        break;
                    case ChatProtocol.MessageReceived m:
                        await ChatLineAsync($"Received: {m.Text}", cancel);
                        break;
                    case ChatProtocol.MessageDelivered d:
                        undelivered.Remove(d.Id);
                        if (Idle()) return InputDone;
                        break; // acknowledged: nothing to show in a two-person chat
                    case ChatProtocol.FileOfferSent or ChatProtocol.FileProgress or ChatProtocol.FileResumed when next is ChatProtocol.IChatEvent started:
                        transfers.Add(TransferProgress.FileId(started)!);
                        if (!_progress.Show(SessionId, started) && ChatEventText.Describe(started, c => "/" + c) is { } startedLine) await StatusAsync(startedLine);
                        break;
                    case ChatProtocol.FileCompleted or ChatProtocol.FileFailed or ChatProtocol.FileInterrupted when next is ChatProtocol.IChatEvent ended:
                        transfers.Remove(TransferProgress.FileId(ended)!);
                        if (!_progress.Show(SessionId, ended) && ChatEventText.Describe(ended, c => "/" + c) is { } endedLine) await StatusAsync(endedLine);
                        if (Idle()) return InputDone;
                        break;
                    case ChatProtocol.ChatStopped stopped:
                        await StatusAsync(ChatEventText.Describe(stopped, c => c)!);   // nothing typed could be sent any more
                        return 1;
                    case ChatProtocol.IChatEvent chatEvent:
                        if (_progress.Show(SessionId, chatEvent)) break;
                        if (ChatEventText.Describe(chatEvent, c => "/" + c) is { } line) await StatusAsync(line);
                        break;
                    case SessionProtocol.DataReceived d:
                        await ChatLineAsync($"Received: {Encoding.UTF8.GetString(d.Data.Span).TrimEnd('\n', '\r')}", cancel);
                        break;
                    case SessionProtocol.Closed { PeerReason: not null } closed:
                        await StatusAsync($"p2p: {closed.PeerReason}.");
                        await ChatLineAsync("Connection closed by peer", cancel);
                        return 0;
                    case SessionProtocol.Disconnected d:
                        await StatusAsync($"p2p: connection lost ({d.Reason}); trying to restore it...");
                        break;
                    case SessionProtocol.Restarted:
                        if (_signaling.IsNobody())
                        {
                            await StatusAsync("p2p: the path to the peer is gone and new descriptions cannot be exchanged by hand mid-chat; start both sides again.");
                            return 1;
                        }
                        break;
                    case SessionProtocol.Failed f:
                        await StatusAsync($"p2p: {f.Reason}.");
                        return 1;
                }
            }
        }

        /// <summary>
        /// A description without a single candidate gives the other side nothing to connect to: never printed or sent
        /// silently, but said, with what to do. Null when it has candidates.
        /// </summary>
        private string? NoCandidates(IceDescription description)
        {
            if (description.Candidates.Count > 0) return null;
            if (options.RelayOnly)
                return options.Turn is null
                    ? "p2p: --relay-only needs a TURN server: add --turn <server> --turn-user <u> --turn-pass <p>."
                    : $"p2p: no relay candidate: the TURN server {options.Turn}:{options.TurnPort} gave no allocation (see the reason above). Check --turn, --turn-port, --turn-user and --turn-pass, or leave out --relay-only.";
            if (options.LocalAddress is null)
                return "p2p: no candidate to offer: this machine has no network address besides loopback (loopback addresses are never offered unless asked for). "
                    + "To chat on this machine, start both sides with --local-address 127.0.0.1; to reach another machine, connect it to a network or give a TURN server with --turn.";
            return $"p2p: no candidate to offer: nothing could be bound on {options.LocalAddress}. Check --local-address, or give a TURN server with --turn.";
        }

        private string FailureSentence(string reason) =>
            reason.Contains("no candidate pair worked", StringComparison.Ordinal) || reason.Contains("candidate pairs failed", StringComparison.Ordinal)
                ? $"p2p: failed to connect: {reason}. Try using a TURN server with --turn <server> --turn-user <u> --turn-pass <p>."
                : $"p2p: {reason.TrimEnd('.')}.";
    }

    /// <summary>Hands every message it gets to the console code: the peer's problems on their own channel.</summary>
    /// <summary>
    /// Where the peer, the session and the chat tell their events: straight into the console's channels on the teller's
    /// thread, not through an actor of its own (one hop less between a line arriving and the screen).
    /// </summary>
    private sealed class EventPump(ChannelWriter<object> events, ChannelWriter<string> problems, IActorRefProvider provider) : MinimalActorRef
    {
        public override ActorPath Path { get; } = provider.TempPath();

        public override IActorRefProvider Provider => provider;

        protected override void TellInternal(object message, IActorRef sender)
        {
            switch (message)
            {
                case LocalPeerProtocol.GatheringProblem m: problems.TryWrite(m.Reason); break;
                case LocalPeerProtocol.PeerFailed m: problems.TryWrite($"the local peer failed: {m.Reason}"); break;
                default: events.TryWrite(message); break;
            }
        }
    }
}
