using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;

namespace P2P.Benchmarks;

/// <summary>
/// Many concurrent sessions between two host processes (issue 7, item 3). Each process is this program in
/// <c>sessions-peer</c> mode: one actor system, one peer, one UDP socket on 127.0.0.1 that all its sessions share.
/// This process starts both, carries their descriptions, trickled candidates and end-of-candidates between them
/// (stdin/stdout lines, the signaling), opens N sessions on both at once and times it until every session of both
/// sides is connected; each side reports its working-set and managed-heap growth and the CPU it used. Then one
/// datagram crosses every session as a check. Fresh processes for every N, after a warm-up round in them.
/// <c>dotnet run -c Release --project bench/P2P.Benchmarks -- sessions [1,10,100,1000,10000] [--secure] [--load 4] [--plot file.png]</c>
/// <para>
/// <c>--load N</c> keeps the machine busy while it runs: N processes that each spin on a core (<c>sh</c> in an endless
/// loop, at normal priority), so that the sessions connect on a machine with a load of about N, as on a shared host.
/// </para>
/// </summary>
public static class ManySessionsBench
{
    private const int WarmUpSessions = 20;

    /// <summary>
    /// BENCH_PROGRESS: each child says on stderr every 2 s how far it is: sessions connected, the peer's check-admission
    /// queue, sessions that lost consent, its socket's datagrams, how long the peer and its socket took to answer (their
    /// mailboxes' backlog), and the time the process spent paused in GC.
    /// </summary>
    private static readonly bool ShowProgress = Environment.GetEnvironmentVariable("BENCH_PROGRESS") is not null;

    public sealed record Row(int Sessions, double ConnectMs, double WorkingSetBytesPerSession, double HeapBytesPerSession, double CpuMs, bool DataChecked);

