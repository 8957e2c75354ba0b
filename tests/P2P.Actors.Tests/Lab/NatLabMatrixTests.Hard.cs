using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using P2P.Actors.Tests.Support;
using Xunit;

namespace P2P.Actors.Tests.Lab;

/// <summary>
/// Hard NATs in the lab (issue 16): what RFC 5780 discovery (<c>p2p nat-type</c>) finds behind each router kind,
/// against coturn and against <c>p2p relay --alt-ip</c>. In the same class as the matrix, so that xunit never runs it
/// beside another lab test.
/// </summary>
public sealed partial class NatLabMatrixTests
{
    /// <summary>lab-srv's second address (coturn listens on it too): the relay's RFC 5780 alternate address.</summary>
    private const string AltServer = "198.18.0.11";

    /// <summary>
    /// What tests/lab/README.md's table says each kind is, in a=x-p2p-nat's tokens (mapping, filtering, port
    /// allocation; null: not asserted, as for an endpoint-independent mapping, whose ports no prediction needs).
    /// </summary>
    private static readonly Dictionary<string, (string Mapping, string Filtering, string? Allocation)> DiscoveryExpected = new()
    {
        ["masquerade"] = ("eim", "apdf", "pres"),
        ["port-restricted"] = ("eim", "apdf", null),
        ["full-cone"] = ("eim", "eif", "pres"),
        ["symmetric"] = ("apdm", "apdf", "rand"),
        ["sequential"] = ("apdm", "apdf", "seq"),
        ["public"] = ("none", "eif", null),
    };

