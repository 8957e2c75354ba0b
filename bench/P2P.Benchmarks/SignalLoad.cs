using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using P2P.Actors.Signaling;

namespace P2P.Benchmarks;

/// <summary>
/// Load on <c>p2p signal</c>, one node or a fleet (issue 17): what a user's client does, over real WebSockets.
/// <para>Rooms: <c>R</c> rooms of two, <c>C</c> at a time. Per room, peer one opens a WebSocket to node <c>i</c> and peer
/// two to node <c>i + 1</c> (so with several nodes the two meet across nodes, through the room's shard wherever it
/// lives), both join, and the room counts once both have the other's peer-joined; then both close. Rooms joined per
/// second over the measured rooms (after a warm-up), and the servers' CPU seconds per room from /proc.</para>
/// <para>Idle: <c>M</c> WebSockets spread over the nodes, each seated alone in its own room (a peer waiting for the
/// other), held for <c>S</c> seconds: per node the connections it holds, its resident memory and its CPU while idle.</para>
/// Run: <c>dotnet run -c Release --project bench/P2P.Benchmarks -- signalload --urls ws://a/,ws://b/ --pids 1,2
/// [--rooms 2000] [--concurrency 32] [--idle 10000] [--idle-seconds 20] [--label name]</c>; <c>bench/run-fleet.sh</c>
/// runs it against one node and against three.
/// </summary>
public static class SignalLoad
{
    private sealed record Options(Uri[] Urls, int[] Pids, int Rooms, int Concurrency, int Idle, int IdleSeconds, string Label);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(string[] args)
    {
        if (!TryParse(args, out var options, out var error))
        {
            Console.Error.WriteLine($"signalload: {error}");
            Console.Error.WriteLine("usage: signalload --urls ws://a/,ws://b/ --pids p1,p2 [--rooms R] [--concurrency C] [--idle M] [--idle-seconds S] [--label name]");
            return 2;
        }
        try
        {
            if (options.Rooms > 0) await RoomsAsync(options);
            if (options.Idle > 0) await IdleAsync(options);
            return 0;
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            Console.Error.WriteLine($"signalload {options.Label}: {e.Message}");
            return 1;
        }
    }

