using System.Diagnostics;
using System.Text.RegularExpressions;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Mdns;

/// <summary>
/// mDNS on a real link: two network namespaces ("mdns-&lt;n&gt;-a", "mdns-&lt;n&gt;-b") joined by a veth pair with multicast on,
/// made for each test and deleted after it, with a real <c>p2p</c> in each (real sockets, port 5353 shared with
/// SO_REUSEADDR). Needs root and iproute2, as the NAT lab does; the third-party check needs Debian's python3-zeroconf (a
/// separate mDNS implementation; avahi's tools need the avahi daemon on D-Bus, which a namespace does not have), the
/// browser check Debian's chromium.
/// </summary>
[Trait("Category", "MdnsLink")] // its own namespaces (root), Chromium, python3-zeroconf: test.sh runs it after the lab
public sealed partial class MdnsNamespaceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private const string AddressA = "10.253.0.1", AddressB = "10.253.0.2";
    private readonly string _id = Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next())).ToLowerInvariant()[..4];
    private string Ns(char side) => $"mdns-{_id}-{side}";
    private string Veth(char side) => $"mdns{_id}{side}";

    public async Task InitializeAsync()
    {
        Assert.True(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root",
            "the mDNS namespace tests need root (network namespaces), like the NAT lab");
        await Ip("netns", "add", Ns('a'));
        await Ip("netns", "add", Ns('b'));
        await Ip("link", "add", Veth('a'), "type", "veth", "peer", "name", Veth('b'));
        foreach (char side in "ab")
        {
            await Ip("link", "set", Veth(side), "netns", Ns(side));
            await Ip("-n", Ns(side), "addr", "add", (side == 'a' ? AddressA : AddressB) + "/24", "dev", Veth(side));
            await Ip("-n", Ns(side), "link", "set", "lo", "up");
            await Ip("-n", Ns(side), "link", "set", Veth(side), "multicast", "on", "up");
            await Ip("-n", Ns(side), "route", "add", "default", "dev", Veth(side)); // as a browser needs; our sockets pick the interface themselves
        }
    }

    public async Task DisposeAsync()
    {
        await Ip(check: false, "netns", "del", Ns('a'));
        await Ip(check: false, "netns", "del", Ns('b')); // the veth pair goes with its namespaces
    }

    private P2pProcess StartP2p(char side, string mode, params string[] args) =>
        P2pProcess.StartThrough("ip", ["netns", "exec", Ns(side)], [.. args, "--stun", "none", "--verbose"], new Dictionary<string, string> { ["P2P__ICE__MDNS"] = mode });

    [Fact]
    public async Task Two_peers_that_offer_only_mdns_names_resolve_each_other_connect_and_chat_both_ways()
    {
        await using var a = StartP2p('a', "publish", "-s");
        await using var b = StartP2p('b', "publish");
        try
        {
            var blockA = await a.ReadLocalDescriptionAsync(Wait);
            var blockB = await b.ReadLocalDescriptionAsync(Wait);
            foreach (var (block, address) in new[] { (blockA, AddressA), (blockB, AddressB) })
            {
                Assert.DoesNotContain(address, block);
                Assert.Matches(@"a=candidate:\S+ 1 UDP \d+ [0-9a-f-]{36}\.local \d+ typ host", block);
            }
            await a.WriteRemoteDescriptionAsync(blockB);
            await b.WriteRemoteDescriptionAsync(blockA);
            await a.WaitForLineAsync(l => l == "Connected", Wait);
            await b.WaitForLineAsync(l => l == "Connected", Wait);
            // each resolved the other's name (its log says so), and the controlled side's pair runs between the addresses
            // (the remote one may show as peer-reflexive: a check can arrive before the answer does)
            await TranscriptShowsAsync(a, $"{LocalName().Match(blockB).Value} is {AddressB}");
            await TranscriptShowsAsync(b, $"{LocalName().Match(blockA).Value} is {AddressA}");
            var path = await b.WaitForLineAsync(l => l.StartsWith("Connected over", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Matches($@"host {Regex.Escape(AddressB)}:\d+ -> (host|prflx) {Regex.Escape(AddressA)}:", path);
            await a.WriteLineAsync("hello over mdns");
            await b.WaitForLineAsync(l => l == "Received: hello over mdns", Wait);
            await b.WriteLineAsync("and back");
            await a.WaitForLineAsync(l => l == "Received: and back", Wait);
        }
        finally
        {
            output.WriteLine(a.Transcript);
            output.WriteLine(b.Transcript);
        }
    }

    /// <summary>
    /// A third-party mDNS stack (python-zeroconf) both ways: it resolves the name our peer publishes, and it publishes a
    /// name for the other peer's address, which our resolver resolves (the other peer's candidates are renamed to it).
    /// </summary>
    [Fact]
    public async Task Another_mdns_implementation_resolves_our_names_and_publishes_one_we_resolve()
    {
        Assert.True(File.Exists("/usr/bin/python3") && Directory.Exists("/usr/lib/python3/dist-packages/zeroconf"),
            "Debian's python3-zeroconf is missing (apt-get install python3-zeroconf)");
        string script = Path.Combine(Path.GetTempPath(), $"mdns-zeroconf-{_id}.py");
        await File.WriteAllTextAsync(script, ZeroconfScript);
        await using var a = StartP2p('a', "publish", "-s");
        await using var b = StartP2p('b', "resolve");
        string theirName = Guid.NewGuid().ToString("D") + ".local";
        await using var publisher = Tool.Start(["netns", "exec", Ns('b'), "/usr/bin/python3", script, "publish", theirName, AddressB]);
        try
        {
            var blockA = await a.ReadLocalDescriptionAsync(Wait);
            var blockB = await b.ReadLocalDescriptionAsync(Wait);
            string ourName = LocalName().Match(blockA).Value;

            await using (var resolver = Tool.Start(["netns", "exec", Ns('b'), "/usr/bin/python3", script, "resolve", ourName]))
            {
                var line = await resolver.WaitForLineAsync(l => l.StartsWith("resolved", StringComparison.Ordinal) || l.StartsWith("unresolved", StringComparison.Ordinal), Wait);
                Assert.Equal($"resolved {ourName}. {AddressA}", line);
            }

            await publisher.WaitForLineAsync(l => l.StartsWith("published", StringComparison.Ordinal), Wait);
            string renamed = string.Join('\n', blockB.Split('\n').Select(l => l.StartsWith("a=candidate:", StringComparison.Ordinal) ? l.Replace($" {AddressB} ", $" {theirName} ") : l));
            Assert.DoesNotContain($" {AddressB} ", renamed.Split('\n').Where(l => l.StartsWith("a=candidate:", StringComparison.Ordinal)).FirstOrDefault() ?? "");
            await a.WriteRemoteDescriptionAsync(renamed);
            await b.WriteRemoteDescriptionAsync(blockA);
            await a.WaitForLineAsync(l => l == "Connected", Wait);
            await b.WaitForLineAsync(l => l == "Connected", Wait);
            await TranscriptShowsAsync(a, $"{theirName} is {AddressB}"); // zeroconf's answer, through our resolver
        }
        finally
        {
            output.WriteLine(a.Transcript);
            output.WriteLine(b.Transcript);
            output.WriteLine(publisher.Transcript);
            File.Delete(script);
        }
    }

    /// <summary>
    /// Headless Chromium (Debian's, mDNS hiding on: its default) in one namespace, our peer publishing in the other: the
    /// browser's offer carries only a "&lt;uuid&gt;.local" host candidate, which we resolve; our answer carries only ours,
    /// which the browser resolves; the data channel opens. The page is served by a small Python server in the browser's
    /// namespace, which also passes the offer, the answer and the page's states through files.
    /// </summary>
    [Fact]
    public async Task Chromium_with_mdns_hiding_on_and_our_publishing_peer_resolve_each_other_and_open_a_channel()
    {
        Assert.True(File.Exists("/usr/bin/chromium"), "Debian's chromium is missing (apt-get install chromium)");
        string dir = Directory.CreateTempSubdirectory($"mdns-chromium-{_id}-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "page.html"), ChromiumPage);
        await File.WriteAllTextAsync(Path.Combine(dir, "serve.py"), PageServer);
        await using var server = Tool.Start(["netns", "exec", Ns('a'), "/usr/bin/python3", Path.Combine(dir, "serve.py"), dir]);
        await server.WaitForLineAsync(l => l == "serving", Wait);
        await using var browser = Tool.Start(["netns", "exec", Ns('a'), "/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
            $"--user-data-dir={Path.Combine(dir, "profile")}", "http://127.0.0.1:8000/page.html"]);
        await using var p2p = StartP2p('b', "publish");
        try
        {
            string offer = await FileShowsAsync(Path.Combine(dir, "offer.sdp"), "a=candidate", browser);
            var browserCandidates = offer.Split('\n').Where(l => l.StartsWith("a=candidate", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(browserCandidates);
            Assert.All(browserCandidates, l => Assert.DoesNotContain(AddressA, l)); // hiding is on
            string browserName = LocalName().Match(offer).Value;
            Assert.NotEmpty(browserName);

            string block = await p2p.ReadLocalDescriptionAsync(Wait);
            Assert.DoesNotContain(AddressB, block);
            await p2p.WriteRemoteDescriptionAsync(string.Join('\n', offer.Replace("\r", "").Split('\n').Where(l => l.Length > 0)));
            await File.WriteAllTextAsync(Path.Combine(dir, "answer.tmp"), Answer(offer, block));
            File.Move(Path.Combine(dir, "answer.tmp"), Path.Combine(dir, "answer.sdp"));

            await FileShowsAsync(Path.Combine(dir, "state.log"), "channel open", browser);
            await TranscriptShowsAsync(p2p, $"{browserName} is {AddressA}");
            await TranscriptShowsAsync(p2p, "[chat] DTLS up"); // the console's chat itself waits for a peer that speaks it
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
            output.WriteLine(server.Transcript);
            await browser.DisposeAsync();
            await server.DisposeAsync();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The browser's offer made into our answer: our credentials, fingerprint and UDP candidates, a=setup:active.</summary>
    private static string Answer(string offer, string block)
    {
        var ours = block.Split('\n').Where(l => l.StartsWith("a=", StringComparison.Ordinal)).ToList();
        string Ours(string prefix) => ours.First(l => l.StartsWith(prefix, StringComparison.Ordinal));
        var answer = new List<string>();
        foreach (var line in offer.Replace("\r", "").Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("a=candidate", StringComparison.Ordinal) || line.StartsWith("a=end-of-candidates", StringComparison.Ordinal)) continue;
            answer.Add(line switch
            {
                _ when line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal) => Ours("a=ice-ufrag:"),
                _ when line.StartsWith("a=ice-pwd:", StringComparison.Ordinal) => Ours("a=ice-pwd:"),
                _ when line.StartsWith("a=fingerprint:", StringComparison.Ordinal) => Ours("a=fingerprint:"),
                _ when line.StartsWith("a=setup:", StringComparison.Ordinal) => "a=setup:active",
                _ => line,
            });
            if (line.StartsWith("a=mid:", StringComparison.Ordinal))
            {
                answer.AddRange(ours.Where(l => l.StartsWith("a=candidate:", StringComparison.Ordinal) && l.Contains(" UDP ", StringComparison.Ordinal)));
                answer.Add("a=end-of-candidates");
            }
        }
        return string.Join("\r\n", answer) + "\r\n";
    }

    private static async Task<string> FileShowsAsync(string path, string text, InteractiveProcess about)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            string content = File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
            if (content.Contains(text, StringComparison.Ordinal)) return content;
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' never appeared in {path}:\n{content}\n{about.Transcript}");
            await Task.Delay(100);
        }
    }

    private const string ChromiumPage = """
        <!doctype html><html><body><script>
        (async () => {
          const post = (path, body) => fetch(path, {method: "POST", body});
          const pc = new RTCPeerConnection({iceServers: []});
          const channel = pc.createDataChannel("p2p");
          pc.oniceconnectionstatechange = () => post("/state", "ice " + pc.iceConnectionState);
          channel.onopen = () => post("/state", "channel open");
          await pc.setLocalDescription(await pc.createOffer());
          await new Promise(done => {
            if (pc.iceGatheringState === "complete") done();
            pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
          });
          await post("/offer", pc.localDescription.sdp);
          let answer = "";
          while (!answer) { await new Promise(r => setTimeout(r, 100)); answer = await (await fetch("/answer")).text(); }
          try { await pc.setRemoteDescription({type: "answer", sdp: answer}); post("/state", "answer set"); }
          catch (e) { post("/state", "answer refused: " + e); }
          window.keep = pc;
        })();
        </script></body></html>
        """;

    private const string PageServer = """
        import http.server, os, sys
        folder = sys.argv[1]
        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs): super().__init__(*args, directory=folder, **kwargs)
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if self.path == "/offer":
                    open(os.path.join(folder, "offer.tmp"), "w").write(body)
                    os.replace(os.path.join(folder, "offer.tmp"), os.path.join(folder, "offer.sdp"))
                else:
                    open(os.path.join(folder, "state.log"), "a").write(body + "\n")
                self.send_response(200); self.end_headers()
            def do_GET(self):
                if self.path == "/answer":
                    path = os.path.join(folder, "answer.sdp")
                    data = open(path).read() if os.path.exists(path) else ""
                    self.send_response(200); self.end_headers(); self.wfile.write(data.encode()); return
                return super().do_GET()
            def log_message(self, *args): pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 8000), Handler)
        print("serving", flush=True)
        server.serve_forever()
        """;

    /// <summary>Waits until the process has printed <paramref name="text"/> on either stream (log lines are not consumed in order here).</summary>
    private static async Task TranscriptShowsAsync(InteractiveProcess process, string text)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!process.Transcript.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' never appeared:\n{process.Transcript}");
            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@"[0-9a-f-]{36}\.local")]
    private static partial Regex LocalName();

    private async Task Ip(params string[] args) => await Ip(true, args);

    private async Task Ip(bool check, params string[] args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        string error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check) Assert.True(process.ExitCode == 0, $"ip {string.Join(' ', args)}: {error}");
        else if (process.ExitCode != 0) output.WriteLine($"ip {string.Join(' ', args)}: {error}");
    }

    /// <summary>A helper program run through <c>ip</c>, read line by line.</summary>
    private sealed class Tool : InteractiveProcess
    {
        private Tool(Process process, IReadOnlyList<string> arguments) : base("zeroconf", process, arguments) { }

        public static Tool Start(IReadOnlyList<string> ipArguments)
        {
            var info = new ProcessStartInfo("ip");
            foreach (var a in ipArguments) info.ArgumentList.Add(a);
            return new Tool(Launch(info), ipArguments);
        }
    }

    /// <summary>
    /// python-zeroconf: "resolve NAME" sends A queries every 0.5 s for 5 s and prints "resolved NAME. ADDRESS" from its
    /// cache (or "unresolved NAME."); "publish NAME ADDRESS" registers a service whose host is NAME at ADDRESS, so
    /// that zeroconf answers A queries for NAME, prints "published ..." and runs until its stdin closes.
    /// </summary>
    private const string ZeroconfScript = """
        import sys, time, socket
        from zeroconf import Zeroconf, ServiceInfo, DNSOutgoing, DNSQuestion, IPVersion
        from zeroconf.const import _FLAGS_QR_QUERY, _TYPE_A, _CLASS_IN
        mode = sys.argv[1]
        zc = Zeroconf(ip_version=IPVersion.V4Only)
        try:
            if mode == "resolve":
                name = sys.argv[2].rstrip(".") + "."
                deadline = time.time() + 5
                while time.time() < deadline:
                    out = DNSOutgoing(_FLAGS_QR_QUERY)
                    out.add_question(DNSQuestion(name, _TYPE_A, _CLASS_IN))
                    zc.send(out)
                    time.sleep(0.5)
                    records = zc.cache.get_all_by_details(name, _TYPE_A, _CLASS_IN)
                    if records:
                        print("resolved", name, socket.inet_ntoa(records[0].address), flush=True)
                        break
                else:
                    print("unresolved", name, flush=True)
            else:
                name, address = sys.argv[2].rstrip(".") + ".", sys.argv[3]
                info = ServiceInfo("_p2ptest._udp.local.", "p2p-mdns-test._p2ptest._udp.local.", port=9, server=name, addresses=[socket.inet_aton(address)])
                zc.register_service(info)
                print("published", name, address, flush=True)
                sys.stdin.read()
        finally:
            zc.close()
        """;
}
