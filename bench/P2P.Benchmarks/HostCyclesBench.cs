using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace P2P.Benchmarks;

/// <summary>
/// <c>hostcycles [cycles] [--batch B] [--warmup W]</c>: one real <c>p2p host</c> process driven through its stdin
/// as a user would: two peers, then secure sessions between them opened in batches of B, each waited for until both
/// sides say connected, then closed, until <c>cycles</c> sessions have come and gone. The host's own <c>stats</c>
/// (sessions the peers hold, threads, file descriptors, resident and managed memory, after a full collection) is read
/// fresh, after a warm-up of W sessions (1,000: the baseline, once compiled code and pools have grown) and after the
/// cycles; the goal is the end within 10 % of the baseline.
/// </summary>
public static partial class HostCyclesBench
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(120);

    public static async Task<int> RunAsync(string[] args)
    {
        int cycles = args.Length > 0 && int.TryParse(args[0], out int c) ? c : 10_000;
        int batchAt = Array.IndexOf(args, "--batch");
        int batch = batchAt >= 0 && batchAt + 1 < args.Length ? int.Parse(args[batchAt + 1], CultureInfo.InvariantCulture) : 100;
        int warmupAt = Array.IndexOf(args, "--warmup");
        int warmup = warmupAt >= 0 && warmupAt + 1 < args.Length ? int.Parse(args[warmupAt + 1], CultureInfo.InvariantCulture) : 1000;
        var dll = FindP2p();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "host", "--local-address", "127.0.0.1" }) start.ArgumentList.Add(a);
        start.Environment["P2P__CONSOLE__CLOSED_ROW_LINGER"] = "0s";
        using var host = Process.Start(start) ?? throw new InvalidOperationException("cannot start p2p host");
        var lines = Channel.CreateUnbounded<string>();
        _ = Task.Run(async () =>
        {
            while (await host.StandardOutput.ReadLineAsync() is { } line) lines.Writer.TryWrite(line);
            lines.Writer.TryComplete();
        });
        _ = Task.Run(async () => { while (await host.StandardError.ReadLineAsync() is not null) { } });

        async Task<string> Until(Func<string, bool> match)
        {
            using var timeout = new CancellationTokenSource(Step);
            while (true)
            {
                var line = await lines.Reader.ReadAsync(timeout.Token);
                if (match(line)) return line;
            }
        }
        async Task Send(string command) => await host.StandardInput.WriteLineAsync(command);

        await Send("peer add alice");
        await Send("peer add bob");
        await Until(l => l.StartsWith("peer bob bound", StringComparison.Ordinal));
        int opened = 0;
        async Task RunBatch(int count)
        {
            int first = opened + 1;
            for (int i = 0; i < count; i++) await Send("open alice bob");
            opened += count;
            int connected = 0;
            await Until(l => l.Contains("] connected over", StringComparison.Ordinal) && ++connected == 2 * count);
            for (int n = first; n <= opened; n++) await Send($"close alice-bob-{n}");
            int closed = 0;
            await Until(l => Closed().IsMatch(l) && ++closed == 2 * count);
        }
        // BENCH_SMAPS=<folder>: the host's /proc/<pid>/smaps at each reading, to see which mappings hold what stays
        string? smaps = Environment.GetEnvironmentVariable("BENCH_SMAPS");
        async Task<Stats> ReadStats()
        {
            await Task.Delay(500); // the last closes' actors stop
            await Send("stats");
            var stats = Stats.Parse(await Until(l => l.StartsWith("stats: ", StringComparison.Ordinal)));
            if (smaps is not null) File.Copy($"/proc/{host.Id}/smaps", Path.Combine(smaps, $"smaps-{opened}"), overwrite: true);
            return stats;
        }

        var clock = Stopwatch.StartNew();
        var fresh = await ReadStats();
        Console.WriteLine($"fresh, two peers: {fresh}");
        // the warm-up grows what a process keeps for its life (compiled code, pools, thread-pool threads): the baseline
        while (opened < warmup) await RunBatch(Math.Min(batch, warmup - opened));
        var baseline = await ReadStats();
        Console.WriteLine($"baseline after a warm-up of {opened} sessions: {baseline}");
        int target = opened + cycles;
        while (opened < target)
        {
            await RunBatch(Math.Min(batch, target - opened));
            if ((opened - warmup) % 2000 == 0) Console.WriteLine($"after {opened} sessions ({clock.Elapsed.TotalSeconds:0} s): {await ReadStats()}");
        }
        var end = await ReadStats();
        await Send("quit");
        await host.WaitForExitAsync();
        Console.WriteLine($"end after {opened} sessions in {clock.Elapsed.TotalSeconds:0} s: {end}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"hostcycles {cycles} sessions opened and closed after the warm-up: sessions held {end.Sessions}, threads {Change(baseline.Threads, end.Threads)}, file descriptors {Change(baseline.Descriptors, end.Descriptors)}, resident {Change(baseline.ResidentMiB, end.ResidentMiB)}, managed {Change(baseline.ManagedMiB, end.ManagedMiB)}"));
        return end.Sessions == 0 ? 0 : 1;
    }

    private static string Change(double before, double after) =>
        string.Create(CultureInfo.InvariantCulture, $"{before:0.#} -> {after:0.#} ({(before > 0 ? (after - before) / before * 100 : 0):+0.0;-0.0;0.0} %)");

    /// <summary>A line of <c>p2p host</c>'s <c>stats</c>.</summary>
    private sealed record Stats(int Sessions, int Rows, int Threads, int Descriptors, double ResidentMiB, double ManagedMiB)
    {
        public static Stats Parse(string line)
        {
            double Number(string label) => double.Parse(Regex.Match(line, $@"([0-9.]+) {label}").Groups[1].Value, CultureInfo.InvariantCulture);
            return new((int)Number("sessions"), (int)Number("rows"), (int)Number("threads"), (int)Number("file descriptors"), Number("MiB resident"), Number("MiB managed"));
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Sessions} sessions, {Rows} rows, {Threads} threads, {Descriptors} fds, {ResidentMiB:0.0} MiB resident, {ManagedMiB:0.0} MiB managed");
    }

    [GeneratedRegex(@"^\[[^\]]+\] (closed|the peer closed)")]
    private static partial Regex Closed();

    /// <summary>src/P2P.Host's Release build, found from this program's folder upwards (P2P_DLL names another).</summary>
    private static string FindP2p()
    {
        if (Environment.GetEnvironmentVariable("P2P_DLL") is { Length: > 0 } given) return given;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src/P2P.Host/bin/Release/net10.0/p2p.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("src/P2P.Host/bin/Release/net10.0/p2p.dll not found: build P2P.sln in Release first");
    }
}
