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
/// </summary>
[Trait("Category", "Lab")]
public sealed class NatLabMatrixTests(ITestOutputHelper output)
{
    private static readonly string[] Nats = ["masquerade", "port-restricted", "full-cone", "symmetric", "udp-blocked"];
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    private const string Server = "198.18.0.10";
    private const int CoturnPort = 3478, RelayPort = 3480, SignalPort = 8090; // coturn also holds 3479 (its RFC 5780 alternate port)
    private const int FileBytes = 5 * 1024 * 1024;

    private static string LabScript => Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "lab.sh");

    /// <summary>One cell of the matrix.</summary>
    private sealed record Cell(string Turn, string NatA, string NatB)
    {
        public bool Connected { get; set; }
        public string Path { get; set; } = "";
        public double ConnectMs { get; set; }
        public double ChatRttMs { get; set; }
        public bool FileOk { get; set; }
        public double FileMiBps { get; set; }
        public string Problem { get; set; } = "";
        public override string ToString() => $"{Turn}: {NatA} x {NatB}";
    }

    /// <summary>Whether a direct path exists for the pair (RFC 4787 behaviours; NATLAB-NOTES.md measured the same).</summary>
    private static bool DirectPossible(string a, string b)
    {
        if (a == "udp-blocked" || b == "udp-blocked") return false;
        static bool ConeNotFull(string n) => n is "masquerade" or "port-restricted";
        if (a == "symmetric" && (b == "symmetric" || ConeNotFull(b))) return false;
        if (b == "symmetric" && ConeNotFull(a)) return false;
        return true;
    }

    [Theory]
    [InlineData("masquerade", "symmetric")]
    [InlineData("full-cone", "port-restricted")]
    [InlineData("udp-blocked", "masquerade")]
    public async Task Each_router_behaves_as_the_NAT_it_claims_to_a_STUN_query_from_its_LAN(string natA, string natB)
    {
        // tests/lab/check-nat.sh: one local port, two STUN destinations; same mapped port = endpoint-independent
        // mapping, different = symmetric, no answer = UDP blocked; full cone also lets in an unsolicited answer
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
    public async Task Every_pair_of_NAT_behaviours_connects_through_the_lab_with_coturn_and_with_p2p_relay()
    {
        var cells = new List<Cell>();
        var clock = Stopwatch.StartNew();
        var work = Directory.CreateTempSubdirectory("p2p-lab-");
        try
        {
            foreach (var natA in Nats)
                foreach (var natB in Nats)
                {
                    await Lab("up", natA, natB);
                    await using var signal = P2pProcess.StartThrough("bash", [LabScript, "exec", "srv"], ["signal", "--listen", $"{Server}:{SignalPort}"]);
                    await using var relay = P2pProcess.StartThrough("bash", [LabScript, "exec", "srv"],
                        ["relay", "--listen", $"{Server}:{RelayPort}", "--user", "lab:labpass", "--realm", "lab"]);
                    await signal.WaitForLineAsync(l => l.StartsWith("signal listening on", StringComparison.Ordinal), Wait);
                    await relay.WaitForLineAsync(l => l.StartsWith("relay listening on", StringComparison.Ordinal), Wait, NicePeerStream.Stdout);
                    foreach (var (turn, port) in new[] { ("coturn", CoturnPort), ("p2p relay", RelayPort) })
                    {
                        var cell = new Cell(turn, natA, natB);
                        cells.Add(cell);
                        await RunCellAsync(cell, port, work.FullName);
                        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {cell}: {(cell.Connected ? $"{cell.Path}, {cell.ConnectMs:0} ms, file {(cell.FileOk ? "ok" : "BAD")}" : "NOT CONNECTED")} {cell.Problem}");
                    }
                }
        }
        finally
        {
            await Lab("down");
            work.Delete(recursive: true);
            if (cells.Count > 0) await File.WriteAllTextAsync(Path.Combine(NicePeer.RepositoryRoot, "tests", "lab", "results.md"), Report(cells, clock.Elapsed));
        }
        var failed = cells.Where(c => !c.Connected || !c.FileOk || c.ChatRttMs <= 0).Select(c => $"{c} ({c.Problem})").ToList();
        Assert.True(failed.Count == 0, "cells that failed: " + string.Join("; ", failed));
        var relayedButDirectPossible = cells.Where(c => DirectPossible(c.NatA, c.NatB) && c.Path.Contains("relay", StringComparison.Ordinal)).Select(c => c.ToString()).ToList();
        Assert.True(relayedButDirectPossible.Count == 0, "relayed although a direct path exists: " + string.Join("; ", relayedButDirectPossible));
    }

    private async Task RunCellAsync(Cell cell, int turnPort, string work)
    {
        string room = $"{cell.Turn.Replace(' ', '-')}-{cell.NatA}-{cell.NatB}";
        var downloads = Directory.CreateDirectory(Path.Combine(work, room)).FullName;
        string[] Args(string nat) =>
        [
            "--signal", $"ws://{Server}:{SignalPort}/", "--room", room, "--stun", Server, "--stun-port", CoturnPort.ToString(CultureInfo.InvariantCulture),
            "--turn", Server, "--turn-port", turnPort.ToString(CultureInfo.InvariantCulture), "--turn-user", "lab", "--turn-pass", "labpass",
            .. nat == "udp-blocked" ? new[] { "--turn-tcp" } : [], "--download-dir", downloads, "--timeout", "30",
        ];
        await using var a = P2pProcess.StartThrough("bash", [LabScript, "exec", "a"], Args(cell.NatA));
        await using var b = P2pProcess.StartThrough("bash", [LabScript, "exec", "b"], Args(cell.NatB));
        try
        {
            // connect time: from the moment both are in the room to both connected
            await a.WaitForLineAsync(l => l.StartsWith("Joined", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            await b.WaitForLineAsync(l => l.StartsWith("Joined", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            var connectClock = Stopwatch.StartNew();
            await a.WaitForLineAsync(l => l == "Connected", Wait);
            await b.WaitForLineAsync(l => l == "Connected", Wait);
            cell.ConnectMs = connectClock.Elapsed.TotalMilliseconds;
            cell.Connected = true;
            var over = await a.WaitForLineAsync(l => l.StartsWith("Connected over ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            var m = Regex.Match(over, @"Connected over (\w+) \S+ -> (\w+) \S+");
            cell.Path = m.Success ? $"{m.Groups[1].Value} -> {m.Groups[2].Value}" : over;

            // chat round trip
            var rtt = Stopwatch.StartNew();
            await a.WriteLineAsync("ping from a");
            await b.WaitForLineAsync(l => l == "Received: ping from a", Wait);
            await b.WriteLineAsync("pong from b");
            await a.WaitForLineAsync(l => l == "Received: pong from b", Wait);
            cell.ChatRttMs = rtt.Elapsed.TotalMilliseconds;

            // 5 MiB from a to b, offered, accepted, SHA-256 checked by b and here
            var source = Path.Combine(work, room + ".bin");
            var bytes = RandomNumberGenerator.GetBytes(FileBytes);
            await File.WriteAllBytesAsync(source, bytes);
            var fileClock = Stopwatch.StartNew();
            await a.WriteLineAsync("/send " + source);
            var offer = await b.WaitForLineAsync(l => l.StartsWith("the peer offers", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            var id = Regex.Match(offer, @"/accept (\S+)").Groups[1].Value;
            await b.WriteLineAsync("/accept " + id);
            var done = await b.WaitForLineAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal) || l.StartsWith($"p2p: file {id}", StringComparison.Ordinal), TimeSpan.FromSeconds(90), NicePeerStream.Stderr);
            var received = Path.Combine(downloads, room + ".bin");
            cell.FileOk = done.Contains(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), StringComparison.Ordinal)
                && File.Exists(received) && SHA256.HashData(await File.ReadAllBytesAsync(received)).AsSpan().SequenceEqual(SHA256.HashData(bytes));
            cell.FileMiBps = FileBytes / 1048576.0 / fileClock.Elapsed.TotalSeconds;
            if (!cell.FileOk) cell.Problem = done;
            a.CloseStdin();
            await a.WaitForExitAsync(Wait);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            cell.Problem = e.Message.Split('\n')[0];
            output.WriteLine(a.Transcript);
            output.WriteLine(b.Transcript);
        }
    }

    private static async Task Lab(params string[] args)
    {
        var result = await Processes.Run(Processes.Program("bash", [LabScript, .. args]), TimeSpan.FromMinutes(1));
        if (result.ExitCode != 0) throw new InvalidOperationException($"lab.sh {string.Join(' ', args)} failed:\n{result}");
    }

    private static string Report(List<Cell> cells, TimeSpan took)
    {
        var md = new StringBuilder();
        md.AppendLine("# NAT lab results");
        md.AppendLine();
        md.AppendLine("Written by `NatLabMatrixTests` (tests/P2P.Actors.Tests/Lab), not by hand: real `p2p` processes in two LANs");
        md.AppendLine("behind kernel NATs (tests/lab/lab.sh), meeting through `p2p signal`, STUN from coturn, TURN from coturn or");
        md.AppendLine("`p2p relay`. Connect time is from both peers being in the room to both connected; the chat round trip is a line");
        md.AppendLine($"there and one back; the file is 5 MiB, SHA-256 checked on arrival. Run on {DateTime.UtcNow:yyyy-MM-dd} in {took.TotalMinutes:0.0} min.");
        md.AppendLine();
        md.AppendLine("| TURN | NAT A | NAT B | connected | path (A's view) | direct possible | connect ms | chat RTT ms | 5 MiB file | MiB/s |");
        md.AppendLine("|---|---|---|---|---|---|---:|---:|---|---:|");
        foreach (var c in cells)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {c.Turn} | {c.NatA} | {c.NatB} | {(c.Connected ? "yes" : "**no**")} | {c.Path} | {(DirectPossible(c.NatA, c.NatB) ? "yes" : "no")} | {c.ConnectMs:0} | {c.ChatRttMs:0} | {(c.FileOk ? "SHA-256 ok" : "**failed**")} | {c.FileMiBps:0.0} |"));
        var bad = cells.Where(c => !c.Connected || !c.FileOk).ToList();
        md.AppendLine();
        md.AppendLine(bad.Count == 0 ? $"All {cells.Count} cells connected and moved the file." : $"{bad.Count} of {cells.Count} cells failed: " + string.Join("; ", bad.Select(c => $"{c} ({c.Problem})")));
        return md.ToString();
    }
}