    [Fact]
    public async Task RFC_5780_discovery_behind_each_router_kind_matches_the_lab_table_against_coturn_and_p2p_relay()
    {
        // p2p nat-type --json from both hosts of three labs (six kinds), once against coturn (two listening addresses,
        // RFC 5780 on) and once against p2p relay --alt-ip; tcp-only must say UDP does not get through
        var rows = new List<string>();
        var wrong = new List<string>();
        (string A, string B)[] labs = [("masquerade", "symmetric"), ("full-cone", "sequential"), ("port-restricted", "public"), ("tcp-only", "masquerade")];
        try
        {
            foreach (var (natA, natB) in labs)
            {
                await Lab("up", natA, natB);
                await using var relay = P2pProcess.StartThrough("bash", [LabScript, "exec", "srv"],
                    ["relay", "--listen", $"{Server}:{RelayPort}", "--alt-ip", AltServer, "--user", "lab:labpass", "--realm", "lab"]);
                await relay.WaitForLineAsync(l => l.StartsWith("relay listening on", StringComparison.Ordinal), Wait, NicePeerStream.Stdout);
                foreach (var (host, kind) in new[] { ("a", natA), ("b", natB) })
                {
                    if (kind == "masquerade" && natA == "tcp-only") continue; // seen in the first lab already
                    foreach (var (server, port) in new[] { ("coturn", CoturnPort), ("p2p relay", RelayPort) })
                    {
                        var run = await Processes.Run(Processes.Program("bash", LabScript, "exec", host, "dotnet", Processes.P2pDll,
                            "nat-type", "--stun", $"{Server}:{port}", "--json"), TimeSpan.FromSeconds(60));
                        output.WriteLine($"lab-{host} [{kind}] via {server}: exit {run.ExitCode}: {run.Stdout.Trim()} {run.Stderr.Trim()}");
                        var found = JsonDocument.Parse(run.Stdout.Trim().Split('\n')[^1]).RootElement;
                        string Text(string name) => found.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "-";
                        if (kind == "tcp-only")
                        {
                            if (run.ExitCode != 1 || Text("error") == "-") wrong.Add($"{kind} via {server}: expected no answer over UDP, got exit {run.ExitCode} {run.Stdout.Trim()}");
                            rows.Add($"| {kind} | {server} | no answer over UDP: {Text("error")} | | | |");
                            continue;
                        }
                        var want = DiscoveryExpected[kind];
                        string mapping = Text("mapping"), filtering = Text("filtering"), allocation = Text("portAllocation");
                        string hairpin = found.TryGetProperty("hairpinning", out var h) && h.ValueKind is JsonValueKind.True or JsonValueKind.False ? (h.GetBoolean() ? "yes" : "no") : "-";
                        bool ok = run.ExitCode == 0 && mapping == want.Mapping && filtering == want.Filtering && (want.Allocation is null || allocation == want.Allocation);
                        if (!ok) wrong.Add($"{kind} via {server}: found {mapping}/{filtering}/{allocation}, the table says {want.Mapping}/{want.Filtering}/{want.Allocation ?? "any"}");
                        rows.Add($"| {kind} | {server} | {mapping} | {filtering} | {allocation}{(found.TryGetProperty("portStep", out var s) && s.ValueKind == JsonValueKind.Number ? $" (step {s.GetInt32()})" : "")} | {hairpin} |");
                    }
                }
            }
        }
        finally
        {
            await Lab("down");
        }
        var md = new StringBuilder();
        md.AppendLine("## RFC 5780 discovery behind each router kind");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Written by `NatLabMatrixTests` on {DateTime.UtcNow:yyyy-MM-dd}: `p2p nat-type --stun <server> --json` from the host behind each router,");
        md.AppendLine("against coturn (198.18.0.10 and .11, RFC 5780 on) and `p2p relay --alt-ip 198.18.0.11`; tokens as in `a=x-p2p-nat`");
        md.AppendLine("(eim/apdm: endpoint-independent / address-and-port-dependent mapping; eif/apdf: filtering; pres/seq/rand: port");
        md.AppendLine("allocation). Expected: tests/lab/README.md's table (port-restricted's and public's allocation are not asserted).");
        md.AppendLine();
        md.AppendLine("| kind | server | mapping | filtering | port allocation | hairpinning |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var row in rows) md.AppendLine(row);
        await WriteResultsSectionAsync("nat-discovery", md.ToString());
        Assert.True(wrong.Count == 0, "discovery disagrees with the lab's table: " + string.Join("; ", wrong));
    }
    /// <summary>
    /// The cells of port prediction: a symmetric NAT (random ports) facing an endpoint-independent one, both ways, with
    /// masquerade and port-restricted; a sequential one (the next port per flow) facing masquerade; and symmetric facing
    /// symmetric, where prediction declines and the pair stays relayed.
    /// </summary>
    private static readonly (string A, string B, bool Direct)[] PredictionCells =
    [
        ("masquerade", "symmetric", true), ("symmetric", "masquerade", true),
        ("port-restricted", "symmetric", true), ("symmetric", "port-restricted", true),
        ("sequential", "masquerade", true), ("symmetric", "symmetric", false),
    ];

    private sealed record PredictionTry(bool Connected, string FirstPath, string LastPath, double ConnectMs, double ToDirectMs, int? Probes, int? Sockets, string Problem)
    {
        public bool Direct => LastPath.Length > 0 && !LastPath.Contains("relay", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Port_prediction_moves_a_relayed_pair_through_a_symmetric_NAT_to_a_direct_one_and_the_lab_table_says_how_often()
    {
        // each try: two p2p chats through p2p signal, coturn for STUN (RFC 5780: it has a second address) and TURN. They
        // connect relayed at once; each finds its NAT in the background and tells the other (a=x-p2p-nat); where one side
        // maps per destination and the other does not, they predict ports and the session moves to the direct pair.
        // Lines must cross both ways after the move (consent, DTLS and SCTP run on the new pair). CI runs 3 tries per
        // cell and lets one miss (a birthday try fails ~2% of the time by design); P2P_LAB_BENCH=1 runs 20 and writes
        // the rates to tests/lab/results.md
        int tries = Bench ? int.Parse(Environment.GetEnvironmentVariable("P2P_LAB_PREDICTION_TRIES") ?? "20", CultureInfo.InvariantCulture) : 3;
        var results = new List<(string A, string B, bool Direct, PredictionTry Off, List<PredictionTry> Tries)>();
        var work = Directory.CreateTempSubdirectory("p2p-lab-predict-");
        try
        {
            foreach (var (natA, natB, direct) in PredictionCells)
            {
                if (Only is { } only && !only.Contains($"{natA}/{natB}")) continue;
                await Lab("up", natA, natB);
                await using var signal = await StartSignalAsync();
                // once with prediction off on both sides: what ICE alone finds in this cell
                var off = await PredictionTryAsync($"predict-{natA}-{natB}-off", work.FullName, expectDirect: false, predictionOff: true);
                output.WriteLine($"{natA} x {natB} without prediction: {(off.Connected ? off.LastPath : "NOT CONNECTED")} {off.Problem}");
                var cell = new List<PredictionTry>();
                for (int i = 0; i < tries; i++)
                {
                    var one = await PredictionTryAsync($"predict-{natA}-{natB}-{i}", work.FullName, direct);
                    output.WriteLine($"{natA} x {natB} #{i}: {(one.Connected ? $"{one.FirstPath} then {one.LastPath}, connected in {one.ConnectMs:0} ms, direct {one.ToDirectMs:0} ms later, {one.Probes} probes, {one.Sockets} sockets" : "NOT CONNECTED")} {one.Problem}");
                    cell.Add(one);
                }
                results.Add((natA, natB, direct, off, cell));
            }
        }
        finally
        {
            await Lab("down");
            work.Delete(recursive: true);
        }
        if (Only is null) await WriteResultsSectionAsync("port-prediction", PredictionReport(results, tries));
        var wrong = new List<string>();
        foreach (var (natA, natB, direct, off, cell) in results)
        {
            if (!off.Connected || off.Direct) wrong.Add($"{natA} x {natB} without prediction: {(off.Connected ? off.LastPath : off.Problem)}, expected relayed");
            var failed = cell.Where(t => !t.Connected || t.Problem.Length > 0).ToList();
            if (failed.Count > 0) wrong.Add($"{natA} x {natB}: {failed.Count} tries failed ({failed[0].Problem})");
            int directs = cell.Count(t => t.Direct);
            if (direct && directs < cell.Count - (Bench ? cell.Count / 20 : 1))
                wrong.Add($"{natA} x {natB}: direct in {directs} of {cell.Count} tries");
            if (!direct && directs > 0) wrong.Add($"{natA} x {natB}: went direct in {directs} tries, where prediction should decline");
        }
        Assert.True(wrong.Count == 0, string.Join("; ", wrong));
    }

    private async Task<PredictionTry> PredictionTryAsync(string room, string work, bool expectDirect, bool predictionOff = false)
    {
        Dictionary<string, string>? environment = predictionOff ? new() { ["P2P__ICE__PORT_PREDICTION"] = "off" } : null;
        string logA = Path.Combine(work, room + "-a.log"), logB = Path.Combine(work, room + "-b.log");
        string[] Args(string log) =>
        [
            "--signal", $"ws://{Signal443}:{HttpsPort}/", "--room", room, "--stun", Server, "--stun-port", CoturnPort.ToString(CultureInfo.InvariantCulture),
            "--turn", Server, "--turn-port", CoturnPort.ToString(CultureInfo.InvariantCulture), "--turn-user", "lab", "--turn-pass", "labpass",
            "--timeout", "30", "--log", log,
        ];
        await using var a = P2pProcess.StartThrough("bash", [LabScript, "exec", "a"], Args(logA), environment);
        await using var b = P2pProcess.StartThrough("bash", [LabScript, "exec", "b"], Args(logB), environment);
        try
        {
            await a.WaitForLineAsync(l => l == "Connected", Wait);
            await b.WaitForLineAsync(l => l == "Connected", Wait);
            double connectMs = Math.Max(await ConnectMsAsync(a), await ConnectMsAsync(b));
            // the prediction's outcome on both sides (or the decision not to run it), then the pair each side ends on
            var clock = Stopwatch.StartNew();
            string[] linesA = [], linesB = [];
            while (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                linesA = ReadShared(logA);
                linesB = ReadShared(logB);
                bool Decided(string[] lines) => lines.Any(l => l.Contains("] port prediction (", StringComparison.Ordinal) || l.Contains("] no port prediction:", StringComparison.Ordinal));
                if (Decided(linesA) && Decided(linesB)) break;
                await Task.Delay(200);
            }
            await Task.Delay(expectDirect ? 500 : 0); // the controlled side selects the nominated pair one round trip later
            linesA = ReadShared(logA);
            var connectedOver = linesA.Where(l => l.Contains("[chat] connected over ", StringComparison.Ordinal)).ToList();
            string PathOf(string line) => Regex.Match(line, @"connected over (\w+) .* -> (\w+) ") is { Success: true } m
                ? $"{m.Groups[1].Value} -> {m.Groups[2].Value}{(line.Contains("(TCP", StringComparison.Ordinal) ? " (tcp)" : "")}" : line;
            string first = connectedOver.Count > 0 ? PathOf(connectedOver[0]) : "", last = connectedOver.Count > 0 ? PathOf(connectedOver[^1]) : "";
            double toDirect = connectedOver.Count > 1 ? (StampOf(connectedOver[^1]) - StampOf(connectedOver[0])).TotalMilliseconds : 0;
            static int? Number(IEnumerable<string> lines, string pattern) =>
                lines.Select(l => Regex.Match(l, pattern)).FirstOrDefault(m => m.Success) is { } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
            var both = linesA.Concat(ReadShared(logB)).ToArray();
            // probes: the easy side's line; sockets: the hard side's (the easy side opens none, and says so)
            int? probes = Number(both, @"port prediction \(.*; (\d+) probes sent");
            int? sockets = both.Select(l => Regex.Match(l, @"port prediction \(.*?(\d+) extra sockets opened")).Where(m => m.Success)
                .Select(m => (int?)int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Max();

            // lines cross both ways on the pair the session ended on
            await a.WriteLineAsync("after prediction from a");
            await b.WaitForLineAsync(l => l == "Received: after prediction from a", Wait);
            await b.WriteLineAsync("after prediction from b");
            await a.WaitForLineAsync(l => l == "Received: after prediction from b", Wait);
            a.CloseStdin();
            await a.WaitForExitAsync(Wait);
            return new PredictionTry(true, first, last, connectMs, toDirect, probes, sockets, "");
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            output.WriteLine(a.Transcript);
            output.WriteLine(b.Transcript);
            KeepLogs(room, logA, logB);
            return new PredictionTry(false, "", "", 0, 0, null, null, e.Message.Split('\n')[0]);
        }
    }

    /// <summary>A log file p2p still writes to, read without disturbing it.</summary>
    private static string[] ReadShared(string path)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    /// <summary>The time of a Serilog file line ("2026-12-07 01:31:40.344 +00:00 [INF] ...").</summary>
    private static DateTimeOffset StampOf(string line) =>
        DateTimeOffset.ParseExact(line[..30], "yyyy-MM-dd HH:mm:ss.fff zzz", CultureInfo.InvariantCulture);

    private static string PredictionReport(List<(string A, string B, bool Direct, PredictionTry Off, List<PredictionTry> Tries)> results, int tries)
    {
        static string Median(IEnumerable<double> values)
        {
            var sorted = values.OrderBy(v => v).ToList();
            return sorted.Count == 0 ? "-" : sorted[sorted.Count / 2].ToString("0", CultureInfo.InvariantCulture);
        }
        var md = new StringBuilder();
        md.AppendLine("## Port prediction (hard NATs)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Written by `NatLabMatrixTests` on {DateTime.UtcNow:yyyy-MM-dd}, {tries} tries per cell: two `p2p` chats through `p2p signal`, coturn for STUN");
        md.AppendLine("(RFC 5780) and TURN, `p2p.ice.port-prediction` on (the default). Without prediction: one more try with it off on both");
        md.AppendLine("sides (`P2P__ICE__PORT_PREDICTION=off`), what ICE alone finds. Connect: the later of the two peers' connect times.");
        md.AppendLine("Added: from the first selection to the direct one in A's log (background discovery, then the prediction). Probes: the");
        md.AppendLine("easy side's Binding requests; sockets: the hard side's extra sockets (medians over the direct tries).");
        md.AppendLine();
        md.AppendLine("| A | B | without prediction | with prediction | direct | connect (ms) | added (ms) | probes | sockets |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (natA, natB, _, off, cell) in results)
        {
            var direct = cell.Where(t => t.Direct).ToList();
            string path = direct.Count > 0 ? direct[0].LastPath : cell.FirstOrDefault(t => t.Connected)?.LastPath ?? "not connected";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {natA} | {natB} | {(off.Connected ? off.LastPath : "not connected")} | {path} | {direct.Count}/{cell.Count} | {Median(cell.Where(t => t.Connected).Select(t => t.ConnectMs))} | {Median(direct.Select(t => t.ToDirectMs))} | {Median(direct.Where(t => t.Probes is not null).Select(t => (double)t.Probes!))} | {Median(direct.Where(t => t.Sockets is not null).Select(t => (double)t.Sockets!))} |");
        }
        return md.ToString();
    }
}
