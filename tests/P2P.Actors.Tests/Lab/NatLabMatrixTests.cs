using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Lab;

/// <summary>
/// The NAT lab (issue 6): real <c>p2p</c> processes in two LANs behind kernel NATs (tests/lab/lab.sh: network
/// namespaces, nftables), meeting through <c>p2p signal</c> on the lab's public network, for every pair of NAT
/// behaviours, twice: TURN served by coturn, then by <c>p2p relay</c>. Each cell: connected or not, the selected
/// path, the connect time, a chat round trip and a 5 MiB file with a matching SHA-256. The table is written to
/// tests/lab/results.md. Needs root (it runs in CI as root); run alone with <c>--filter Category=Lab</c>.
/// The firewall kinds (issue 14: tcp-only, https-only, a public host) have a matrix of their own beside it.
/// </summary>
[Trait("Category", "Lab")]
public sealed partial class NatLabMatrixTests(ITestOutputHelper output)
{
    private static readonly string[] Nats = ["masquerade", "port-restricted", "full-cone", "symmetric", "tcp-only"];

    /// <summary>
    /// The firewall kinds' cells (issue 14) and the path each must take: "udp" a direct UDP pair, "tcp" a direct ICE-TCP
    /// pair (RFC 6544), "relay" through the TURN server, which each side reaches as its firewall allows (UDP; TCP for
    /// tcp-only; TLS on 443 for https-only: <see cref="TurnLegFor"/>). tcp-only x masquerade is a cell of the NAT matrix
    /// (<see cref="Nats"/>); tcp-only x tcp-only is here (and left out of the NAT matrix), for the path it must take.
    /// </summary>
    private static readonly (string NatA, string NatB, string Path)[] FirewallPairs =
    [
        // ICE-TCP (RFC 6544): the tcp-only host's active candidate connects to the public host's passive one, directly
        ("tcp-only", "public", "tcp"),
        // ICE-TCP through both NATs (RFC 6544 §5.2): each side's simultaneous-open port learns its mapping with STUN over
        // TCP, and the two connects from those ports to each other's mapping cross (TCP hole punching)
        ("tcp-only", "tcp-only", "tcp"),
        // only TCP to 443 leaves: the public host's TCP candidates are on other ports, so TURN on 443 is the way
        ("https-only", "public", "relay"),
        ("https-only", "masquerade", "relay"),
        ("https-only", "https-only", "relay"),
        ("tcp-only", "https-only", "relay"),
        // the symmetric side's checks reach the public host, whose checks come back to the port they came from
        ("public", "symmetric", "udp"),
    ];
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    /// <summary>What the lab may take in CI (issue 6): past it no new NAT pair is started and the test fails.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(10);
    /// <summary>The same for the firewall matrix (issue 14), which may add at most ~2 minutes to the lab.</summary>
    private static readonly TimeSpan FirewallBudget = TimeSpan.FromMinutes(4);
    // lab-srv's addresses (tests/lab/lab.sh): coturn on Server and the second one (UDP and TCP 3478, alternate 3479, TCP and
    // TLS 443); p2p relay on Server:3480 and on Relay443:443; p2p signal on Signal443:443 (as a web server would be, so that
    // an https-only host reaches it too)
    private const string Server = "198.18.0.10", Relay443 = "198.18.0.12", Signal443 = "198.18.0.13";
    private const int CoturnPort = 3478, RelayPort = 3480, HttpsPort = 443;
    private const int FileBytes = 5 * 1024 * 1024;

    /// <summary>
    /// P2P_LAB_PAIRS="masquerade/full-cone tcp-only/symmetric" runs only these NAT pairs (both TURN servers each),
    /// for working on the lab; results.md is then left alone.
    /// </summary>
    private static string[]? Only =>
        Environment.GetEnvironmentVariable("P2P_LAB_PAIRS") is { Length: > 0 } pairs ? pairs.Split(' ', StringSplitOptions.RemoveEmptyEntries) : null;

