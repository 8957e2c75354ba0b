using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace P2P.Benchmarks;

/// <summary>
/// Speed a user feels, between two real <c>p2p</c> processes on 127.0.0.1 (ICE host pair, DTLS, SCTP; descriptions
/// exchanged through their stdin and stdout as a user would paste them): the rate of one file (default 200 MiB) with
/// the CPU both processes spent on it per MiB (utime + stime from /proc, from the <c>/send</c> to both sides' "done",
/// so both SHA-256 passes count), the first chat line after both printed Connected, and one-way chat line latency
/// (stdin of one to stdout of the other, one line at a time, 50 ms apart so the processes idle between lines). Anchors in the same run: the same line latency over
/// <c>p2p --no-ice</c> (TCP), and plain TCP between two processes (this one writing, a child reading) with its CPU per MiB.
/// Run: <c>dotnet run -c Release --project bench/P2P.Benchmarks -- userfelt [--mib 200] [--lines 200] [--runs 3] [--gap-ms 50] [--files 1]</c>
/// (<c>--files N</c> sends the file N times between the same two processes: the first is the row, the later ones
/// print the rate and CPU once the JIT has compiled the data path, to tell warm-up from steady cost.)
/// Each run also prints the CPU time and thread wakes of each process per line while the lines go (<see cref="ProcThreads"/>);
/// <c>--threads</c> breaks them down by thread name and adds the same figures over as long a time with nothing typed.
/// (<c>--warm-lines N</c> sends N lines, paced, before the measured ones, as the --no-ice anchor does with 20: the figures
/// of a process whose JIT has compiled the line's path, to tell the cost of the path from the cost of its first use.)
/// (<c>--no-anchors</c> leaves out the --no-ice and plain TCP anchors, for quick before/after runs of the ICE rows alone.)
/// (<c>--config f.hocon</c> is given to both; the <c>p2p</c> of src/P2P.Host must be built in the same configuration; bench/run-userfelt.sh does both).
/// </summary>
public static class UserFeltBench
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    public static async Task<int> RunAsync(string[] args)
    {
        int mib = IntOption(args, "--mib", 200), lines = IntOption(args, "--lines", 200), runs = IntOption(args, "--runs", 3);
        var gap = TimeSpan.FromMilliseconds(IntOption(args, "--gap-ms", 50));
        bool threads = args.Contains("--threads");
        int warmLines = IntOption(args, "--warm-lines", 0);
        int configAt = Array.IndexOf(args, "--config");
        string[] extra = configAt >= 0 && configAt + 1 < args.Length ? ["--config", Path.GetFullPath(args[configAt + 1])] : [];
        var folder = Directory.CreateTempSubdirectory("p2p-userfelt-");
        try
        {
            var source = Path.Combine(folder.FullName, "payload.bin");
            await WriteRandomFileAsync(source, mib);
            var downloads = Directory.CreateDirectory(Path.Combine(folder.FullName, "downloads")).FullName;
            var firstLines = new List<double>();
            var oneWay = new List<double>();
            var files = new List<(double Rate, double CpuMsPerMiB, double Seconds, double Cpu)>();
            for (int run = 0; run < runs; run++)
            {
                await using var pair = await IcePair.StartAsync(downloads, extra);
                firstLines.Add(await FirstLineAsync(pair.Server, pair.Client));
                int perRun = Math.Max(1, lines / runs);
                if (warmLines > 0) await LinesAsync(pair.Client, pair.Server, warmLines, $"w{run}", gap);
                var (sender0, receiver0) = (ProcThreads.Snapshot(pair.Client.Id), ProcThreads.Snapshot(pair.Server.Id));
                oneWay.AddRange(await LinesAsync(pair.Client, pair.Server, perRun, $"r{run}", gap));
                var (sender1, receiver1) = (ProcThreads.Snapshot(pair.Client.Id), ProcThreads.Snapshot(pair.Server.Id));
                Console.WriteLine($"run {run + 1} lines, " + ProcThreads.Describe("sender", ProcThreads.Delta(sender0, sender1), perRun, threads));
                Console.WriteLine($"run {run + 1} lines, " + ProcThreads.Describe("receiver", ProcThreads.Delta(receiver0, receiver1), perRun, threads));
                if (threads)
                {
                    // the same time with nothing typed: what the two processes do anyway (timers, consent checks)
                    await Task.Delay(gap * perRun);
                    var (sender2, receiver2) = (ProcThreads.Snapshot(pair.Client.Id), ProcThreads.Snapshot(pair.Server.Id));
                    Console.WriteLine($"run {run + 1} idle as long, " + ProcThreads.Describe("sender", ProcThreads.Delta(sender1, sender2), perRun, detail: true));
                    Console.WriteLine($"run {run + 1} idle as long, " + ProcThreads.Describe("receiver", ProcThreads.Delta(receiver1, receiver2), perRun, detail: true));
                }
                var file = await FileAsync(pair.Server, pair.Client, source, mib);
                for (int again = 1; again < IntOption(args, "--files", 1); again++)
                {
                    File.Delete(Path.Combine(downloads, Path.GetFileName(source)));
                    var warm = await FileAsync(pair.Server, pair.Client, source, mib);
                    Console.WriteLine(Invariant($"run {run + 1} file {again + 1} (same processes): {warm.Rate:0.0} MiB/s ({warm.Seconds:0.00} s), CPU {warm.Cpu:0.00} s both = {warm.CpuMsPerMiB:0.0} ms/MiB"));
                }
                files.Add(file);
                Console.WriteLine(Invariant($"run {run + 1}: first line {firstLines[^1]:0.0} ms, file {file.Rate:0.0} MiB/s ({file.Seconds:0.00} s), CPU {file.Cpu:0.00} s both = {file.CpuMsPerMiB:0.0} ms/MiB"));
                File.Delete(Path.Combine(downloads, Path.GetFileName(source)));
            }
            var byRate = files.OrderBy(f => f.Rate).ElementAt(files.Count / 2);
            Console.WriteLine(Invariant($"userfelt file: {byRate.Rate:0.0} MiB/s, {byRate.CpuMsPerMiB:0.0} ms CPU/MiB both processes ({mib} MiB, secure ICE, median of {runs})"));
            Console.WriteLine(Invariant($"userfelt first line: {Median(firstLines):0.0} ms median, {firstLines.Max():0.0} ms max ({runs} connects)"));
            Console.WriteLine(Invariant($"userfelt line ice: median {Median(oneWay):0.00} ms, p99 {Percentile(oneWay, 0.99):0.00} ms ({oneWay.Count} lines one way, {gap.TotalMilliseconds:0} ms apart)"));

            if (args.Contains("--no-anchors")) return 0;
            var tcpLines = await NoIceLinesAsync(lines, gap);
            Console.WriteLine(Invariant($"userfelt line tcp: median {Median(tcpLines):0.00} ms, p99 {Percentile(tcpLines, 0.99):0.00} ms ({tcpLines.Count} lines one way, {gap.TotalMilliseconds:0} ms apart, p2p --no-ice)"));
            var (tcpRate, tcpCpu) = await TwoProcessTcpAsync(mib);
            Console.WriteLine(Invariant($"userfelt tcp: {tcpRate:0.0} MiB/s, {tcpCpu:0.0} ms CPU/MiB both processes ({mib} MiB, plain TCP between two processes)"));
            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Child side of the TCP anchor: connects to the port, reads until the end, prints the byte count.</summary>
    public static int TcpReaderMain(string[] args)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, int.Parse(args[0], CultureInfo.InvariantCulture));
        var stream = client.GetStream();
        var buffer = new byte[256 * 1024];
        long got = 0;
        for (int n; (n = stream.Read(buffer)) > 0;) got += n;
        Console.WriteLine(got.ToString(CultureInfo.InvariantCulture));
        return 0;
    }

    // ---- the rows ------------------------------------------------------------------------------------

    /// <summary>Right after both printed Connected, each side types a line at once: the later of the two arrivals, in ms from the typing.</summary>
    private static async Task<double> FirstLineAsync(Proc server, Proc client)
    {
        long typed = Stopwatch.GetTimestamp();
        await client.WriteLineAsync("first from client");
        await server.WriteLineAsync("first from server");
        long a = await server.WaitAsync(l => l == "Received: first from client");
        long b = await client.WaitAsync(l => l == "Received: first from server");
        return Stopwatch.GetElapsedTime(typed, Math.Max(a, b)).TotalMilliseconds;
    }

    /// <summary>
    /// One line at a time from <paramref name="from"/> to <paramref name="to"/>, <paramref name="gap"/> after the last
    /// arrived (a person typing: the processes go idle in between, as they do in a chat): ms from the write to its stdin
    /// to the read of the other's stdout.
    /// </summary>
    private static async Task<List<double>> LinesAsync(Proc from, Proc to, int count, string tag, TimeSpan gap = default)
    {
        var times = new List<double>(count);
        for (int i = 0; i < count; i++)
        {
            if (gap > TimeSpan.Zero) await Task.Delay(gap);
            string text = $"line {tag} {i}";
            long typed = Stopwatch.GetTimestamp();
            await from.WriteLineAsync(text);
            long got = await to.WaitAsync(l => l == "Received: " + text);
            times.Add(Stopwatch.GetElapsedTime(typed, got).TotalMilliseconds);
        }
        return times;
    }

    private static readonly Regex AcceptCommand = new(@"/accept (\S+)");

    /// <summary>The client sends the file, the server accepts it: rate from the accept to the receiver's "done"; CPU of both from the /send to both "done".</summary>
    private static async Task<(double Rate, double CpuMsPerMiB, double Seconds, double Cpu)> FileAsync(Proc server, Proc client, string source, int mib)
    {
        double cpu0 = server.CpuSeconds() + client.CpuSeconds();
        await client.WriteLineAsync("/send " + source);
        string offer = await server.WaitTextAsync(l => l.StartsWith("the peer offers", StringComparison.Ordinal), stderr: true);
        string id = AcceptCommand.Match(offer).Groups[1].Value;
        long accepted = Stopwatch.GetTimestamp();
        await server.WriteLineAsync($"/accept {id}");
        long done = await server.WaitAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal), stderr: true);
        await client.WaitAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal), stderr: true);
        double cpu = server.CpuSeconds() + client.CpuSeconds() - cpu0;
        double seconds = Stopwatch.GetElapsedTime(accepted, done).TotalSeconds;
        return (mib / seconds, cpu * 1000 / mib, seconds, cpu);
    }

    /// <summary>The same one-way line latency over <c>p2p --no-ice</c> (plain TCP lines), the anchor.</summary>
    private static async Task<List<double>> NoIceLinesAsync(int count, TimeSpan gap)
    {
        int port = FreeTcpPort();
        await using var server = Proc.Start("-s", "--no-ice", "-p", port.ToString(CultureInfo.InvariantCulture));
        await Task.Delay(TimeSpan.FromMilliseconds(50));
        Proc? client = null;
        for (int attempt = 0; client is null; attempt++)
        {
            // the server may not listen yet: a client that could not connect exits, and is started again
            var c = Proc.Start("--no-ice", "-c", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture));
            try
            {
                await c.WaitAsync(l => l.StartsWith("Connected", StringComparison.Ordinal), timeout: TimeSpan.FromSeconds(5));
                client = c;
            }
            catch (Exception) when (attempt < 50)
            {
                await c.DisposeAsync();
            }
        }
        await using (client)
        {
            await server.WaitAsync(l => l.StartsWith("Connected", StringComparison.Ordinal));
            await LinesAsync(client, server, 20, "warm");
            return await LinesAsync(client, server, count, "tcp", gap);
        }
    }

    /// <summary>Plain TCP between two processes, 64 KiB writes here, a child reading: MiB/s and CPU ms per MiB of both.</summary>
    private static async Task<(double Rate, double CpuMsPerMiB)> TwoProcessTcpAsync(int mib)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(UserFeltBench).Assembly.Location, "tcp-reader", port.ToString(CultureInfo.InvariantCulture) }) info.ArgumentList.Add(a);
        using var reader = Process.Start(info) ?? throw new InvalidOperationException("cannot start the tcp-reader child");
        using var connection = await listener.AcceptTcpClientAsync();
        var stream = connection.GetStream();
        var block = RandomNumberGenerator.GetBytes(64 * 1024);
        long total = (long)mib * 1024 * 1024;
        double cpu0 = ProcCpu.TryReadSeconds(reader.Id, out double c0) ? c0 : 0;
        var self0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (long sent = 0; sent < total; sent += block.Length) await stream.WriteAsync(block);
        connection.Client.Shutdown(SocketShutdown.Send);
        string? count = await reader.StandardOutput.ReadLineAsync();
        double seconds = clock.Elapsed.TotalSeconds;
        double cpu = (ProcCpu.TryReadSeconds(reader.Id, out double c1) ? c1 - cpu0 : 0) + (Process.GetCurrentProcess().TotalProcessorTime - self0).TotalSeconds;
        await reader.WaitForExitAsync();
        if (count != total.ToString(CultureInfo.InvariantCulture)) throw new InvalidOperationException($"the tcp-reader child read {count} bytes, not {total}");
        return (mib / seconds, cpu * 1000 / mib);
    }

    // ---- two p2p processes ---------------------------------------------------------------------------------

    /// <summary>A server (<c>-s</c>, controlling) and a client, connected after their descriptions were exchanged.</summary>
    private sealed class IcePair(Proc server, Proc client) : IAsyncDisposable
    {
        public Proc Server { get; } = server;
        public Proc Client { get; } = client;

        public static async Task<IcePair> StartAsync(string downloads, string[] extra)
        {
            string[] loopback = ["--stun", "none", "--local-address", "127.0.0.1", "--download-dir", downloads, .. extra];
            var server = Proc.Start(["-s", .. loopback]);
            var client = Proc.Start(loopback);
            var blockServer = await server.ReadBlockAsync();
            var blockClient = await client.ReadBlockAsync();
            await server.WriteLineAsync(blockClient + "\n");
            await client.WriteLineAsync(blockServer + "\n");
            await server.WaitAsync(l => l == "Connected");
            await client.WaitAsync(l => l == "Connected");
            return new IcePair(server, client);
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Client.DisposeAsync();
        }
    }

    /// <summary>One <c>p2p</c> process: stdin written line by line, stdout and stderr read by threads that stamp each line as it leaves the pipe.</summary>
    internal sealed class Proc : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<(string Text, long At)> _out = Channel.CreateUnbounded<(string, long)>();
        private readonly Channel<(string Text, long At)> _err = Channel.CreateUnbounded<(string, long)>();

        private Proc(Process process)
        {
            _process = process;
            Pump(process.StandardOutput, _out);
            Pump(process.StandardError, _err);
        }

        public static Proc Start(params string[] args) => StartThrough([], args);

        /// <summary>p2p started by <paramref name="prefix"/> (e.g. <c>ip netns exec ns</c>, which execs it: the process keeps its id).</summary>
        public static Proc StartThrough(string[] prefix, params string[] args)
        {
            var info = new ProcessStartInfo(prefix.Length > 0 ? prefix[0] : "dotnet")
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                StandardInputEncoding = new UTF8Encoding(false), StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
            };
            foreach (var a in prefix.Skip(1)) info.ArgumentList.Add(a);
            if (prefix.Length > 0) info.ArgumentList.Add("dotnet");
            info.ArgumentList.Add(P2pDll);
            foreach (var a in args) info.ArgumentList.Add(a);
            info.Environment["DOTNET_NOLOGO"] = "1";
            var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start p2p");
            process.StandardInput.AutoFlush = true;
            process.StandardInput.NewLine = "\n";
            return new Proc(process);
        }

        public int Id => _process.Id;

        public double CpuSeconds() => ProcCpu.TryReadSeconds(_process.Id, out double s) ? s : 0;

        public Task WriteLineAsync(string line) => _process.StandardInput.WriteLineAsync(line);

        /// <summary>stdout up to the first empty line after some text: the local description.</summary>
        public async Task<string> ReadBlockAsync()
        {
            var block = new StringBuilder();
            using var cts = new CancellationTokenSource(Wait);
            while (true)
            {
                var (line, _) = await _out.Reader.ReadAsync(cts.Token);
                if (line.Length == 0 && block.Length > 0) return block.ToString();
                if (line.Length > 0) block.Append(line).Append('\n');
            }
        }

        /// <summary>Consumes lines until one matches; returns when it was read from the pipe.</summary>
        public async Task<long> WaitAsync(Func<string, bool> match, bool stderr = false, TimeSpan? timeout = null) =>
            (await WaitLineAsync(match, stderr, timeout)).At;

        public async Task<string> WaitTextAsync(Func<string, bool> match, bool stderr = false, TimeSpan? timeout = null) => (await WaitLineAsync(match, stderr, timeout)).Text;

        private async Task<(string Text, long At)> WaitLineAsync(Func<string, bool> match, bool stderr, TimeSpan? timeout)
        {
            using var cts = new CancellationTokenSource(timeout ?? Wait);
            var reader = (stderr ? _err : _out).Reader;
            try
            {
                while (true)
                {
                    var line = await reader.ReadAsync(cts.Token);
                    if (match(line.Text)) return line;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                throw new TimeoutException($"p2p (pid {_process.Id}) did not print the expected line");
            }
        }

        private static void Pump(StreamReader reader, Channel<(string, long)> channel)
        {
            var thread = new Thread(() =>
            {
                try
                {
                    while (reader.ReadLine() is { } line) channel.Writer.TryWrite((line, Stopwatch.GetTimestamp()));
                }
                catch (IOException)
                {
                    // the process is gone
                }
                channel.Writer.TryComplete();
            })
            { IsBackground = true };
            thread.Start();
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                _process.StandardInput.Close();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.Dispose();
        }
    }

    /// <summary>
    /// The p2p built next to this bench in the same configuration: src/P2P.Host/bin/&lt;Configuration&gt;/net10.0/p2p.dll, or
    /// what P2P_DLL names (another build, e.g. an earlier commit's, for a before/after in the same minute).
    /// </summary>
    private static string P2pDll
    {
        get
        {
            if (Environment.GetEnvironmentVariable("P2P_DLL") is { Length: > 0 } given) return given;
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var dll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/P2P.Host/bin", configuration, "net10.0/p2p.dll"));
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"build src/P2P.Host in {configuration} first", dll);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    private static async Task WriteRandomFileAsync(string path, int mib)
    {
        await using var file = File.Create(path);
        var block = new byte[1024 * 1024];
        for (int i = 0; i < mib; i++)
        {
            RandomNumberGenerator.Fill(block);
            await file.WriteAsync(block);
        }
    }

    private static int FreeTcpPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