    private static async Task RoomsAsync(Options o)
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        int warmUp = Math.Min(o.Rooms / 10, 200);
        await ForEachAsync(warmUp, o.Concurrency, i => RoomAsync(o, $"w{run}-{i}", i));
        double cpuBefore = Cpu(o.Pids);
        var clock = Stopwatch.StartNew();
        await ForEachAsync(o.Rooms, o.Concurrency, i => RoomAsync(o, $"r{run}-{i}", i));
        double seconds = clock.Elapsed.TotalSeconds;
        double cpu = Cpu(o.Pids) - cpuBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"signal-rooms {o.Label}: nodes {o.Urls.Length} rooms {o.Rooms} concurrency {o.Concurrency} " +
            $"{o.Rooms / seconds:0} rooms/s, server CPU {cpu:0.00} s ({cpu * 1e3 / o.Rooms:0.00} ms/room), load {LoadAverage()}"));
    }

    /// <summary>One room of two: both open, both join, both see the other; then both leave.</summary>
    private static async Task RoomAsync(Options o, string room, int i)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var one = await OpenAsync(o.Urls[i % o.Urls.Length], timeout.Token);
        var two = await OpenAsync(o.Urls[(i + 1) % o.Urls.Length], timeout.Token);
        try
        {
            await SendAsync(one, SignalMessage.Join(room, "one"), timeout.Token);
            await SendAsync(two, SignalMessage.Join(room, "two"), timeout.Token);
            await Task.WhenAll(UntilAsync(one, SignalMessage.PeerJoinedType, timeout.Token), UntilAsync(two, SignalMessage.PeerJoinedType, timeout.Token));
        }
        finally
        {
            await CloseAsync(one);
            await CloseAsync(two);
        }
    }

    private static async Task IdleAsync(Options o)
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        var sockets = new List<ClientWebSocket>(o.Idle);
        var rssBefore = o.Pids.Select(RssMiB).ToArray();
        var clock = Stopwatch.StartNew();
        var gate = new object();
        await ForEachAsync(o.Idle, 64, async i =>
        {
            using var timeout = new CancellationTokenSource(Patience);
            var socket = await OpenAsync(o.Urls[i % o.Urls.Length], timeout.Token);
            await SendAsync(socket, SignalMessage.Join($"i{run}-{i}", "waiting"), timeout.Token);
            await UntilAsync(socket, SignalMessage.JoinedType, timeout.Token);
            lock (gate) sockets.Add(socket);
        });
        double opened = clock.Elapsed.TotalSeconds;
        var cpuBefore = o.Pids.Select(p => ProcCpu.TryReadSeconds(p, out double s) ? s : 0).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(o.IdleSeconds));
        var cpuAfter = o.Pids.Select(p => ProcCpu.TryReadSeconds(p, out double s) ? s : 0).ToArray();
        var rssAfter = o.Pids.Select(RssMiB).ToArray();
        var line = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"signal-idle {o.Label}: nodes {o.Urls.Length} connections {sockets.Count} opened in {opened:0.0} s ({sockets.Count / opened:0}/s);"));
        for (int n = 0; n < o.Pids.Length; n++)
        {
            int held = (o.Idle + o.Urls.Length - 1 - n) / o.Urls.Length;
            double cpuPercent = (cpuAfter[n] - cpuBefore[n]) * 100 / o.IdleSeconds;
            line.Append(string.Create(CultureInfo.InvariantCulture,
                $" node {n + 1}: {held} connections, RSS {rssAfter[n]:0} MiB (+{(rssAfter[n] - rssBefore[n]) * 1024 / Math.Max(held, 1):0.0} KiB each), idle CPU {cpuPercent:0.00}%;"));
        }
        Console.WriteLine(line.ToString().TrimEnd(';'));
        foreach (var socket in sockets) socket.Abort();
        foreach (var socket in sockets) socket.Dispose();
    }

    private static async Task<ClientWebSocket> OpenAsync(Uri url, CancellationToken cancel)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // idle means idle: the server's own keep-alive is what is measured
        await socket.ConnectAsync(url, cancel);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, SignalMessage message, CancellationToken cancel) =>
        socket.SendAsync(message.ToUtf8(), WebSocketMessageType.Text, true, cancel);

    /// <summary>Reads messages until one of <paramref name="type"/>; an "error" from the server ends the run.</summary>
    private static async Task UntilAsync(ClientWebSocket socket, string type, CancellationToken cancel)
    {
        var buffer = new byte[4096];
        while (true)
        {
            int length = 0;
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(length), cancel);
                if (received.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException($"the server closed the connection while we waited for {type}");
                length += received.Count;
                if (received.EndOfMessage || length == buffer.Length) break;
            }
            if (!SignalMessage.TryParse(buffer.AsSpan(0, length), out var message, out var error)) throw new InvalidOperationException($"the server sent a bad message: {error}");
            if (message.Type == type) return;
            if (message.Type == SignalMessage.ErrorType) throw new InvalidOperationException($"the server answered: {message.Reason}");
        }
    }

    private static async Task CloseAsync(ClientWebSocket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { socket.Abort(); }
        finally { socket.Dispose(); }
    }

    /// <summary>Runs <paramref name="work"/>(0..count-1), at most <paramref name="concurrency"/> at a time.</summary>
    private static Task ForEachAsync(int count, int concurrency, Func<int, Task> work) =>
        Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) => await work(i));

    private static double Cpu(int[] pids) => pids.Sum(p => ProcCpu.TryReadSeconds(p, out double s) ? s : 0);

    /// <summary>VmRSS of <paramref name="pid"/> in MiB (proc(5)), 0 when the process is gone.</summary>
    private static double RssMiB(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException) { }
        return 0;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "-"; }
    }

    private static bool TryParse(string[] args, out Options options, out string error)
    {
        options = null!;
        error = string.Empty;
        Uri[] urls = [];
        int[] pids = [];
        int rooms = 2000, concurrency = 32, idle = 0, idleSeconds = 20;
        string label = "ours";
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            if (value is null) { error = $"{args[i]} needs a value"; return false; }
            switch (args[i])
            {
                case "--urls":
                    var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries);
                    urls = new Uri[parts.Length];
                    for (int u = 0; u < parts.Length; u++)
                        if (!Uri.TryCreate(parts[u], UriKind.Absolute, out urls[u]!) || urls[u].Scheme is not ("ws" or "wss")) { error = $"'{parts[u]}' is not a ws:// URL"; return false; }
                    break;
                case "--pids":
                    pids = value.Split(',').Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : -1).ToArray();
                    if (pids.Any(p => p <= 0)) { error = $"--pids '{value}' is not a list of process ids"; return false; }
                    break;
                case "--rooms" or "--concurrency" or "--idle" or "--idle-seconds":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n)) { error = $"{args[i]} expects a whole number, not '{value}'"; return false; }
                    if (args[i] == "--rooms") rooms = n;
                    else if (args[i] == "--concurrency") concurrency = Math.Max(1, n);
                    else if (args[i] == "--idle") idle = n;
                    else idleSeconds = Math.Max(1, n);
                    break;
                case "--label":
                    label = value;
                    break;
                default:
                    error = $"unknown option {args[i]}";
                    return false;
            }
            i++;
        }
        if (urls.Length == 0) { error = "--urls is required"; return false; }
        if (pids.Length != urls.Length) { error = "--pids needs one process id per URL (the node serving it)"; return false; }
        options = new Options(urls, pids, rooms, concurrency, idle, idleSeconds, label);
        return true;
    }
}
