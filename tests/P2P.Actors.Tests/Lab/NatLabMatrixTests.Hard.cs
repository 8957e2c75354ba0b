using System.Globalization;
using System.Text;
using System.Text.Json;
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
}
