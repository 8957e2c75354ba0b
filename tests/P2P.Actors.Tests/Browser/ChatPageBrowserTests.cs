using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using P2P.Actors.Tests.Support;
using PuppeteerSharp;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Browser;

/// <summary>
/// The chat page of <c>p2p signal</c> in a real Chromium (Debian's, headless, in a network namespace of its own, see
/// <see cref="BrowserNetwork"/>) against a real <c>p2p --signal</c> process and against another page. The signaling
/// server and p2p listen on our end of the veth pair, so every path is host to host across it. Chromium's mDNS hiding
/// of host candidates is off, except where a test turns it on as real users have it (their host candidates are then
/// `<uuid>.local` names that p2p resolves by multicast DNS across the pair). Root only (namespaces); test.sh installs chromium.
/// </summary>
[Trait("Category", "Browser")]
public sealed class ChatPageBrowserTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly WaitForSelectorOptions Shown = new() { Timeout = (int)Wait.TotalMilliseconds };
    private static readonly WaitForFunctionOptions Until = new() { Timeout = (int)Wait.TotalMilliseconds, PollingInterval = 50 };

    /// <summary>
    /// One test's world: the browser's namespace, <c>p2p signal</c> inside it as a user runs it on their own machine
    /// (the page is opened at http://127.0.0.1, a secure context, so the page has SubtleCrypto; p2p reaches the same
    /// server across the pair at <see cref="WebSocket"/>), and Chromium. Disposed in reverse order.
    /// </summary>
    private sealed class Setup(BrowserNetwork network, P2pProcess signal, string pageUrl, string webSocket, ChromiumInNamespace chromium) : IAsyncDisposable
    {
        public BrowserNetwork Network => network;
        public P2pProcess Signal => signal;
        public string PageUrl => pageUrl;
        public string WebSocket => webSocket;
        public ChromiumInNamespace Chromium => chromium;

        public static async Task<Setup> StartAsync(bool mdnsHiding = false)
        {
            var network = await BrowserNetwork.CreateAsync();
            var signal = P2pProcess.StartThrough("ip", ["netns", "exec", network.Name], ["signal", "--listen", "0.0.0.0:0"]);
            try
            {
                var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ws://0.0.0.0:", StringComparison.Ordinal), Wait);
                var page = await signal.WaitForLineAsync(l => l.StartsWith("chat page at http://0.0.0.0:", StringComparison.Ordinal), Wait);
                Assert.EndsWith("/?room=<name>", page);
                int port = new Uri(listening["signal listening on ".Length..].Trim()).Port;
                var chromium = await ChromiumInNamespace.LaunchAsync(network, mdnsHiding);
                return new Setup(network, signal, $"http://127.0.0.1:{port}/", $"ws://{network.BrowserAddress}:{port}/", chromium);
            }
            catch
            {
                await signal.DisposeAsync();
                await network.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await chromium.DisposeAsync();
            await signal.DisposeAsync();
            await network.DisposeAsync();
        }
    }

    /// <summary>The console chat in <paramref name="room"/>, with host candidates on our end of the pair only.</summary>
    private static P2pProcess StartP2p(BrowserNetwork network, string webSocket, string room, string downloads, string? log = null) =>
        P2pProcess.Start(["--signal", webSocket, "--room", room, "--stun", "none", "--local-address", network.HostAddress.ToString(), "--download-dir", downloads,
            .. log is null ? Array.Empty<string>() : ["--log", log]]);

    private static Task WaitStateAsync(IPage page, string state) => page.WaitForSelectorAsync($"body[data-state='{state}']", Shown);

    /// <summary>Types a line and presses Enter, in the tab brought to the front (a background tab does not render, so a click could not be placed).</summary>
    private static async Task SayAsync(IPage page, string text)
    {
        await page.BringToFrontAsync();
        await page.TypeAsync("#text", text);
        await page.Keyboard.PressAsync("Enter");
    }

    private static Task<int> CountAsync(IPage page, string kind, string text) =>
        page.EvaluateFunctionAsync<int>("(kind, text) => [...document.querySelectorAll(`#lines li.${kind} .text`)].filter(e => e.textContent === text).length", kind, text);

    private static Task WaitLineAsync(IPage page, string kind, string text) =>
        page.WaitForFunctionAsync("(kind, text) => [...document.querySelectorAll(`#lines li.${kind} .text`)].some(e => e.textContent === text)", Until, kind, text);

    /// <summary>The page's connect time: from knowing both peers were in the room to its chat channel open (what p2p prints too).</summary>
    private async Task<int> ConnectMsAsync(IPage page, string who)
    {
        await page.WaitForFunctionAsync("() => document.body.dataset.connectMs !== undefined", Until);
        int ms = int.Parse(await page.EvaluateExpressionAsync<string>("document.body.dataset.connectMs"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ms, 0, (int)Wait.TotalMilliseconds);
        output.WriteLine($"{who}: connected {ms} ms after both peers were in the room");
        return ms;
    }

    private static Task<string> TextAsync(IPage page, string id) => page.EvaluateFunctionAsync<string>("id => document.getElementById(id).textContent", id);

    private static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string RandomFile(string folder, string name, int bytes)
    {
        var data = new byte[bytes];
        Random.Shared.NextBytes(data);
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, data);
        return path;
    }

    /// <summary>A page and a p2p chat in one room, connected and with their chat open; either may be first in the room.</summary>
    private async Task<(IPage Page, P2pProcess P2p, string Over)> MeetAsync(ChromiumInNamespace chromium, BrowserNetwork network, string pageUrl, string webSocket,
        string room, bool browserFirst, string downloads, string? log = null)
    {
        var page = await chromium.NewPageAsync();
        page.Console += (_, e) => output.WriteLine($"page console: {e.Message.Type}: {e.Message.Text}");
        page.PageError += (_, e) => output.WriteLine($"page error: {e.Message}");
        P2pProcess p2p;
        if (browserFirst)
        {
            await page.GoToAsync($"{pageUrl}?room={room}");
            await WaitStateAsync(page, "waiting");
            p2p = StartP2p(network, webSocket, room, downloads, log);
        }
        else
        {
            p2p = StartP2p(network, webSocket, room, downloads, log);
            await p2p.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            await page.GoToAsync($"{pageUrl}?room={room}");
        }
        try
        {
            await p2p.WaitForLineAsync(l => l == "Connected", Wait);
            var over = await p2p.WaitForLineAsync(l => l.StartsWith("Connected over ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            await WaitStateAsync(page, "connected");
            return (page, p2p, over);
        }
        catch
        {
            output.WriteLine(p2p.Transcript);
            await p2p.DisposeAsync();
            throw;
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)] // Chromium's default: its host candidates are mDNS names, and p2p (controlled here) must resolve them
    [InlineData(false, true)]
    public async Task A_page_and_a_p2p_chat_meet_in_a_room_chat_both_ways_and_a_closed_tab_ends_the_console_chat_at_once(bool browserFirst, bool mdnsHiding)
    {
        await using var setup = await Setup.StartAsync(mdnsHiding);
        var (network, signal, pageUrl, webSocket, chromium) = (setup.Network, setup.Signal, setup.PageUrl, setup.WebSocket, setup.Chromium);
        var log = Path.Combine(chromium.Downloads, "..", "p2p.log"); // its events, the mDNS answer among them
        var (page, p2p, over) = await MeetAsync(chromium, network, pageUrl, webSocket, "lunch", browserFirst, chromium.Downloads, log);
        await using var disposeP2p = p2p;
        try
        {
            await ConnectMsAsync(page, "page");
            output.WriteLine("p2p: " + await p2p.WaitForLineAsync(l => l.EndsWith(" ms after both peers were in the room.", StringComparison.Ordinal), Wait, NicePeerStream.Stderr));
            // both fingerprints shown; the page's own is the certificate p2p checked
            var local = await TextAsync(page, "fp-local");
            Assert.StartsWith("sha-256 ", local);
            Assert.Contains($"peer certificate sha-256 {local["sha-256 ".Length..]}", over, StringComparison.OrdinalIgnoreCase);
            Assert.StartsWith("sha-256 ", await TextAsync(page, "fp-remote"));
            Assert.NotEqual(local, await TextAsync(page, "fp-remote"));
            // the selected pair, from getStats: host to host across the veth pair
            await page.WaitForFunctionAsync("() => document.getElementById('pair').dataset.local === 'host' && document.getElementById('pair').dataset.remote === 'host'", Until);
            var pair = await TextAsync(page, "pair");
            output.WriteLine($"page's pair: {pair}");
            Assert.Contains($"host {network.HostAddress}:", pair);
            Assert.Contains(mdnsHiding ? "host (address hidden by the browser):" : $"host {network.BrowserAddress}:", pair);
            // p2p's side of it: the browser's address, as its host candidate or, when the browser's first check came before
            // the mDNS answer, as a peer-reflexive one (without the answer a controlled p2p would have no pair of its own
            // to check, and would fail at once with "no candidate pairs could be formed": seen with p2p.ice.mdns = off).
            Assert.Matches($@"-> (host|prflx) {Regex.Escape(network.BrowserAddress.ToString())}:", over);
            if (mdnsHiding) // the page's host candidate came as a name, and p2p resolved it to the page's address
            {
                var resolved = new Regex($@"\] [0-9a-f-]+\.local is {Regex.Escape(network.BrowserAddress.ToString())}\b");
                var deadline = Stopwatch.StartNew();
                while (!(File.Exists(log) && File.ReadLines(log).Any(resolved.IsMatch)) && deadline.Elapsed < Wait) await Task.Delay(100);
                Assert.True(File.Exists(log) && File.ReadLines(log).Any(resolved.IsMatch), $"p2p's log has no mDNS answer for the page's name:\n{(File.Exists(log) ? File.ReadAllText(log) : "(no log)")}");
            }

            await SayAsync(page, "hello from the browser");
            await p2p.WaitForLineAsync(l => l == "Received: hello from the browser", Wait);
            await page.WaitForSelectorAsync("#lines li.me.delivered", Shown); // p2p's ack came back

            await p2p.WriteLineAsync("hello from p2p, é ✓");
            await WaitLineAsync(page, "peer", "hello from p2p, é ✓");
            for (int i = 0; i < 20; i++) await p2p.WriteLineAsync($"line {i}");
            await WaitLineAsync(page, "peer", "line 19");
            for (int i = 0; i < 20; i++) Assert.Equal(1, await CountAsync(page, "peer", $"line {i}"));
            Assert.Equal(1, await CountAsync(page, "peer", "hello from p2p, é ✓"));

            // the tab closes: the console side hears it from the connection itself (no 30 s of failed consent checks)
            var closing = Stopwatch.StartNew();
            await page.CloseAsync();
            await p2p.WaitForLineAsync(l => l == "Connection closed by peer", TimeSpan.FromSeconds(20));
            Assert.Equal(0, await p2p.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            output.WriteLine($"p2p ended {closing.ElapsedMilliseconds} ms after the tab closed");
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
            output.WriteLine(signal.Transcript);
        }
    }

    /// <summary>What a page showed, for the log of a failed test.</summary>
    private async Task DumpAsync(IPage page)
    {
        try { output.WriteLine($"page {page.Url}:\n{await page.EvaluateExpressionAsync<string>("document.body.dataset.state + '\\n' + document.body.innerText")}"); }
        catch (Exception e) { output.WriteLine($"page {page.Url}: cannot read it ({e.Message})"); }
    }

    /// <summary>Where the README's picture of the page goes: P2P_PAGE_SCREENSHOT when set, else next to the tests.</summary>
    private async Task ScreenshotAsync(IPage page)
    {
        var path = Environment.GetEnvironmentVariable("P2P_PAGE_SCREENSHOT") is { Length: > 0 } wanted ? wanted : Path.Combine(AppContext.BaseDirectory, "chat-page.png");
        await page.ScreenshotAsync(path);
        var png = await File.ReadAllBytesAsync(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        output.WriteLine($"screenshot: {path} ({png.Length} bytes)");
    }

    [Fact]
    public async Task A_20_MiB_file_crosses_each_way_between_a_page_and_p2p_with_the_same_sha256()
    {
        await using var setup = await Setup.StartAsync();
        var (network, signal, pageUrl, webSocket, chromium) = (setup.Network, setup.Signal, setup.PageUrl, setup.WebSocket, setup.Chromium);
        var folder = Directory.CreateTempSubdirectory("p2p-page-files-").FullName;
        var p2pDownloads = Directory.CreateDirectory(Path.Combine(folder, "p2p")).FullName;
        var (page, p2p, _) = await MeetAsync(chromium, network, pageUrl, webSocket, "files", browserFirst: true, p2pDownloads);
        await using var disposeP2p = p2p;
        try
        {
            const int size = 20 << 20;
            await SayAsync(page, "Here is the recording from this morning.");
            await p2p.WaitForLineAsync(l => l == "Received: Here is the recording from this morning.", Wait);

            // browser -> p2p: picked in the page, hashed there (SubtleCrypto), offered, accepted on the console
            var toP2p = RandomFile(folder, "from-browser.bin", size);
            var input = await page.QuerySelectorAsync("#file");
            await input.UploadFileAsync(toP2p);
            var offered = await p2p.WaitForLineAsync(l => l.StartsWith("the peer offers 'from-browser.bin' (20.0 MiB): type /accept ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            var id = offered.Split("/accept ")[1].Split(' ')[0];
            await p2p.WriteLineAsync($"/accept {id}");
            await p2p.WaitForLineAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Equal(Sha256Of(toP2p), Sha256Of(Path.Combine(p2pDownloads, "from-browser.bin")));
            await page.WaitForSelectorAsync($"#lines li.file[data-id='{id}'][data-state='done']", Shown); // p2p's done {ok, sha256} matched

            // p2p -> browser: accepted in the page, checked there, saved through a download
            await p2p.WriteLineAsync("Thanks! And here are the slides.");
            await WaitLineAsync(page, "peer", "Thanks! And here are the slides.");
            var toPage = RandomFile(folder, "from-p2p.bin", size);
            await p2p.WriteLineAsync($"/send {toPage}");
            await AcceptOfferAsync(page);
            await page.WaitForSelectorAsync("#lines li.file[data-direction='in'][data-state='done']", Shown);
            Assert.Contains("SHA-256 " + Sha256Of(toPage), await page.EvaluateExpressionAsync<string>("document.querySelector(\"#lines li.file[data-direction='in'] .detail\").textContent"));
            await p2p.WaitForLineAsync(l => l.Contains(": done, ", StringComparison.Ordinal) && l.Contains(toPage, StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            await WaitSavedAsync(Path.Combine(chromium.Downloads, "from-p2p.bin"), toPage);
            await ScreenshotAsync(page);
        }
        catch
        {
            await DumpAsync(page);
            throw;
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Waits for a file offered to <paramref name="page"/> and accepts it there, as its user would.</summary>
    private static async Task AcceptOfferAsync(IPage page)
    {
        // polled on a timer, not on animation frames: a tab in the background draws none
        const string accept = "#lines li.file[data-direction='in']:not([data-state='done']) button.accept";
        await page.WaitForFunctionAsync("selector => document.querySelector(selector) !== null", Until, accept);
        await page.BringToFrontAsync();
        await page.ClickAsync(accept);
    }

    /// <summary>Offers <paramref name="path"/> from <paramref name="from"/>'s file picker; <paramref name="to"/> accepts it, checks its SHA-256 and saves it through a download into <paramref name="downloads"/>.</summary>
    private static async Task PageToPageFileAsync(IPage from, IPage to, string path, string downloads)
    {
        await from.BringToFrontAsync();
        var input = await from.QuerySelectorAsync("#file");
        await input.UploadFileAsync(path);
        await AcceptOfferAsync(to);
        await to.WaitForFunctionAsync("sha => [...document.querySelectorAll(\"#lines li.file[data-direction='in'][data-state='done'] .detail\")].some(e => e.textContent.includes('SHA-256 ' + sha))", Until, Sha256Of(path));
        await from.WaitForFunctionAsync("name => [...document.querySelectorAll(\"#lines li.file[data-direction='out'][data-state='done']\")].some(e => e.textContent.includes(name))", Until, Path.GetFileName(path)); // the receiver's done matched the sender's hash
        await WaitSavedAsync(Path.Combine(downloads, Path.GetFileName(path)), path);
    }

    /// <summary>Waits for the browser's download of <paramref name="original"/> to be complete at <paramref name="saved"/>, and compares their SHA-256.</summary>
    private static async Task WaitSavedAsync(string saved, string original)
    {
        long size = new FileInfo(original).Length;
        var deadline = Stopwatch.StartNew();
        while (!(File.Exists(saved) && new FileInfo(saved).Length == size) && deadline.Elapsed < Wait) await Task.Delay(100);
        Assert.Equal(Sha256Of(original), Sha256Of(saved));
    }

    [Fact]
    public async Task A_page_chats_with_a_session_of_p2p_host_opened_on_a_room()
    {
        await using var setup = await Setup.StartAsync();
        var (network, signal, pageUrl, webSocket, chromium) = (setup.Network, setup.Signal, setup.PageUrl, setup.WebSocket, setup.Chromium);
        var folder = Directory.CreateTempSubdirectory("p2p-page-host-").FullName;
        var hostDownloads = Directory.CreateDirectory(Path.Combine(folder, "host")).FullName;
        await using var host = P2pProcess.Start("host", "--local-address", network.HostAddress.ToString(), "--signal", webSocket, "--download-dir", hostDownloads);
        var page = await chromium.NewPageAsync();
        try
        {
            await host.WriteLineAsync("peer add alice");
            await host.WaitForLineAsync(l => l.StartsWith("peer alice bound", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("open alice room:dinner");
            await host.WaitForLineAsync(l => l == "[alice@dinner-1] joined room:dinner (first in the room: controlling)", Wait);
            await page.GoToAsync($"{pageUrl}?room=dinner");
            await host.WaitForLineAsync(l => l.StartsWith($"[alice@dinner-1] connected over host {network.HostAddress}:", StringComparison.Ordinal), Wait);
            await WaitStateAsync(page, "connected");

            await SayAsync(page, "hello, host");
            await host.WaitForLineAsync(l => l == "[alice@dinner-1] Received: hello, host", Wait);
            await host.WriteLineAsync("say alice@dinner-1 hello, page");
            await WaitLineAsync(page, "peer", "hello, page");
            await page.WaitForSelectorAsync("#lines li.me.delivered", Shown);

            // a file each way: page -> host (accepted on the host's console), host -> page (accepted in the page)
            var toHost = RandomFile(folder, "agenda.bin", 1 << 20);
            var input = await page.QuerySelectorAsync("#file");
            await input.UploadFileAsync(toHost);
            var offered = await host.WaitForLineAsync(l => l.StartsWith("[alice@dinner-1] the peer offers 'agenda.bin' (", StringComparison.Ordinal), Wait);
            var id = offered.Split("accept alice@dinner-1 ")[1].Split(' ')[0]; // "... type accept alice@dinner-1 <id> or reject ..."
            output.WriteLine($"host: {offered} -> id {id}");
            await host.WriteLineAsync($"accept alice@dinner-1 {id}");
            await host.WaitForLineAsync(l => l.StartsWith($"[alice@dinner-1] file {id}: done", StringComparison.Ordinal), Wait);
            Assert.Equal(Sha256Of(toHost), Sha256Of(Path.Combine(hostDownloads, "agenda.bin")));
            await page.WaitForSelectorAsync($"#lines li.file[data-id='{id}'][data-state='done']", Shown);
            var toPage = RandomFile(folder, "menu.bin", 1 << 20);
            await host.WriteLineAsync($"send alice@dinner-1 {toPage}");
            await AcceptOfferAsync(page);
            await page.WaitForSelectorAsync("#lines li.file[data-direction='in'][data-state='done']", Shown);
            await WaitSavedAsync(Path.Combine(chromium.Downloads, "menu.bin"), toPage);

            // the tab closes: the host's session ends as closed by the peer, and the host goes on
            await page.CloseAsync();
            await host.WaitForLineAsync(l => l.StartsWith("[alice@dinner-1] ", StringComparison.Ordinal) && l.Contains("closed", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            await host.WriteLineAsync("quit");
            Assert.Equal(0, await host.WaitForExitAsync(Wait));
        }
        catch
        {
            if (!page.IsClosed) await DumpAsync(page);
            throw;
        }
        finally
        {
            output.WriteLine(host.Transcript);
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Two_pages_chat_through_p2p_signal_a_third_is_told_the_room_is_full_and_a_page_that_comes_back_gets_what_was_said_meanwhile()
    {
        await using var setup = await Setup.StartAsync();
        var (signal, pageUrl, chromium) = (setup.Signal, setup.PageUrl, setup.Chromium);
        try
        {
            var alice = await chromium.NewPageAsync();
            var bob = await chromium.NewPageAsync();
            // alice opens the bare address and picks the room there
            await alice.GoToAsync(pageUrl);
            await alice.WaitForSelectorAsync("#pick-room:not([hidden])", Shown);
            await alice.TypeAsync("#room-input", "tea");
            // the picker navigates (location.search): a wait begun in the old document fails when its context goes
            // ("Waiting failed", seen once in CI), so the navigation is awaited first
            await Task.WhenAll(alice.WaitForNavigationAsync(), alice.Keyboard.PressAsync("Enter"));
            await WaitStateAsync(alice, "waiting");
            Assert.EndsWith("/?room=tea", alice.Url);
            await bob.GoToAsync($"{pageUrl}?room=tea");
            await WaitStateAsync(alice, "connected");
            await WaitStateAsync(bob, "connected");
            await alice.WaitForFunctionAsync("() => document.getElementById('pair').dataset.local === 'host'", Until);
            await ConnectMsAsync(alice, "alice");
            await ConnectMsAsync(bob, "bob");

            await SayAsync(alice, "hi bob");
            await WaitLineAsync(bob, "peer", "hi bob");
            await SayAsync(bob, "hi alice");
            await WaitLineAsync(alice, "peer", "hi alice");
            await alice.WaitForSelectorAsync("#lines li.me.delivered", Shown);

            // a file each way between the two pages, each checked (SHA-256) and saved by the one that received it
            var folder = Directory.CreateTempSubdirectory("p2p-page-pages-").FullName;
            try
            {
                await PageToPageFileAsync(alice, bob, RandomFile(folder, "from-alice.bin", 1 << 20), chromium.Downloads);
                await PageToPageFileAsync(bob, alice, RandomFile(folder, "from-bob.bin", 1 << 20), chromium.Downloads);
            }
            catch
            {
                await DumpAsync(alice);
                await DumpAsync(bob);
                throw;
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }

            // a third page: the room of two says so
            var carol = await chromium.NewPageAsync();
            await carol.GoToAsync($"{pageUrl}?room=tea");
            await WaitStateAsync(carol, "full");
            Assert.Contains("is full", await TextAsync(carol, "state"));
            await carol.CloseAsync();

            // bob refreshes: he rejoins, his lines are still on his page, and the chat goes on
            await bob.ReloadAsync();
            await WaitStateAsync(bob, "connected");
            Assert.Equal(1, await CountAsync(bob, "peer", "hi bob"));
            await SayAsync(alice, "after the refresh");
            await WaitLineAsync(bob, "peer", "after the refresh");

            // bob goes away; what alice says meanwhile waits (unacknowledged) and reaches him, once, when he is back
            await bob.GoToAsync("about:blank");
            await WaitStateAsync(alice, "waiting");
            await SayAsync(alice, "while you were away");
            await bob.GoToAsync($"{pageUrl}?room=tea");
            await WaitLineAsync(bob, "peer", "while you were away");
            await SayAsync(bob, "back");
            await WaitLineAsync(alice, "peer", "back");
            Assert.Equal(1, await CountAsync(bob, "peer", "while you were away"));
            Assert.Equal(1, await CountAsync(bob, "peer", "hi bob"));
            Assert.Equal(1, await CountAsync(alice, "peer", "hi alice"));
            await alice.WaitForFunctionAsync("() => document.querySelectorAll('#lines li.me:not(.file):not(.delivered)').length === 0", Until); // lines; a file shows its own state
        }
        finally
        {
            output.WriteLine(signal.Transcript);
        }
    }
}
