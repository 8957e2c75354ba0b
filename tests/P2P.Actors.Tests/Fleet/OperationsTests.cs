using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Actor;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Signaling;
using P2P.Actors.Tests.Support;
using P2P.Host.Operations;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Fleet;

/// <summary>
/// A node's operations endpoint (<c>--metrics</c>): real <c>p2p relay</c> and <c>p2p signal</c> processes answer /health,
/// /cluster and /metrics (Prometheus text, from OpenTelemetry) with the numbers of what they just did.
/// </summary>
[Trait("Category", "Fleet")]
public sealed class OperationsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string _config = WriteConfig();

    /// <summary>Counters read often, so that the test does not wait the default 5 s.</summary>
    private static string WriteConfig()
    {
        var path = Path.Combine(Path.GetTempPath(), $"p2p-operations-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "p2p.operations.stats-interval = 200ms\n");
        return path;
    }

    public void Dispose() => File.Delete(_config);

    private static Uri OperationsUrl(string output)
    {
        var match = Regex.Match(output, @"^operations on (http://127\.0\.0\.1:\d+/) \(/health, /cluster, /metrics\)", RegexOptions.Multiline);
        Assert.True(match.Success, $"no 'operations on' line in:\n{output}");
        return new Uri(match.Groups[1].Value);
    }

    /// <summary>The value of the sample <paramref name="name"/> whose labels contain <paramref name="label"/>; null when there is none.</summary>
    private static double? Sample(string metrics, string name, string label = "")
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal) && !line.StartsWith(name + " ", StringComparison.Ordinal)) continue;
            if (label.Length > 0 && !line.Contains(label, StringComparison.Ordinal)) continue;
            // name{labels} value [timestamp]; our labels hold no spaces
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>Scrapes /metrics until <paramref name="holds"/> (the counters are read every 200 ms here); returns the last scrape.</summary>
    private static async Task<string> ScrapeUntil(Uri url, Func<string, bool> holds)
    {
        var deadline = DateTime.UtcNow + Wait;
        string metrics;
        do
        {
            // a scrape may meet the exporter's collection of the previous one: any answer but 200 is asked again
            using var response = await Http.GetAsync(new Uri(url, "metrics"));
            metrics = $"HTTP {(int)response.StatusCode}\n" + await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode && holds(metrics)) return metrics;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"the metrics did not reach the expected numbers:\n{metrics}");
        return metrics;
    }

    [Fact]
    public async Task A_relay_answers_health_cluster_and_metrics_with_its_allocations_users_refusals_and_relayed_packets()
    {
        const string secret = "ops-secret";
        await using var relay = await RelayProcess.Start("--auth-secret", secret, "--allow-loopback", "--metrics", "127.0.0.1:0", "--config", _config);
        var deadline = DateTime.UtcNow + Wait;
        while (!relay.Output.Contains("operations on ", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(50);
        var url = OperationsUrl(relay.Output);

        var health = await Http.GetAsync(new Uri(url, "health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using (var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()))
        {
            Assert.True(body.RootElement.GetProperty("healthy").GetBoolean());
            Assert.Equal("relay", body.RootElement.GetProperty("role").GetString());
        }
        using (var cluster = JsonDocument.Parse(await Http.GetStringAsync(new Uri(url, "cluster"))))
        {
            Assert.Equal("relay", cluster.RootElement.GetProperty("role").GetString());
            Assert.False(cluster.RootElement.GetProperty("cluster").GetBoolean());
            var member = Assert.Single(cluster.RootElement.GetProperty("members").EnumerateArray());
            Assert.Equal("Up", member.GetProperty("status").GetString());
            Assert.Empty(cluster.RootElement.GetProperty("unreachable").EnumerateArray());
        }

        var server = new IPEndPoint(IPAddress.Loopback, relay.UdpPort);
        var (user, password) = TurnRestCredentials.Mint(Encoding.UTF8.GetBytes(secret), "ops", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds());
        await using var client = TurnTestClient.Udp(server, user, password);
        Assert.True((await client.Allocate()).IsSuccess);
        var (late, latePassword) = TurnRestCredentials.Mint(Encoding.UTF8.GetBytes(secret), "late", DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds());
        await using var expired = TurnTestClient.Udp(server, late, latePassword);
        Assert.Equal(401, (await expired.Allocate()).ErrorCode);

        var metrics = await ScrapeUntil(url, m => Sample(m, "p2p_relay_allocations") == 1 && Sample(m, "p2p_relay_credentials_expired_total") == 1);
        Assert.Equal(1, Sample(metrics, "p2p_relay_users"));
        Assert.Equal(1, Sample(metrics, "p2p_relay_auth_failures_total"));
        Assert.True(Sample(metrics, "p2p_relay_refused_total", "code=\"401\"") >= 3, metrics); // two challenges and the refusal
        Assert.Equal(0, Sample(metrics, "p2p_relay_faults_total"));

        // coturn's client relays 100 datagrams each way through two allocations of its own
        await TurnutilsUclient.RunAsync(relay.UdpPort, ["-u", "uclient", "-W", secret], ["-c"], output.WriteLine);
        metrics = await ScrapeUntil(url, m => Sample(m, "p2p_relay_packets_total") > 0);
        output.WriteLine(metrics);
        Assert.InRange(Sample(metrics, "p2p_relay_packets_total")!.Value, 1, 400);
    }

    [Fact]
    public async Task A_signaling_server_answers_health_cluster_and_metrics_with_its_rooms_connections_joins_and_messages()
    {
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--config", _config);
        var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ws://127.0.0.1:", StringComparison.Ordinal), Wait);
        var ops = await signal.WaitForLineAsync(l => l.StartsWith("operations on ", StringComparison.Ordinal), Wait);
        var url = OperationsUrl(ops);
        var ws = new Uri(listening["signal listening on ".Length..].Trim());
        try
        {

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri(url, "health"))).StatusCode);
        using (var cluster = JsonDocument.Parse(await Http.GetStringAsync(new Uri(url, "cluster"))))
        {
            Assert.Equal("signal", cluster.RootElement.GetProperty("role").GetString());
            Assert.True(cluster.RootElement.GetProperty("cluster").GetBoolean()); // its rooms' one-node cluster
            var self = cluster.RootElement.GetProperty("self").GetString();
            Assert.StartsWith("akka.tcp://p2p@127.0.0.1:", self);
            var member = Assert.Single(cluster.RootElement.GetProperty("members").EnumerateArray());
            Assert.Equal(self, member.GetProperty("address").GetString());
            Assert.Equal("Up", member.GetProperty("status").GetString());
        }

        var (alice, _) = await SignalTestSocket.JoinAsync(ws, "ops-room", "alice");
        var (bob, _) = await SignalTestSocket.JoinAsync(ws, "ops-room", "bob");
        await using (alice)
        await using (bob)
        {
            await alice.ExpectAsync("peer-joined");
            await bob.ExpectAsync("peer-joined");
            await alice.SendAsync(new { type = "candidate", candidate = "1 1 UDP 2130706431 127.0.0.1 5000 typ host" });
            await bob.ExpectAsync("candidate");
            await bob.SendTextAsync("not json");
            await bob.ExpectAsync("error");
            var metrics = await ScrapeUntil(url, m => Sample(m, "p2p_signal_joins_total") == 2 && Sample(m, "p2p_signal_bad_messages_total") == 1);
            output.WriteLine(metrics);
            Assert.Equal(1, Sample(metrics, "p2p_signal_rooms"));
            Assert.Equal(2, Sample(metrics, "p2p_signal_connections"));
            Assert.Equal(1, Sample(metrics, "p2p_signal_messages_relayed_total"));
        }
        await ScrapeUntil(url, m => Sample(m, "p2p_signal_connections") == 0 && Sample(m, "p2p_signal_rooms") == 0);
        }
        finally
        {
            output.WriteLine(signal.Transcript);
        }
    }

    [Fact]
    public async Task Health_says_503_once_the_node_shuts_down()
    {
        using var system = ActorSystem.Create("ops-health");
        var status = new NodeStatus(system, "relay");
        Assert.True(status.Healthy(out var serving));
        Assert.Equal("serving", serving);
        await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
        var body = status.HealthJson(out bool healthy);
        Assert.False(healthy);
        Assert.Equal("""{"status":"shutting down","role":"relay","healthy":false}""", Encoding.UTF8.GetString(body));
    }
}