    private static string LabScript => Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "lab.sh");

    /// <summary>One cell of the matrix.</summary>
    private sealed record Cell(string Turn, string NatA, string NatB)
    {
        public bool Connected { get; set; }
        public string Path { get; set; } = "";
        /// <summary>The selected pair's transport and, for each relayed side, how it reached its TURN server: "udp; A's TURN over tls 443".</summary>
        public string Transport { get; set; } = "";
        public double ConnectMs { get; set; }
        public double PipeConnectMs { get; set; }
        public double ChatRttMs { get; set; }
        public bool FileOk { get; set; }
        public double FileMiBps { get; set; }
        public string Problem { get; set; } = "";
        public override string ToString() => $"{Turn}: {NatA} x {NatB}";
    }

    /// <summary>
    /// Whether a direct path exists for the pair: over UDP (RFC 4787 behaviours; NATLAB-NOTES.md measured the same),
    /// always to a public host from a side with UDP; through a firewall without UDP, over ICE-TCP
    /// (<see cref="DirectTcpPossible"/>).
    /// </summary>
    private static bool DirectPossible(string a, string b)
    {
        if (NoUdp(a) || NoUdp(b)) return DirectTcpPossible(a, b);
        if (a == "public" || b == "public") return true;
        static bool ConeNotFull(string n) => n is "masquerade" or "port-restricted";
        if (a == "symmetric" && (b == "symmetric" || ConeNotFull(b))) return false;
        if (b == "symmetric" && ConeNotFull(a)) return false;
        return true;
    }

    /// <summary>
    /// Whether a direct ICE-TCP path exists (RFC 6544): to a public host (an active candidate connects to its passive
    /// one), and between two NATs whose TCP mapping is endpoint-independent (every kind here but symmetric, whose
    /// masquerade fully-random maps each connection anew), where the two simultaneous-open ports' connects to each
    /// other's server-reflexive address cross (§5.2). Never from https-only: no candidate is on port 443.
    /// </summary>
    private static bool DirectTcpPossible(string a, string b) =>
        a != "https-only" && b != "https-only" && (a == "public" || b == "public" || (a != "symmetric" && b != "symmetric"));

    private static bool NoUdp(string nat) => nat is "tcp-only" or "udp-blocked" or "https-only";

    /// <summary>How a side reaches its TURN server: "udp", "tcp" or "tls", to which address and port.</summary>
    private sealed record TurnLeg(string Transport, string Host, int Port)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Transport} {Port}");
    }

    /// <summary>
    /// The way to its TURN server that a host behind <paramref name="nat"/> takes: UDP where UDP passes, TCP to the same port
    /// behind tcp-only, TLS on port 443 behind https-only.
    /// </summary>
    private static TurnLeg TurnLegFor(string turn, string nat)
    {
        bool coturn = turn == "coturn";
        if (nat == "https-only") return new("tls", coturn ? Server : Relay443, HttpsPort);
        return new(NoUdp(nat) ? "tcp" : "udp", Server, coturn ? CoturnPort : RelayPort);
    }

    /// <summary>p2p's TURN options for <paramref name="leg"/>.</summary>
    private static string[] TurnArgs(TurnLeg leg) => leg.Transport switch
    {
        "tls" => ["--turn", $"turns:{leg.Host}:{leg.Port}", "--turn-fingerprint", LabCertificateFingerprint()],
        "tcp" => ["--turn", leg.Host, "--turn-port", leg.Port.ToString(CultureInfo.InvariantCulture), "--turn-tcp"],
        _ => ["--turn", leg.Host, "--turn-port", leg.Port.ToString(CultureInfo.InvariantCulture)],
    };

    /// <summary>The lab's TURN certificate (lab.sh up makes it), as p2p's <c>--turn-fingerprint</c> takes it: sha-256:AB:CD:...</summary>
    private static string LabCertificateFingerprint()
    {
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(LabCertificate));
        return "sha-256:" + string.Join(':', Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)));
    }

    private static string LabState => Environment.GetEnvironmentVariable("P2P_LAB_STATE") is { Length: > 0 } state ? state : "/run/p2p-lab";
    private static string LabCertificate => Path.Combine(LabState, "turn-cert.pem");

    /// <summary>"udp" or "tcp" for a direct pair, "relay" when either candidate is a relayed one.</summary>
    private static string PathClass(Cell cell) => cell.Path.Contains("relay", StringComparison.Ordinal) ? "relay" : cell.Transport.Split(';')[0];

    [Theory]
    [InlineData("masquerade", "symmetric")]
    [InlineData("full-cone", "port-restricted")]
    [InlineData("tcp-only", "masquerade")]
    [InlineData("https-only", "public")]
    [InlineData("sequential", "port-restricted")]
    public async Task Each_router_behaves_as_the_NAT_it_claims_to_a_STUN_query_from_its_LAN(string natA, string natB)
    {
        // tests/lab/check-nat.sh: one local port, two STUN destinations; same mapped port = endpoint-independent
        // mapping, different = symmetric, no answer = UDP blocked; the mapped port is the local one for masquerade and
        // full cone, the local one XOR 0x4000 for port-restricted; answers from another port and another address of
        // the server reach the host through full cone only
        try
        {
            await Lab("up", natA, natB);
            var result = await Processes.Run(Processes.Program("bash", Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "check-nat.sh")), TimeSpan.FromMinutes(2));
            output.WriteLine(result.ToString());
            Assert.Equal(0, result.ExitCode);
        }
        finally
        {
            await Lab("down");
        }
    }

    [Fact]
    public async Task Lab_script_up_twice_is_idempotent_down_leaves_nothing_and_a_failed_up_cleans_up()
    {
        // tests/lab/test-lab.sh: up twice gives the same lab with one coturn and nothing left of the first; down
        // leaves no namespace, no process that ran in the lab, no state, the default namespace as it was; an unknown
        // NAT kind, a coturn that exits at start and a TERM during up each exit non-zero, say why, and leave nothing
        try
        {
            var result = await Processes.Run(Processes.Program("bash", Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "test-lab.sh")), TimeSpan.FromMinutes(3));
            output.WriteLine(result.ToString());
            Assert.False(result.TimedOut, "test-lab.sh did not finish within 3 minutes");
            Assert.Equal(0, result.ExitCode);
        }
        finally
        {
            await Lab("down");
        }
    }

    [Fact]
    public async Task Every_pair_of_NAT_behaviours_connects_through_the_lab_with_coturn_and_with_p2p_relay()
    {
        var (cells, notRun) = await RunMatrixAsync([.. Nats.SelectMany(a => Nats.Select(b => (a, b))).Where(p => !FirewallPairs.Any(f => (f.NatA, f.NatB) == p))],
            Budget, "matrix", Report);
        AssertMatrix(cells, notRun, Budget);
        var relayedButDirectPossible = cells.Where(c => DirectPossible(c.NatA, c.NatB) && c.Path.Contains("relay", StringComparison.Ordinal)).Select(c => c.ToString()).ToList();
        Assert.True(relayedButDirectPossible.Count == 0, "relayed although a direct path exists: " + string.Join("; ", relayedButDirectPossible));
    }

    [Fact]
    public async Task Behind_firewalls_that_pass_only_TCP_or_only_TCP_443_and_beside_a_public_host_every_cell_connects_by_its_expected_path()
    {
        // issue 14: tcp-only (no UDP either way, any TCP out), https-only (only TCP to port 443 out), public (no NAT, no
        // filter), with each other and with the NAT kinds where it matters; the TURN servers also listen on 443. Each
        // cell must connect, cross chat lines and move the file, over the path FirewallPairs names for it
        var expected = FirewallPairs.ToDictionary(p => (p.NatA, p.NatB), p => p.Path);
        var (cells, notRun) = await RunMatrixAsync([.. FirewallPairs.Select(p => (p.NatA, p.NatB))], FirewallBudget, "firewalls",
            (cells, notRun, took) => FirewallReport(cells, notRun, took, expected));
        AssertMatrix(cells, notRun, FirewallBudget);
        var otherPath = cells.Where(c => c.Connected && PathClass(c) != expected[(c.NatA, c.NatB)])
            .Select(c => $"{c}: {PathClass(c)} ({c.Path}, {c.Transport}), expected {expected[(c.NatA, c.NatB)]}").ToList();
        Assert.True(otherPath.Count == 0, "cells that took another path than expected: " + string.Join("; ", otherPath));
    }

    /// <summary>
    /// Brings the lab up for each NAT pair in turn (within <paramref name="budget"/>: past it no new pair is started) and
    /// runs a cell through coturn and one through <c>p2p relay</c> in it; P2P_LAB_PAIRS picks pairs. The cells, also when
    /// one failed, go to the section <paramref name="section"/> of results.md as <paramref name="report"/> writes them
    /// (not with P2P_LAB_PAIRS).
    /// </summary>
    private async Task<(List<Cell> Cells, List<string> NotRun)> RunMatrixAsync((string NatA, string NatB)[] pairs, TimeSpan budget, string section,
        Func<List<Cell>, List<string>, TimeSpan, string> report)
    {
        var cells = new List<Cell>();
        var notRun = new List<string>();
        var clock = Stopwatch.StartNew();
        var work = Directory.CreateTempSubdirectory("p2p-lab-");
        try
        {
            foreach (var (natA, natB) in pairs)
            {
                if (Only is { } only && !only.Contains($"{natA}/{natB}")) continue;
                if (clock.Elapsed > budget)
                {
                    notRun.Add($"{natA} x {natB}");
                    continue;
                }
                await Lab("up", natA, natB);
                await using var signal = await StartSignalAsync();
                await using var relay = await StartRelayAsync();
                foreach (var turn in new[] { "coturn", "p2p relay" })
                {
                    var cell = new Cell(turn, natA, natB);
                    cells.Add(cell);
                    await RunCellAsync(cell, work.FullName);
                    output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {cell}: {(cell.Connected ? $"{cell.Path} ({cell.Transport}), {cell.ConnectMs:0} ms (between the lines: {cell.PipeConnectMs:0} ms), file {(cell.FileOk ? "ok" : "BAD")}" : "NOT CONNECTED")} {cell.Problem}");
                }
            }
        }
        finally
        {
            await Lab("down");
            work.Delete(recursive: true);
            if (cells.Count > 0 && Only is null) await WriteResultsSectionAsync(section, report(cells, notRun, clock.Elapsed));
        }
        return (cells, notRun);
    }

    private static void AssertMatrix(List<Cell> cells, List<string> notRun, TimeSpan budget)
    {
        Assert.True(notRun.Count == 0, $"the lab went past its {budget.TotalMinutes:0} minutes after {cells.Count} cells; NAT pairs not run: {string.Join("; ", notRun)}");
        var failed = cells.Where(c => !c.Connected || !c.FileOk || c.ChatRttMs <= 0).Select(c => $"{c} ({c.Problem})").ToList();
        Assert.True(failed.Count == 0, "cells that failed: " + string.Join("; ", failed));
    }

    private async Task RunCellAsync(Cell cell, string work, int fileBytes = FileBytes, string roomTag = "")
    {
        string room = $"{cell.Turn.Replace(' ', '-')}-{cell.NatA}-{cell.NatB}{roomTag}";
        var downloads = Directory.CreateDirectory(Path.Combine(work, room)).FullName;
        TurnLeg legA = TurnLegFor(cell.Turn, cell.NatA), legB = TurnLegFor(cell.Turn, cell.NatB);
        // each p2p writes its log (Information and up: gathering, pairs, DTLS) beside the cell; a failed cell keeps both
        // logs where a later look can find them (KeepLogs), as a cell that fails once in many runs cannot be rerun
        string logA = Path.Combine(work, room + "-a.log"), logB = Path.Combine(work, room + "-b.log");
        string[] Args(TurnLeg leg, string log) =>
        [
            "--signal", $"ws://{Signal443}:{HttpsPort}/", "--room", room, "--stun", Server, "--stun-port", CoturnPort.ToString(CultureInfo.InvariantCulture),
            .. TurnArgs(leg), "--turn-user", "lab", "--turn-pass", "labpass", "--download-dir", downloads, "--timeout", "30", "--log", log,
        ];
        await using var a = P2pProcess.StartThrough("bash", [LabScript, "exec", "a"], Args(legA, logA));
        await using var b = P2pProcess.StartThrough("bash", [LabScript, "exec", "b"], Args(legB, logB));
        try
        {
            // connect time: each p2p prints how long after both peers were in the room it connected (ICE and DTLS
            // done), timed inside the process; the cell's figure is the later of the two. The same span between the
            // moments the "Joined" and "Connected" lines left the processes (stamped by the reader threads) goes to the
            // test's output as a cross-check: it also carries this process's wake-ups on a loaded machine
            var joinedA = await a.WaitForStampedLineAsync(l => l.StartsWith("Joined", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            var joinedB = await b.WaitForStampedLineAsync(l => l.StartsWith("Joined", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            var connectedA = await a.WaitForStampedLineAsync(l => l == "Connected", Wait);
            var connectedB = await b.WaitForStampedLineAsync(l => l == "Connected", Wait);
            cell.Connected = true;
            cell.PipeConnectMs = Stopwatch.GetElapsedTime(Math.Max(joinedA.ReadAt, joinedB.ReadAt), Math.Max(connectedA.ReadAt, connectedB.ReadAt)).TotalMilliseconds;
            var over = await a.WaitForLineAsync(l => l.StartsWith("Connected over ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            (cell.Path, cell.Transport) = ParsePath(over, legA, legB);
            cell.ConnectMs = Math.Max(await ConnectMsAsync(a), await ConnectMsAsync(b));

            // chat round trip: a line there and one back, each from its write to the moment the other printed it
            // (the test's own turnaround between the two is left out)
            long pingSent = Stopwatch.GetTimestamp();
            await a.WriteLineAsync("ping from a");
            var ping = await b.WaitForStampedLineAsync(l => l == "Received: ping from a", Wait);
            long pongSent = Stopwatch.GetTimestamp();
            await b.WriteLineAsync("pong from b");
            var pong = await a.WaitForStampedLineAsync(l => l == "Received: pong from b", Wait);
            cell.ChatRttMs = (Stopwatch.GetElapsedTime(pingSent, ping.ReadAt) + Stopwatch.GetElapsedTime(pongSent, pong.ReadAt)).TotalMilliseconds;

            // 5 MiB from a to b, offered, accepted, SHA-256 checked by b and here; the rate is from the accept to
            // b printing that the file is done
            var source = Path.Combine(work, room + ".bin");
            var bytes = RandomNumberGenerator.GetBytes(fileBytes);
            await File.WriteAllBytesAsync(source, bytes);
            await a.WriteLineAsync("/send " + source);
            var offer = await b.WaitForLineAsync(l => l.StartsWith("the peer offers", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            var id = Regex.Match(offer, @"/accept (\S+)").Groups[1].Value;
            long accepted = Stopwatch.GetTimestamp();
            await b.WriteLineAsync("/accept " + id);
            var doneLine = await b.WaitForStampedLineAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal) || l.StartsWith($"p2p: file {id}", StringComparison.Ordinal), TimeSpan.FromSeconds(90), NicePeerStream.Stderr);
            var done = doneLine.Text;
            var received = Path.Combine(downloads, room + ".bin");
            cell.FileOk = done.Contains(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), StringComparison.Ordinal)
                && File.Exists(received) && SHA256.HashData(await File.ReadAllBytesAsync(received)).AsSpan().SequenceEqual(SHA256.HashData(bytes));
            cell.FileMiBps = fileBytes / 1048576.0 / Stopwatch.GetElapsedTime(accepted, doneLine.ReadAt).TotalSeconds;
            if (!cell.FileOk)
            {
                cell.Problem = done;
                KeepLogs(room, logA, logB);
            }
            a.CloseStdin();
            await a.WaitForExitAsync(Wait);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            cell.Problem = e.Message.Split('\n')[0];
            output.WriteLine(a.Transcript);
            output.WriteLine(b.Transcript);
            KeepLogs(room, logA, logB);
        }
    }

    /// <summary>
    /// Copies a failed cell's two p2p logs to <c>$P2P_LAB_FAILURE_LOGS</c> (default: p2p-lab-failures in the temp folder),
    /// stamped, and names them in the test output with their last lines.
    /// </summary>
    private void KeepLogs(string room, params string[] logs)
    {
        var keep = Directory.CreateDirectory(Environment.GetEnvironmentVariable("P2P_LAB_FAILURE_LOGS") is { Length: > 0 } dir
            ? dir : Path.Combine(Path.GetTempPath(), "p2p-lab-failures"));
        string stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        foreach (var log in logs.Where(File.Exists))
        {
            var kept = Path.Combine(keep.FullName, $"{stamp}-{Path.GetFileName(log)}");
            File.Copy(log, kept, overwrite: true);
            var lines = File.ReadAllLines(kept);
            output.WriteLine($"--- {kept} (last {Math.Min(40, lines.Length)} of {lines.Length} lines)");
            foreach (var line in lines.TakeLast(40)) output.WriteLine(line);
        }
    }

    /// <summary>
    /// The path from p2p's "Connected over relay 198.18.0.12:61501 -> host 198.18.2.2:37190, encrypted ..." line: the two
    /// candidate types ("relay -> host"), and the transport: the pair's (tcp when the line names TCP, an ICE-TCP pair; else
    /// udp), then for each relayed side how it reaches its TURN server ("udp; A's TURN over tcp 443").
    /// </summary>
    private static (string Path, string Transport) ParsePath(string over, TurnLeg legA, TurnLeg legB)
    {
        string pair = over.Split(", ")[0];
        var m = Regex.Match(pair, @"Connected over (host|srflx|prflx|relay)\b.*-> (host|srflx|prflx|relay)\b");
        if (!m.Success) return (over, "");
        string local = m.Groups[1].Value, remote = m.Groups[2].Value;
        var transport = new List<string> { Regex.IsMatch(pair, @"\btcp\b", RegexOptions.IgnoreCase) ? "tcp" : "udp" };
        if (local == "relay") transport.Add($"A's TURN over {legA}");
        if (remote == "relay") transport.Add($"B's TURN over {legB}");
        return ($"{local} -> {remote}", string.Join("; ", transport));
    }

    /// <summary>
    /// tests/lab/results.md holds one section per lab test (between <c>&lt;!-- name --&gt;</c> markers): each test
    /// replaces its own and keeps the others, so the matrix, the link profiles and the libnice anchor can each be
    /// run alone.
    /// </summary>
    private static async Task WriteResultsSectionAsync(string name, string text)
    {
        var path = Environment.GetEnvironmentVariable("P2P_LAB_RESULTS") is { Length: > 0 } other ? other : Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "results.md");
        string begin = $"<!-- {name} -->", end = $"<!-- /{name} -->";
        string old = File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
        var sections = new List<(string Name, string Text)>();
        foreach (Match m in Regex.Matches(old, @"<!-- (\w[\w-]*) -->\n(.*?)<!-- /\1 -->\n", RegexOptions.Singleline))
            sections.Add((m.Groups[1].Value, m.Groups[2].Value));
        int at = sections.FindIndex(x => x.Name == name);
        if (at >= 0) sections[at] = (name, text);
        else if (name == "matrix") sections.Insert(0, (name, text));
        else if (name == "firewalls") sections.Insert(sections.FindIndex(x => x.Name == "matrix") + 1, (name, text)); // next to the NAT matrix
        else sections.Add((name, text));
        var md = new StringBuilder();
        foreach (var (n, t) in sections) md.Append($"<!-- {n} -->\n").Append(t.TrimEnd('\n')).Append($"\n\n<!-- /{n} -->\n");
        await File.WriteAllTextAsync(path, md.ToString());
    }

    /// <summary>
    /// A link profile (tests/lab/lab.sh link): each side's uplink delays what it sends to the public network by
    /// <paramref name="DelayMs"/> and loses <paramref name="LossPercent"/> % of it, so the round trip between the two
    /// hosts carries 2 x DelayMs. <see cref="None"/> is the lab without a profile.
    /// </summary>
    private sealed record LinkProfile(int DelayMs, double LossPercent)
    {
        public static readonly LinkProfile None = new(0, 0);
        public override string ToString() => this == None ? "none"
            : LossPercent > 0 ? string.Create(CultureInfo.InvariantCulture, $"{DelayMs} ms {LossPercent}% loss per side") : $"{DelayMs} ms per side";
        /// <summary>"25/1": 25 ms, 1% loss per side; "0/0" is <see cref="None"/>.</summary>
        public static LinkProfile Parse(string text)
        {
            var parts = text.Split('/');
            var profile = new LinkProfile(int.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
            return profile == new LinkProfile(0, 0) ? None : profile;
        }
        public Task ApplyAsync() => this == None
            ? Lab("link", "off")
            : Lab("link", DelayMs.ToString(CultureInfo.InvariantCulture), LossPercent.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The issue's example profile: 25 ms of delay on each side (a 50 ms round trip) and 1% loss.</summary>
    private static readonly LinkProfile DelayAndLoss = new(25, 1);
    /// <summary>The same delay without loss, for connect times (a lost check would only add its retransmission time).</summary>
    private static readonly LinkProfile DelayOnly = new(25, 0);
    private const int TcpPort = 5201, RttPort = 5202;

    /// <summary>
    /// P2P_LAB_BENCH=1 (bench/run-lab-link.sh): the link-profile and anchor tests run more cells and profiles and move
    /// P2P_LAB_FILE_MIB (default 8) MiB instead of CI's 2; results go to P2P_LAB_RESULTS when set. P2P_LAB_PROFILES="0/0 25/1"
    /// (delay ms / loss % per side) chooses the link-profile test's profiles.
    /// </summary>
    private static bool Bench => Environment.GetEnvironmentVariable("P2P_LAB_BENCH") == "1";
    private static int ProfileFileBytes =>
        (Bench ? int.Parse(Environment.GetEnvironmentVariable("P2P_LAB_FILE_MIB") ?? "8", CultureInfo.InvariantCulture) : 2) * 1024 * 1024;

    [Fact]
    public async Task A_delay_profile_puts_twice_its_delay_into_the_round_trip_across_the_lab_and_off_takes_it_out()
    {
        // TCP connects from lab-a to lab-b through router B's port forward (SYN out through router A's uplink, SYN-ACK
        // out through router B's): one round trip across both NATs each, without a profile, with 25 ms per side
        // (tests/lab/link-delay on each router's NFQUEUE), and after `lab.sh link off`
        try
        {
            await Lab("up", "masquerade", "masquerade");
            await Lab("forward-tcp", RttPort.ToString(CultureInfo.InvariantCulture));
            var before = await RttAsync();
            await DelayOnly.ApplyAsync();
            var with = await RttAsync();
            await LinkProfile.None.ApplyAsync();
            var after = await RttAsync();
            output.WriteLine($"round trip lab-a -> lab-b (min/median ms): none {before}, {DelayOnly} {with}, off again {after}");
            Assert.True(with.Min >= 2 * DelayOnly.DelayMs, $"with {DelayOnly} the round trip must be at least {2 * DelayOnly.DelayMs} ms: {with}");
            Assert.True(with.Median < 2 * DelayOnly.DelayMs + 100, $"with {DelayOnly} the round trip should be near {2 * DelayOnly.DelayMs} ms: {with}");
            Assert.True(before.Median < DelayOnly.DelayMs, $"without a profile the round trip should be small: {before}");
            Assert.True(after.Median < DelayOnly.DelayMs, $"after link off the round trip should be small again: {after}");
        }
        finally
        {
            await Lab("down");
        }
    }

    [Fact]
    public async Task With_delay_and_loss_on_both_access_links_a_file_moves_and_its_rate_is_set_beside_plain_TCP_on_the_same_path()
    {
        // cells with a direct path: the ICE file transfer and a plain TCP stream (lab.sh forward-tcp: router B forwards
        // the port to lab-b) cross the same two routers and uplinks, each with the profile; the chat round trip must
        // carry the profile's delay (so the file really crossed it), and the file must arrive intact
        LinkProfile[] profiles = !Bench ? [DelayAndLoss]
            : Environment.GetEnvironmentVariable("P2P_LAB_PROFILES") is { Length: > 0 } given ? [.. given.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(LinkProfile.Parse)]
            : [LinkProfile.None, DelayAndLoss];
        // a new network namespace starts with the initial one's default (so the lab's hosts use this one)
        string defaultCc = File.ReadAllText("/proc/sys/net/ipv4/tcp_congestion_control").Trim();
        await RunCellsAsync([("masquerade", "masquerade"), ("full-cone", "port-restricted")], "link-profiles", async (natA, natB, work) =>
        {
            await Lab("forward-tcp", TcpPort.ToString(CultureInfo.InvariantCulture));
            await Lab("forward-tcp", RttPort.ToString(CultureInfo.InvariantCulture));
            await using var signal = await StartSignalAsync();
            var rows = new List<string>();
            foreach (var profile in profiles)
            {
                await profile.ApplyAsync();
                var rtt = await RttAsync();
                var cell = new Cell("coturn", natA, natB);
                await RunCellAsync(cell, work, ProfileFileBytes, $"-p{Array.IndexOf(profiles, profile)}");
                var tcp = await TcpRateAsync(ProfileFileBytes);
                // Reno beside the system's default: loss-based like SCTP's congestion control (RFC 9260 §7.2), while a
                // default such as BBR does not back off for random loss at all
                var reno = await TcpRateAsync(ProfileFileBytes, "reno");
                output.WriteLine($"{cell} [{profile}]: TCP round trip {rtt}; {(cell.FileOk ? $"{cell.Path}, chat RTT {cell.ChatRttMs:0} ms, file {cell.FileMiBps:0.00} MiB/s" : "FAILED " + cell.Problem)}; plain TCP {tcp:0.00} MiB/s ({defaultCc}), reno {reno:0.00} MiB/s");
                Assert.True(cell.FileOk, $"{cell} with {profile}: {cell.Problem}");
                Assert.True(cell.ChatRttMs >= 2 * profile.DelayMs, $"{cell} with {profile}: the chat round trip {cell.ChatRttMs:0} ms is shorter than the profile's {2 * profile.DelayMs} ms");
                Assert.True(tcp > 0 && reno > 0, $"{cell}: a plain TCP baseline moved nothing ({defaultCc} {tcp:0.00}, reno {reno:0.00} MiB/s)");
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {natA} | {natB} | {profile} | {rtt.Median:0.0} | {cell.Path} | {cell.FileMiBps:0.00} | {tcp:0.00} | {cell.FileMiBps / tcp:0.00} | {reno:0.00} | {cell.FileMiBps / reno:0.00} |"));
            }
            return string.Join("\n", rows);
        }, string.Create(CultureInfo.InvariantCulture, $"""
            ## Link profiles: our file rate beside plain TCP on the same path

            Written by `NatLabMatrixTests` on {DateTime.UtcNow:yyyy-MM-dd}. A profile delays and drops what each side's router sends to
            the public network (`lab.sh link`: tests/lab/link-delay on an NFQUEUE, as this kernel has no netem), so the round
            trip between the hosts carries the delay twice; `rtt` is the median TCP connect time from lab-a to lab-b. File:
            {ProfileFileBytes / 1048576} MiB, secure ICE (DTLS, SCTP) between the two `p2p` processes, from B's accept to B's done, SHA-256
            checked. Plain TCP: the same bytes from lab-a to lab-b with tests/lab/tcp-rate.pl through a port forward on router B,
            from the first byte to EOF, once with the system's congestion control ({defaultCc}) and once with Reno, which
            backs off for loss as SCTP's does (RFC 9260 §7.2).

            | NAT A | NAT B | profile | rtt ms | path (A's view) | p2p MiB/s | TCP MiB/s | p2p / TCP | TCP reno MiB/s | p2p / reno |
            |---|---|---|---:|---|---:|---:|---:|---:|---:|
            """));
    }

    /// <summary>TCP connects from lab-a to lab-b through router B's forward of <see cref="RttPort"/>: min and median ms of 7.</summary>
    private static async Task<(double Min, double Median)> RttAsync()
    {
        string tool = Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "tcp-rate.pl");
        await using var listener = LabProcess.Start("bash", [LabScript, "exec", "b", "perl", tool, "listen", RttPort.ToString(CultureInfo.InvariantCulture)]);
        await listener.WaitForLineAsync(l => l.StartsWith("listening on", StringComparison.Ordinal), Wait);
        var probe = await Processes.Run(Processes.Program("bash", [LabScript, "exec", "a", "perl", tool, "rtt", "198.18.0.2", RttPort.ToString(CultureInfo.InvariantCulture), "7"]),
            TimeSpan.FromMinutes(1));
        var m = Regex.Match(probe.ToString(), @"rtt \d+ connects: min ([\d.]+) ms median ([\d.]+) ms");
        if (probe.ExitCode != 0 || !m.Success) throw new InvalidOperationException($"tcp-rate.pl rtt failed:\n{probe}");
        return (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Brings the lab up for each NAT pair and runs <paramref name="cell"/> (given the pair and a scratch folder), which
    /// returns the pair's table row; then writes the section <paramref name="section"/> of results.md: <paramref name="header"/>
    /// and the rows (also when a cell failed; not with P2P_LAB_PAIRS).
    /// </summary>
    private static async Task RunCellsAsync((string NatA, string NatB)[] pairs, string section, Func<string, string, string, Task<string>> cell, string header)
    {
        var rows = new List<string>();
        var work = Directory.CreateTempSubdirectory("p2p-lab-");
        try
        {
            foreach (var (natA, natB) in pairs)
            {
                await Lab("up", natA, natB);
                rows.Add(await cell(natA, natB, work.FullName));
            }
        }
        finally
        {
            await Lab("down");
            work.Delete(recursive: true);
            if (rows.Count > 0 && Only is null) await WriteResultsSectionAsync(section, header.TrimEnd('\n') + "\n" + string.Join("\n", rows) + "\n");
        }
    }

    /// <summary><c>p2p signal</c> on lab-srv, listening on port 443 (so that an https-only host reaches it too).</summary>
    private static async Task<P2pProcess> StartSignalAsync()
    {
        var signal = P2pProcess.StartThrough("bash", [LabScript, "exec", "srv"], ["signal", "--listen", $"{Signal443}:{HttpsPort}"]);
        await signal.WaitForLineAsync(l => l.StartsWith("signal listening on", StringComparison.Ordinal), Wait);
        return signal;
    }

    /// <summary>
    /// <c>p2p relay</c> on lab-srv, listening: UDP and TCP on <see cref="Server"/>:<see cref="RelayPort"/>, and on
    /// <see cref="Relay443"/>:443 TLS with the lab's certificate.
    /// </summary>
    private static async Task<P2pProcess> StartRelayAsync()
    {
        string[] on443 = ["--tls-listen", $"{Relay443}:{HttpsPort}", "--cert", LabCertificate, "--key", Path.Combine(LabState, "turn-key.pem")];
        var relay = P2pProcess.StartThrough("bash", [LabScript, "exec", "srv"],
            ["relay", "--listen", $"{Server}:{RelayPort}", .. on443, "--user", "lab:labpass", "--realm", "lab"]);
        await relay.WaitForLineAsync(l => l.StartsWith("relay listening on", StringComparison.Ordinal), Wait, NicePeerStream.Stdout);
        return relay;
    }

    /// <summary>
    /// Plain TCP from lab-a to lab-b through router B's port forward: MiB/s from the first byte to EOF at the receiver;
    /// with the congestion control <paramref name="congestionControl"/> when given, else the system's.
    /// </summary>
    private static async Task<double> TcpRateAsync(int bytes, string? congestionControl = null)
    {
        string tool = Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "tcp-rate.pl");
        await using var receiver = LabProcess.Start("bash", [LabScript, "exec", "b", "perl", tool, "recv", TcpPort.ToString(CultureInfo.InvariantCulture)]);
        await receiver.WaitForLineAsync(l => l.StartsWith("listening on", StringComparison.Ordinal), Wait);
        var send = await Processes.Run(Processes.Program("bash", [LabScript, "exec", "a", "perl", tool, "send", "198.18.0.2", TcpPort.ToString(CultureInfo.InvariantCulture),
            bytes.ToString(CultureInfo.InvariantCulture), .. congestionControl is null ? Array.Empty<string>() : [congestionControl]]), TimeSpan.FromMinutes(2));
        if (send.ExitCode != 0) throw new InvalidOperationException($"tcp-rate.pl send failed:\n{send}");
        var line = await receiver.WaitForLineAsync(l => l.StartsWith("received ", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
        var m = Regex.Match(line, @"received (\d+) bytes in ([\d.]+) s");
        long got = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        double seconds = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        return got == bytes && seconds > 0 ? got / 1048576.0 / seconds : 0;
    }

    [Fact]
    public async Task Libnice_to_libnice_connect_time_in_lab_cells_is_measured_beside_ours_as_the_anchor()
    {
        // the issue's goal for connecting in the lab is "at most libnice's time in the same cell": the libnice stand-in
        // (tests/interop/nice-peer) on both hosts, STUN and TURN from coturn, descriptions handed over by the test;
        // then our two p2p in the same cell (through p2p signal, coturn), as in the matrix; without a link profile, and
        // with 25 ms of delay on each side in the cells with a direct path
        (string, string)[] pairs = [("masquerade", "masquerade"), ("full-cone", "port-restricted"), ("masquerade", "symmetric"), ("symmetric", "symmetric")];
        await RunCellsAsync(pairs, "libnice-anchor", async (natA, natB, work) =>
            {
                LinkProfile[] profiles = Bench || DirectPossible(natA, natB) ? [LinkProfile.None, DelayOnly] : [LinkProfile.None];
                var rows = new List<string>();
                await using var signal = await StartSignalAsync();
                foreach (var profile in profiles)
                {
                    await profile.ApplyAsync();
                    var nice = await LibniceConnectAsync();
                    var cell = new Cell("coturn", natA, natB);
                    await RunCellAsync(cell, work, roomTag: $"-p{Array.IndexOf(profiles, profile)}");
                    output.WriteLine($"{natA} x {natB} [{profile}]: libnice {nice.Text}; ours {(cell.Connected ? $"{cell.ConnectMs:0} ms ({cell.Path})" : "NOT CONNECTED " + cell.Problem)}");
                    Assert.True(cell.Connected, $"{cell} with {profile}: {cell.Problem}");
                    string ratio = nice.Ms > 0 ? (cell.ConnectMs / nice.Ms).ToString("0.00", CultureInfo.InvariantCulture) : "-";
                    rows.Add(string.Create(CultureInfo.InvariantCulture, $"| {natA} | {natB} | {profile} | {nice.Text} | {cell.ConnectMs:0} | {ratio} | {cell.Path} |"));
                }
                return string.Join("\n", rows);
            }, $"""
            ## Connect time: libnice to libnice (the anchor) beside ours, same cells

            Written by `NatLabMatrixTests` on {DateTime.UtcNow:yyyy-MM-dd}. libnice: tests/interop/nice-peer on lab-a (controlling) and lab-b,
            STUN and TURN (UDP) from coturn, the two descriptions handed over by the test at once; ms from the moment both were
            written to both printing `Connected` (component READY; libnice had gathered before, so gathering is not in it).
            Ours: the same cell right after, two `p2p` through `p2p signal` with coturn, ms after both peers were in the room
            (gathering, trickle and DTLS included), the later of the two, as in the matrix. Profile: `lab.sh link` (each side's
            uplink; 25 ms per side is a 50 ms round trip between the hosts).

            | NAT A | NAT B | profile | libnice ms | ours ms | ours / libnice | our path (A's view) |
            |---|---|---|---:|---:|---:|---|
            """);
    }

    /// <summary>nice-peer on lab-a and lab-b: both descriptions handed over, then the ms until both are READY (or why not).</summary>
    private static async Task<(double Ms, string Text)> LibniceConnectAsync()
    {
        string[] Args(string local, bool controlling) =>
        [
            .. controlling ? new[] { "-s" } : [], "--local-address", local, "--stun", Server, "--stun-port", CoturnPort.ToString(CultureInfo.InvariantCulture),
            "--turn", Server, "--turn-port", CoturnPort.ToString(CultureInfo.InvariantCulture), "--turn-user", "lab", "--turn-pass", "labpass", "--timeout", "10", // its cells connect in ~2 s or not at all
        ];
        await using var a = await NicePeer.StartThroughAsync("bash", [LabScript, "exec", "a"], Args("10.10.1.2", controlling: true));
        await using var b = await NicePeer.StartThroughAsync("bash", [LabScript, "exec", "b"], Args("10.10.2.2", controlling: false));
        var descriptionA = await a.ReadLocalDescriptionAsync(Wait);
        var descriptionB = await b.ReadLocalDescriptionAsync(Wait);
        await a.WriteRemoteDescriptionAsync(descriptionB);
        await b.WriteRemoteDescriptionAsync(descriptionA);
        long handedOver = Stopwatch.GetTimestamp();
        try
        {
            var connectedA = await a.WaitForStampedLineAsync(l => l == "Connected", Wait);
            var connectedB = await b.WaitForStampedLineAsync(l => l == "Connected", Wait);
            double ms = Stopwatch.GetElapsedTime(handedOver, Math.Max(connectedA.ReadAt, connectedB.ReadAt)).TotalMilliseconds;
            return (ms, ms.ToString("0", CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            return (-1, "did not connect: " + e.Message.Split('\n')[0].Replace("|", "/", StringComparison.Ordinal));
        }
    }

    /// <summary>The connect time <paramref name="p2p"/> printed: "Connected N ms after both peers were in the room."</summary>
    private static async Task<double> ConnectMsAsync(P2pProcess p2p)
    {
        var line = await p2p.WaitForLineAsync(l => l.StartsWith("Connected ", StringComparison.Ordinal) && l.EndsWith(" ms after both peers were in the room.", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        return double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    private static async Task Lab(params string[] args)
    {
        var result = await Processes.Run(Processes.Program("bash", [LabScript, .. args]), TimeSpan.FromMinutes(1));
        if (result.ExitCode != 0) throw new InvalidOperationException($"lab.sh {string.Join(' ', args)} failed:\n{result}");
    }

    private static string Report(List<Cell> cells, List<string> notRun, TimeSpan took)
    {
        var md = new StringBuilder();
        md.AppendLine("# NAT lab results");
        md.AppendLine();
        md.AppendLine("Written by `NatLabMatrixTests` (tests/P2P.Actors.Tests/Lab), not by hand: real `p2p` processes in two LANs");
        md.AppendLine("behind kernel NATs (tests/lab/lab.sh), meeting through `p2p signal`, STUN from coturn, TURN from coturn or");
        md.AppendLine("`p2p relay`. Connect time: each `p2p` prints how long after both peers were in the room it was connected (ICE");
        md.AppendLine("and DTLS done), timed inside the process; the later of the two. The other times are between the moments lines");
        md.AppendLine("left the processes (each output line is stamped by a thread reading the pipe, not when the test gets to it).");
        md.AppendLine("Chat round trip: a line written to A until B prints it, plus a line written to B until A prints it. File: 5 MiB");
        md.AppendLine("from A to B, SHA-256 checked on arrival, MiB/s from B's accept to B saying it is done. Transport: the selected");
        md.AppendLine("pair's (udp, or tcp for an ICE-TCP pair), then for each relayed side how it reaches its TURN server and on which port.");
        md.AppendLine("Direct possible: a direct path exists, over UDP or, behind tcp-only, over ICE-TCP (from tcp-only to a NAT that maps");
        md.AppendLine("TCP endpoint-independently, by TCP hole punching between server-reflexive simultaneous-open candidates, RFC 6544");
        md.AppendLine("§5.2); the test fails on a cell that relays where it exists. tcp-only x tcp-only is in the firewall matrix below.");
        md.AppendLine("The path is the first one selected: where one NAT is symmetric and the other maps endpoint-independently, port");
        md.AppendLine("prediction (on by default) then moves the session to a direct pair a few seconds later, while the file may still be moving;");
        md.AppendLine("the port-prediction section below measures that.");
        md.AppendLine($"Run on {DateTime.UtcNow:yyyy-MM-dd} in {took.TotalMinutes:0.0} min.");
        md.AppendLine();
        md.AppendLine("NAT kinds (RFC 4787; tests/lab/lab.sh says how each is built, tests/lab/check-nat.sh verifies them):");
        md.AppendLine();
        md.AppendLine("| kind | mapping | filtering | port preserved |");
        md.AppendLine("|---|---|---|---|");
        md.AppendLine("| masquerade | endpoint-independent | address-and-port-dependent | yes |");
        md.AppendLine("| port-restricted | endpoint-independent | address-and-port-dependent | no (a fixed other port per local port) |");
        md.AppendLine("| full-cone | endpoint-independent | endpoint-independent | yes |");
        md.AppendLine("| symmetric | address-and-port-dependent | address-and-port-dependent | no (random per flow) |");
        md.AppendLine("| tcp-only | no UDP either way; any TCP out, masqueraded (endpoint-independent) | TCP replies only | yes |");
        md.AppendLine();
        AppendCells(md, cells, notRun, Budget, expected: null);
        return md.ToString();
    }

    private static string FirewallReport(List<Cell> cells, List<string> notRun, TimeSpan took, Dictionary<(string, string), string> expected)
    {
        var md = new StringBuilder();
        md.AppendLine("## Firewalls that pass only TCP or only TCP 443, and a public host");
        md.AppendLine();
        md.AppendLine("Written by `NatLabMatrixTests` (issue 14) as the NAT matrix above: coturn and `p2p relay` also listen on TCP 443");
        md.AppendLine("(TLS),");
        md.AppendLine("`p2p signal` listens on 443. Each side reaches its TURN server as its firewall lets it: UDP, TCP behind tcp-only,");
        md.AppendLine("443 behind https-only (the transport column: the selected pair's transport, then each relayed side's way to its");
        md.AppendLine("TURN server). The expected path is the best one the rules allow with what `p2p` offers today: the");
        md.AppendLine("test fails on any other (tcp-only x public and tcp-only x tcp-only go direct over ICE-TCP, the latter by TCP");
        md.AppendLine("hole punching between server-reflexive simultaneous-open candidates). tcp-only x masquerade is in the NAT matrix above.");
        md.AppendLine($"Run on {DateTime.UtcNow:yyyy-MM-dd} in {took.TotalMinutes:0.0} min.");
        md.AppendLine();
        md.AppendLine("| kind | what passes (tests/lab/lab.sh, nftables in the router) |");
        md.AppendLine("|---|---|");
        md.AppendLine("| tcp-only | no UDP either way; any TCP out, masqueraded (also called udp-blocked) |");
        md.AppendLine("| https-only | only TCP to port 443 out, masqueraded; everything else dropped |");
        md.AppendLine("| public | no NAT, no filter: the host's own public address, reachable by anyone |");
        md.AppendLine();
        AppendCells(md, cells, notRun, FirewallBudget, expected);
        return md.ToString();
    }

    /// <summary>The table of <paramref name="cells"/> (with an "expected" column when given) and its verdict line.</summary>
    private static void AppendCells(StringBuilder md, List<Cell> cells, List<string> notRun, TimeSpan budget, Dictionary<(string, string), string>? expected)
    {
        md.AppendLine($"| TURN | NAT A | NAT B | connected | path (A's view) | transport | {(expected is null ? "direct possible" : "expected path")} | connect ms | chat RTT ms | 5 MiB file | MiB/s |");
        md.AppendLine("|---|---|---|---|---|---|---|---:|---:|---|---:|");
        foreach (var c in cells)
        {
            string expectation = expected is null ? (DirectPossible(c.NatA, c.NatB) ? "yes" : "no")
                : c.Connected && expected[(c.NatA, c.NatB)] != PathClass(c) ? $"**{expected[(c.NatA, c.NatB)]}**" : expected[(c.NatA, c.NatB)];
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {c.Turn} | {c.NatA} | {c.NatB} | {(c.Connected ? "yes" : "**no**")} | {c.Path} | {c.Transport} | {expectation} | {c.ConnectMs:0} | {c.ChatRttMs:0} | {(c.FileOk ? "SHA-256 ok" : "**failed**")} | {c.FileMiBps:0.0} |"));
        }
        var bad = cells.Where(c => !c.Connected || !c.FileOk).ToList();
        md.AppendLine();
        md.AppendLine(bad.Count == 0 ? $"All {cells.Count} cells connected and moved the file." : $"{bad.Count} of {cells.Count} cells failed: " + string.Join("; ", bad.Select(c => $"{c} ({c.Problem})")));
        if (notRun.Count > 0)
        {
            md.AppendLine();
            md.AppendLine($"**Not run** (the lab went past its {budget.TotalMinutes:0} minutes): " + string.Join("; ", notRun) + ".");
        }
    }
}
