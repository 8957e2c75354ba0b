using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using PuppeteerSharp;

namespace P2P.Benchmarks;

/// <summary>
/// Connect time with a browser (issue 15), on this machine: Debian's Chromium (headless, its default mDNS hiding of
/// host candidates ON, as users have it) in a network namespace of its own joined to ours by a veth pair, the chat
/// page of <c>p2p signal</c> (run inside that namespace, so the page is at http://127.0.0.1, as a user opens it).
/// Two rows, N runs each: a page and a real <c>p2p --signal</c> process (on our end of the pair; it resolves the
/// page's <c>.local</c> candidates by multicast DNS across it), and two pages of the same browser through the same
/// server. Each side times its own connect from the moment it knew both peers were in the room to its chat open (the
/// page's <c>body[data-connect-ms]</c>, p2p's "Connected N ms after both peers were in the room."); a run counts the
/// later side, as bench/run-signal-connect.sh does for two p2p processes (the anchor). The page joins first (the
/// link opened, then the console side joins). One uncounted warm-up run per row (the browser's first page).
/// Needs root (namespaces) and /usr/bin/chromium; without them it says so and prints no rows.
/// Run: <c>dotnet run -c Release --project bench/P2P.Benchmarks -- browser [--runs 10]</c>
/// </summary>
public static class BrowserConnectBench
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Regex P2pConnected = new(@"^Connected (\d+) ms after both peers were in the room\.$");

    public static async Task<int> RunAsync(string[] args)
    {
        int at = Array.IndexOf(args, "--runs");
        int runs = at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out int r) ? r : 10;
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Console.WriteLine("browser-connect: skipped, needs root (a network namespace for the browser)");
            return 0;
        }
        if (!File.Exists(Chromium))
        {
            Console.WriteLine($"browser-connect: skipped, {Chromium} is missing (apt-get install chromium)");
            return 0;
        }
        await using var network = await Namespace.CreateAsync();
        await using var signal = UserFeltBench.Proc.StartThrough(["ip", "netns", "exec", network.Name], "signal", "--listen", "0.0.0.0:0");
        var listening = await signal.WaitTextAsync(l => l.StartsWith("signal listening on ws://0.0.0.0:", StringComparison.Ordinal), timeout: Wait);
        int port = new Uri(listening["signal listening on ".Length..].Trim()).Port;
        string pageUrl = $"http://127.0.0.1:{port}/", webSocket = $"ws://{network.Inside}:{port}/";
        var folder = Directory.CreateTempSubdirectory("p2p-browserbench-");
        try
        {
            await using var browser = await LaunchAsync(network, folder.FullName);
            var withP2p = await RowAsync("browser <-> p2p", runs, room => PageAndP2pAsync(browser, pageUrl, webSocket, network, room, folder.FullName));
            var twoPages = await RowAsync("browser <-> browser", runs, room => TwoPagesAsync(browser, pageUrl, room));
            Console.WriteLine(withP2p);
            Console.WriteLine(twoPages);
            return 0;
        }
        finally
        {
            try { folder.Delete(recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>One warm-up, then <paramref name="runs"/> runs; each prints a line, and the summary is returned.</summary>
    private static async Task<string> RowAsync(string label, int runs, Func<string, Task<(int A, int B)>> once)
    {
        var results = new List<int>();
        for (int run = 0; run <= runs; run++)
        {
            string room = $"bench-{Environment.ProcessId}-{label.Replace(' ', '-')}-{run}";
            try
            {
                var (a, b) = await once(room);
                int later = Math.Max(a, b);
                Console.WriteLine(run == 0 ? $"{label} warm-up: {later} ms (sides {a} and {b})" : $"{label} run {run}: {later} ms (sides {a} and {b})");
                if (run > 0) results.Add(later);
            }
            catch (Exception e) when (e is TimeoutException or PuppeteerException)
            {
                Console.WriteLine($"{label} run {run}: no connect time ({e.Message})");
            }
        }
        if (results.Count == 0) return $"browser-connect {label}: runs {runs} connected 0";
        results.Sort();
        // nearest rank, as bench/run-signal-connect.sh: p50 the lower median, p90 the ceil(0.9 n)-th
        int p50 = results[(results.Count + 1) / 2 - 1], p90 = results[Math.Min(results.Count, (int)Math.Ceiling(results.Count * 0.9)) - 1];
        return $"browser-connect {label}: runs {runs} connected {results.Count} p50 {p50} ms p90 {p90} ms max {results[^1]} ms";
    }

    private static async Task<(int, int)> PageAndP2pAsync(IBrowser browser, string pageUrl, string webSocket, Namespace network, string room, string folder)
    {
        var page = await browser.NewPageAsync();
        try
        {
            await page.GoToAsync($"{pageUrl}?room={room}");
            await page.WaitForSelectorAsync("body[data-state='waiting']", new WaitForSelectorOptions { Timeout = (int)Wait.TotalMilliseconds });
            await using var p2p = UserFeltBench.Proc.Start("--signal", webSocket, "--room", room, "--stun", "none",
                "--local-address", network.Outside.ToString(), "--download-dir", folder);
            var line = await p2p.WaitTextAsync(l => P2pConnected.IsMatch(l), stderr: true, timeout: Wait);
            int ours = int.Parse(P2pConnected.Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
            return (await ConnectMsAsync(page), ours);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    private static async Task<(int, int)> TwoPagesAsync(IBrowser browser, string pageUrl, string room)
    {
        var alice = await browser.NewPageAsync();
        var bob = await browser.NewPageAsync();
        try
        {
            await alice.GoToAsync($"{pageUrl}?room={room}");
            await alice.WaitForSelectorAsync("body[data-state='waiting']", new WaitForSelectorOptions { Timeout = (int)Wait.TotalMilliseconds });
            await bob.GoToAsync($"{pageUrl}?room={room}");
            return (await ConnectMsAsync(alice), await ConnectMsAsync(bob));
        }
        finally
        {
            await alice.CloseAsync();
            await bob.CloseAsync();
        }
    }

    private static async Task<int> ConnectMsAsync(IPage page)
    {
        await page.WaitForFunctionAsync("() => document.body.dataset.connectMs !== undefined",
            new WaitForFunctionOptions { Timeout = (int)Wait.TotalMilliseconds, PollingInterval = 20 });
        return int.Parse(await page.EvaluateExpressionAsync<string>("document.body.dataset.connectMs"), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Chromium in the namespace, driven over the DevTools pipe (no route needed to a debugging port): PuppeteerSharp
    /// starts a two-line script that execs <c>ip netns exec &lt;ns&gt; chromium</c>, so the browser keeps its pipes.
    /// No <c>--disable-features=WebRtcHideLocalIpsWithMdns</c>: host candidates stay hidden behind mDNS names.
    /// </summary>
    private static async Task<IBrowser> LaunchAsync(Namespace network, string folder)
    {
        var launcher = Path.Combine(folder, "chromium-in-namespace");
        await File.WriteAllTextAsync(launcher, $"#!/bin/sh\nexec ip netns exec {network.Name} {Chromium} \"$@\"\n");
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = launcher,
            Headless = true,
            Pipe = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
            UserDataDir = Path.Combine(folder, "profile"),
            Timeout = 60_000,
        });
    }

    /// <summary>
    /// A namespace <c>pagebench-&lt;hex&gt;</c> with a veth pair (a /30 of 10.214.0.0/16) and a default route through our end:
    /// Chromium gathers no candidates without a non-loopback interface and a default route. Nothing is forwarded
    /// beyond our end. Deleted, with the pair, on dispose.
    /// </summary>
    private sealed class Namespace(string name, string outsideLink, IPAddress outside, IPAddress inside) : IAsyncDisposable
    {
        public string Name => name;
        public IPAddress Outside => outside;
        public IPAddress Inside => inside;

        public static async Task<Namespace> CreateAsync()
        {
            string id = Random.Shared.Next(1 << 24).ToString("x6", CultureInfo.InvariantCulture);
            int slot = Random.Shared.Next(16384);
            var network = new Namespace($"pagebench-{id}", $"pb-{id}o",
                new IPAddress([10, 214, (byte)(slot >> 6), (byte)((slot & 63) * 4 + 1)]),
                new IPAddress([10, 214, (byte)(slot >> 6), (byte)((slot & 63) * 4 + 2)]));
            try
            {
                await IpAsync("netns", "add", network.Name);
                await IpAsync("link", "add", network.OutsideLink, "type", "veth", "peer", "name", $"pb-{id}i");
                await IpAsync("link", "set", $"pb-{id}i", "netns", network.Name);
                await IpAsync("addr", "add", $"{network.Outside}/30", "dev", network.OutsideLink);
                await IpAsync("link", "set", network.OutsideLink, "up");
                await IpAsync("-n", network.Name, "link", "set", "lo", "up");
                await IpAsync("-n", network.Name, "addr", "add", $"{network.Inside}/30", "dev", $"pb-{id}i");
                await IpAsync("-n", network.Name, "link", "set", $"pb-{id}i", "up");
                await IpAsync("-n", network.Name, "route", "add", "default", "via", network.Outside.ToString());
                return network;
            }
            catch
            {
                await network.DisposeAsync();
                throw;
            }
        }

        private string OutsideLink => outsideLink;

        private static async Task IpAsync(params string[] args)
        {
            var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start ip");
            string error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {error.Trim()}");
        }

        public async ValueTask DisposeAsync()
        {
            // deleting the namespace takes its end of the pair, and with it ours
            try { await IpAsync("netns", "delete", name); }
            catch (InvalidOperationException) { }
            try { await IpAsync("link", "delete", outsideLink); }
            catch (InvalidOperationException) { /* gone with the namespace */ }
        }
    }
}