    public static async Task<int> RunAsync(string[] args)
    {
        var counts = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal)
            ? args[0].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
            : [1, 10, 100, 1_000, 10_000];
        bool secure = args.Contains("--secure");
        int plotAt = Array.IndexOf(args, "--plot");
        string? plot = plotAt >= 0 && plotAt + 1 < args.Length ? args[plotAt + 1] : null;
        int loadAt = Array.IndexOf(args, "--load");
        int load = loadAt >= 0 && loadAt + 1 < args.Length ? int.Parse(args[loadAt + 1], CultureInfo.InvariantCulture) : 0;
        var rows = new List<Row>();
        Console.WriteLine($"sessions: {(secure ? "secure (ICE + DTLS 1.2)" : "ICE")} sessions between two processes, one UDP socket per peer on 127.0.0.1" +
            (load > 0 ? $", {load} busy-loop processes running beside them" : ""));
        using var busy = BusyLoops.Start(load);
        foreach (int n in counts)
        {
            Row row;
            try
            {
                row = await OneCountAsync(n, secure);
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
            {
                // a session that failed ends this count and the larger ones: say which and why, in the table's place
                Console.WriteLine($"sessions {n}: FAILED ({e.Message})");
                return 1;
            }
            rows.Add(row);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sessions {n}: all connected in {row.ConnectMs:0} ms, working set {row.WorkingSetBytesPerSession / 1024:0.0} KiB/session, " +
                $"managed heap {row.HeapBytesPerSession / 1024:0.0} KiB/session, CPU {row.CpuMs:0} ms ({row.CpuMs * 1000 / n:0} us/session), " +
                $"data {(row.DataChecked ? "ok" : "MISSING")}"));
        }
        if (plot is not null)
        {
            SessionsPlot.Write(plot, rows, secure);
            Console.WriteLine($"plot: {plot}");
        }
        return rows.All(r => r.DataChecked) ? 0 : 1;
    }

    /// <summary>Processes that each spin on a core until disposed: the load of <c>--load</c>.</summary>
    private sealed class BusyLoops : IDisposable
    {
        private readonly List<Process> _loops = [];

        public static BusyLoops Start(int count)
        {
            var loops = new BusyLoops();
            for (int i = 0; i < count; i++)
            {
                var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
                start.ArgumentList.Add("-c");
                start.ArgumentList.Add("while :; do :; done");
                loops._loops.Add(Process.Start(start) ?? throw new InvalidOperationException("could not start a busy loop"));
            }
            return loops;
        }

        public void Dispose()
        {
            foreach (var loop in _loops)
            {
                try { loop.Kill(); } catch (InvalidOperationException) { /* already gone */ }
                loop.Dispose();
            }
        }
    }

    private static async Task<Row> OneCountAsync(int n, bool secure)
    {
        await using var a = await PeerProcess.StartAsync("a", secure);
        await using var b = await PeerProcess.StartAsync("b", secure);
        using var relay = new CancellationTokenSource();
        var carryAtoB = a.CarrySignalingAsync(b, relay.Token);
        var carryBtoA = b.CarrySignalingAsync(a, relay.Token);

        // warm-up round in these processes (JIT, first-use allocations), closed again before the baseline
        await RoundAsync(a, b, WarmUpSessions, "w");
        a.Send("close");
        b.Send("close");
        await Task.WhenAll(a.ExpectAsync("closed"), b.ExpectAsync("closed"));

        var (ms, resultA, resultB) = await RoundAsync(a, b, n, "s");
        // BENCH_PAUSE_MS: time to look at the processes with every session up (dotnet-gcdump, dotnet-trace)
        if (int.TryParse(Environment.GetEnvironmentVariable("BENCH_PAUSE_MS"), out int pause)) await Task.Delay(pause);
        // one datagram on every session; sent again (at most 5 times) if some were lost on the way: it is UDP
        bool dataChecked = false;
        for (int attempt = 0; attempt < 5 && !dataChecked; attempt++)
        {
            a.Send("ping");
            try
            {
                var data = await b.ExpectAsync("data", TimeSpan.FromSeconds(5) + TimeSpan.FromMilliseconds(3) * n); // secure: after SCTP and the channel
                dataChecked = int.Parse(data[1], CultureInfo.InvariantCulture) == n;
            }
            catch (OperationCanceledException) { }
        }

        a.Send("quit");
        b.Send("quit");
        relay.Cancel();
        long ws = resultA.WorkingSet + resultB.WorkingSet, heap = resultA.Heap + resultB.Heap;
        return new Row(n, ms, ws / 2.0 / n, heap / 2.0 / n, resultA.CpuMs + resultB.CpuMs, dataChecked);
    }

    private sealed record SideResult(long WorkingSet, long Heap, double CpuMs);

    private static async Task<(double Ms, SideResult A, SideResult B)> RoundAsync(PeerProcess a, PeerProcess b, int n, string prefix)
    {
        var clock = Stopwatch.StartNew();
        a.Send($"open {n} 1 {prefix}");
        b.Send($"open {n} 0 {prefix}");
        // a limit that grows with the count: 10,000 secure sessions on a busy machine take minutes (a failed session still ends it at once)
        var limit = TimeSpan.FromSeconds(90) + TimeSpan.FromMilliseconds(60) * n;
        var doneA = a.ExpectAsync("connected", limit);
        var doneB = b.ExpectAsync("connected", limit);
        await Task.WhenAll(doneA, doneB);
        double ms = clock.Elapsed.TotalMilliseconds;
        return (ms, Parse(await doneA), Parse(await doneB));

        static SideResult Parse(string[] f) => new(long.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture),
            double.Parse(f[5], CultureInfo.InvariantCulture));
    }

    /// <summary>One <c>sessions-peer</c> child: lines in on stdin, lines out on stdout.</summary>
    private sealed class PeerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _out = Channel.CreateUnbounded<string>();
        private readonly Channel<string[]> _results = Channel.CreateUnbounded<string[]>();
        private readonly Task _writer;
        private Task? _reader;
        private PeerProcess? _other;

        private PeerProcess(Process process)
        {
            _process = process;
            _writer = Task.Run(async () =>
            {
                var stdin = _process.StandardInput;
                await foreach (var line in _out.Reader.ReadAllAsync())
                {
                    await stdin.WriteLineAsync(line);
                    if (_out.Reader.Count == 0) await stdin.FlushAsync();
                }
            });
        }

        public static async Task<PeerProcess> StartAsync(string name, bool secure)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            // the same program, started the way this one was (an apphost, or dotnet with the dll)
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(ManySessionsBench).Assembly.Location);
            start.ArgumentList.Add("sessions-peer");
            start.ArgumentList.Add(name);
            if (secure) start.ArgumentList.Add("--secure");
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start a sessions-peer process");
            process.StandardInput.AutoFlush = false;
            var peer = new PeerProcess(process);
            var ready = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"sessions-peer {name} ended before it was ready");
            if (!ready.StartsWith("ready ", StringComparison.Ordinal)) throw new InvalidOperationException($"sessions-peer {name}: {ready}");
            return peer;
        }

        public void Send(string line) => _out.Writer.TryWrite(line);

        /// <summary>Signaling lines go to the other process; result lines are kept for <see cref="ExpectAsync"/>.</summary>
        public Task CarrySignalingAsync(PeerProcess other, CancellationToken cancel)
        {
            _other = other;
            _reader = Task.Run(async () =>
            {
                while (await _process.StandardOutput.ReadLineAsync(cancel) is { } line)
                {
                    if (line.StartsWith("desc ", StringComparison.Ordinal) || line.StartsWith("cand ", StringComparison.Ordinal) || line.StartsWith("eoc ", StringComparison.Ordinal))
                        _other.Send(line);
                    else if (line.StartsWith("failed ", StringComparison.Ordinal)) _results.Writer.TryWrite(["error", .. line.Split(' ')]);
                    else _results.Writer.TryWrite(line.Split(' '));
                }
                _results.Writer.TryComplete(new InvalidOperationException("a sessions-peer process ended"));
            }, cancel);
            return _reader;
        }

        public async Task<string[]> ExpectAsync(string kind, TimeSpan? within = null)
        {
            using var limit = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(90));
            while (true)
            {
                var fields = await _results.Reader.ReadAsync(limit.Token);
                if (fields[0] == kind) return fields;
                if (fields[0] == "error") throw new InvalidOperationException(string.Join(' ', fields));
            }
        }

        public async ValueTask DisposeAsync()
        {
            _out.Writer.TryComplete();
            try { await _writer.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { /* the child may be gone already */ }
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10))) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }

    // ---- the child: sessions-peer ------------------------------------------------------------------------

    /// <summary>The child process: one peer, sessions opened and signaled as the parent's lines say.</summary>
    public static async Task<int> PeerMainAsync(string[] args)
    {
        string name = args.Length > 0 ? args[0] : "a";
        bool secure = args.Contains("--secure");
        var config = BenchConfig.Load();
        // the log (Akka's standard-out logger writes to Console.Out) goes to stderr, which the parent passes through: on
        // stdout its lines were cut into the protocol lines written there in 64 KiB blocks, and a description with a
        // warning inside it no longer parsed, so one failed session made many
        Console.SetOut(Console.Error);
        using var system = ActorSystem.Create($"sessions-{name}", config);
        var host = system.ActorOf(PeerHost.Props(config), "peers");
        var added = await host.Ask<object>(new PeerHostProtocol.AddPeer(new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], [])), TimeSpan.FromSeconds(10));
        if (added is not PeerHostProtocol.PeerAdded ready)
        {
            Console.WriteLine($"error {added}");
            return 1;
        }
        var output = Channel.CreateUnbounded<string>();
        var writer = Task.Run(async () =>
        {
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
            await foreach (var line in output.Reader.ReadAllAsync())
            {
                await stdout.WriteLineAsync(line);
                if (output.Reader.Count == 0) await stdout.FlushAsync();
            }
            await stdout.FlushAsync();
        });
        var quit = new TaskCompletionSource();
        var driver = system.ActorOf(Props.Create(() => new Driver(host, name, secure, output.Writer, quit)), "driver");
        output.Writer.TryWrite($"ready {ready.Local.Port}");
        _ = Task.Run(() =>
        {
            while (Console.In.ReadLine() is { } line) driver.Tell(line);
            driver.Tell("quit");
        });
        await quit.Task;
        output.Writer.TryComplete();
        await writer;
        return 0;
    }

    /// <summary>Owner of every session of the child, and the only one who reads its commands.</summary>
    private sealed record Progress;

    private sealed class Driver : ReceiveActor, IWithTimers
    {
        public ITimerScheduler Timers { get; set; } = null!;

        private readonly Dictionary<string, IActorRef> _sessions = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<object>> _early = new(StringComparer.Ordinal);
        private readonly ChannelWriter<string> _out;
        private readonly HashSet<string> _received = new(StringComparer.Ordinal);
        private int _expected, _connected, _closedExpected, _closed, _descriptions, _disconnected, _restarted;
        private LocalPeerProtocol.Stats? _stats;
        private UdpSocketProtocol.Stats? _socketStats;
        private long _statsAskedAt;
        private double _peerReplyMs, _socketReplyMs; // how long the peer and its socket took to answer: their mailboxes' backlog
        private IActorRef? _peer;
        private long _ws0, _heap0;
        private TimeSpan _cpu0;

        public Driver(IActorRef host, string peer, bool secure, ChannelWriter<string> output, TaskCompletionSource quit)
        {
            _out = output;
            if (ShowProgress) Timers.StartPeriodicTimer("progress", new Progress(), TimeSpan.FromSeconds(2));
            Receive<string>(line =>
            {
                var f = line.Split(' ', 3);
                switch (f[0])
                {
                    case "open":
                        int n = int.Parse(f[1], CultureInfo.InvariantCulture);
                        bool controlling = f[2].StartsWith('1');
                        string prefix = f[2].Split(' ')[1];
                        Baseline();
                        _expected = _sessions.Count + n;
                        for (int i = 0; i < n; i++)
                            host.Tell(new PeerHostProtocol.OpenSession(peer, $"{prefix}{i}", controlling, Self, Secure: secure));
                        break;
                    case "desc":
                        var text = Encoding.UTF8.GetString(Convert.FromBase64String(f[2]));
                        if (!IceDescription.TryParse(text, out var description, out var error)) _out.TryWrite($"error description of {f[1]}: {error}");
                        else
                        {
                            _descriptions++;
                            ToSession(f[1], new SessionProtocol.SetRemoteDescription(description), first: true);
                        }
                        break;
                    case "cand":
                        if (!IceCandidate.TryParse(f[2], out var candidate, out var reason)) _out.TryWrite($"error candidate of {f[1]}: {reason}");
                        else ToSession(f[1], new SessionProtocol.AddRemoteCandidate(candidate));
                        break;
                    case "eoc":
                        ToSession(f[1], new SessionProtocol.RemoteEndOfCandidates());
                        break;
                    case "ping":
                        foreach (var session in _sessions.Values) session.Tell(new SessionProtocol.Send("ping"u8.ToArray()));
                        break;
                    case "close":
                        _closedExpected = _sessions.Count;
                        _closed = 0;
                        foreach (var session in _sessions.Values) session.Tell(new SessionProtocol.Close());
                        _sessions.Clear();
                        _early.Clear();
                        break;
                    case "quit":
                        quit.TrySetResult();
                        break;
                }
            });
            Receive<SessionProtocol.Started>(m =>
            {
                _sessions[m.SessionId] = m.Session;
                _out.TryWrite($"desc {m.SessionId} {Convert.ToBase64String(Encoding.UTF8.GetBytes(m.Description!.Write()))}");
                if (_early.Remove(m.SessionId, out var early)) foreach (var e in early) m.Session.Tell(e);
            });
            Receive<SessionProtocol.LocalCandidate>(m => _out.TryWrite($"cand {m.SessionId} {m.Candidate.ToAttributeValue()}"));
            Receive<SessionProtocol.LocalDescription>(m => _out.TryWrite($"eoc {m.SessionId}"));
            Receive<SessionProtocol.Connected>(_ =>
            {
                if (++_connected == _expected) Report();
            });
            Receive<SessionProtocol.Failed>(m => _out.TryWrite($"failed {m.SessionId} {m.Reason}"));
            Receive<Progress>(_ =>
            {
                if (_peer is null) host.Tell(new PeerHostProtocol.GetPeers());
                else
                {
                    _statsAskedAt = Stopwatch.GetTimestamp();
                    _peer.Tell(new LocalPeerProtocol.GetStats());
                    Context.ActorSelection(_peer.Path / "udp").Tell(new UdpSocketProtocol.GetStats());
                }
                if (_expected > 0 && _connected < _expected)
                    Console.Error.WriteLine($"  {peer}: {_sessions.Count} started, {_descriptions} descriptions in, {_connected} of {_expected} connected" +
                        (_stats is { } s ? $"; {s.SessionsChecking} checking, {s.SessionsWaitingToCheck} waiting to check (most {s.MostSessionsChecking})" : "") +
                        $"; {_disconnected} disconnected, {_restarted} restarted" +
                        (_socketStats is { } u ? $"; socket {u.DatagramsIn} in, {u.DatagramsOut} out; replies peer {_peerReplyMs:0} ms, socket {_socketReplyMs:0} ms" : "") +
                        $"; GC paused {GC.GetTotalPauseDuration().TotalSeconds:0.0} s in all, collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, heap {GC.GetTotalMemory(false) >> 20} MiB");
            });
            Receive<PeerHostProtocol.Peers>(m => _peer = m.List.FirstOrDefault()?.Peer);
            Receive<LocalPeerProtocol.Stats>(m =>
            {
                _stats = m;
                _peerReplyMs = Stopwatch.GetElapsedTime(_statsAskedAt).TotalMilliseconds;
            });
            Receive<UdpSocketProtocol.Stats>(m =>
            {
                _socketStats = m;
                _socketReplyMs = Stopwatch.GetElapsedTime(_statsAskedAt).TotalMilliseconds;
            });
            Receive<SessionProtocol.Disconnected>(m =>
            {
                _disconnected++;
                if (ShowProgress) Console.Error.WriteLine($"  {peer}: {m.SessionId} disconnected: {m.Reason}");
            });
            Receive<SessionProtocol.Restarted>(_ => _restarted++);
            Receive<SessionProtocol.Closed>(_ =>
            {
                if (++_closed == _closedExpected)
                {
                    _connected = 0;
                    _out.TryWrite("closed");
                }
            });
            Receive<SessionProtocol.DataReceived>(m =>
            {
                // each session must get its own datagram: sessions share the address pair, only their tags tell them apart
                if (_received.Add(m.SessionId) && _received.Count == _sessions.Count) _out.TryWrite($"data {_received.Count}");
            });
            ReceiveAny(_ => { });
        }

        /// <summary>Theirs for a session not started here yet waits (the description always first).</summary>
        private void ToSession(string id, object message, bool first = false)
        {
            if (_sessions.TryGetValue(id, out var session))
            {
                session.Tell(message);
                return;
            }
            if (!_early.TryGetValue(id, out var list)) _early[id] = list = [];
            if (first) list.Insert(0, message); else list.Add(message);
        }

        /// <summary>
        /// What the sessions hold, not the transient peaks of opening them: a full compacting collection that also
        /// gives freed memory back to the system (GCCollectionMode.Aggressive), as a long-running host's GC does in time.
        /// </summary>
        private static void Settle()
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        private void Baseline()
        {
            Settle();
            using var self = Process.GetCurrentProcess();
            _ws0 = self.WorkingSet64;
            _heap0 = GC.GetTotalMemory(forceFullCollection: false);
            _cpu0 = self.TotalProcessorTime;
        }

        private void Report()
        {
            using var self = Process.GetCurrentProcess();
            var cpu = self.TotalProcessorTime - _cpu0; // before the collections below, which are the bench's own
            Settle();
            self.Refresh();
            long ws = self.WorkingSet64 - _ws0;
            long heap = GC.GetTotalMemory(forceFullCollection: false) - _heap0;
            _out.TryWrite(string.Create(CultureInfo.InvariantCulture, $"connected {_connected} sessions {ws} {heap} {cpu.TotalMilliseconds:0.0}"));
        }
    }
}
