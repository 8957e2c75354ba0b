using System.Diagnostics;
using System.Text.RegularExpressions;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Fleet;

/// <summary>
/// A node's loss ends its allocations, and the ICE sessions that used them restart onto another node's relay: two
/// <c>p2p relay</c> processes on 127.0.0.1 (ports picked at run time), a <c>p2p signal</c> handing out both with TURN REST
/// credentials, two relay-only chats allocated on both; the relay under the first chat's selected candidate is killed
/// (kill -9), and a line typed after the kill arrives over the other relay.
/// </summary>
[Trait("Category", "Fleet")]
public sealed class RelayFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "failover-secret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Regex RelayedPair = new(@"connected over relay 127\.0\.0\.1:(\d+) -> relay 127\.0\.0\.1:(\d+)", RegexOptions.Compiled);
    private readonly string _logs = Directory.CreateTempSubdirectory("p2p-failover-").FullName;
    private readonly List<IAsyncDisposable> _processes = [];
    private readonly List<Func<string>> _transcripts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var transcript in _transcripts) output.WriteLine(transcript());
        foreach (var log in Directory.GetFiles(_logs)) output.WriteLine($"--- {Path.GetFileName(log)}\n{await File.ReadAllTextAsync(log)}");
        foreach (var process in _processes) await process.DisposeAsync();
        Directory.Delete(_logs, recursive: true);
    }

    private async Task<RelayProcess> Relay()
    {
        var relay = await RelayProcess.Start("--auth-secret", Secret, "--allow-loopback");
        _processes.Add(relay);
        _transcripts.Add(() => $"--- relay {relay.UdpPort}\n{relay.Output}");
        return relay;
    }

    private P2pProcess Start(string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var process = P2pProcess.Start(arguments, environment: environment);
        _processes.Add(process);
        _transcripts.Add(() => process.Transcript);
        return process;
    }

    /// <summary>The relayed pairs the chat logged as selected ("connected over relay L -> relay R"), in order.</summary>
    private async Task<List<(int Local, int Remote)>> Pairs(string log) =>
        RelayedPair.Matches(await ReadShared(log)).Select(m => (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value))).ToList();

    /// <summary>The relayed pairs of <paramref name="log"/> once it holds at least <paramref name="count"/> (the log is written as the chat goes).</summary>
    private async Task<List<(int Local, int Remote)>> AwaitPairs(string log, int count)
    {
        var until = DateTime.UtcNow + Wait;
        while (true)
        {
            var pairs = await Pairs(log);
            if (pairs.Count >= count || DateTime.UtcNow > until) return pairs;
            await Task.Delay(50);
        }
    }

    private static async Task<string> ReadShared(string path)
    {
        if (!File.Exists(path)) return string.Empty;
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return await new StreamReader(stream).ReadToEndAsync();
    }

    [Fact]
    public async Task A_relay_only_chat_whose_relay_is_killed_goes_on_over_the_other_relay_both_peers_hold()
    {
        var one = await Relay();
        var two = await Relay();
        var signal = Start(["signal", "--listen", "127.0.0.1:0", "--auth-secret", Secret,
            "--turn-url", $"turn:127.0.0.1:{one.UdpPort}?transport=udp", "--turn-url", $"turn:127.0.0.1:{two.UdpPort}?transport=udp"]);
        var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ws://127.0.0.1:", StringComparison.Ordinal), Wait);
        string url = listening["signal listening on ".Length..].Trim();
        // consent lost after 8 s instead of RFC 7675's 30 s, so the test stays well under a minute (the chats only)
        var quickConsent = new Dictionary<string, string> { ["P2P__ICE__CONSENT_TIMEOUT"] = "8s" };
        string aliceLog = Path.Combine(_logs, "alice.log"), bobLog = Path.Combine(_logs, "bob.log");
        string[] chat = ["--signal", url, "--room", "failover", "--relay-only", "--stun", "none", "--local-address", "127.0.0.1", "-v"];
        var alice = Start([.. chat, "--log", aliceLog], quickConsent);
        await alice.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        var bob = Start([.. chat, "--log", bobLog], quickConsent);
        foreach (var side in new[] { alice, bob })
            Assert.Contains("relay", await side.WaitForLineAsync(l => l.StartsWith("Connected over", StringComparison.Ordinal), Wait, NicePeerStream.Stderr));
        await alice.WriteLineAsync("before the kill");
        await bob.WaitForLineAsync(l => l == "Received: before the kill", Wait);
        // both peers hold an allocation on each relay
        foreach (var relay in new[] { one, two })
            Assert.Equal(2, Regex.Matches(relay.Output, @"Allocation .* relays on 127\.0\.0\.1:\d+").Count);

        var (selected, _) = Assert.Single(await AwaitPairs(aliceLog, 1));
        var (dead, live) = one.Output.Contains($"relays on 127.0.0.1:{selected}", StringComparison.Ordinal) ? (one, two) : (two, one);
        Assert.Contains($"relays on 127.0.0.1:{selected}", dead.Output);
        dead.Process.Kill(); // SIGKILL: the relay's allocations end with it, no Refresh is ever answered again
        var killed = Stopwatch.StartNew();
        await alice.WriteLineAsync("after the kill");
        await bob.WaitForLineAsync(l => l == "Received: after the kill", TimeSpan.FromSeconds(40));
        output.WriteLine($"the line typed after the kill arrived {killed.Elapsed.TotalSeconds:0.0} s after it");
        await bob.WriteLineAsync("and back");
        await alice.WaitForLineAsync(l => l == "Received: and back", Wait);

        // both sides' new pairs run through the relay still alive, from and to its allocations
        foreach (var log in new[] { aliceLog, bobLog })
        {
            var (local, remote) = (await AwaitPairs(log, 2)).Last();
            Assert.Contains($"relays on 127.0.0.1:{local}", live.Output);
            Assert.Contains($"relays on 127.0.0.1:{remote}", live.Output);
        }
    }
}
