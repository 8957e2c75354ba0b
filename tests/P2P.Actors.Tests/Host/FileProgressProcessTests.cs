using System.Text.RegularExpressions;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// G4's progress of a file transfer as users of a real <c>p2p</c> see it when its output is not a terminal (a pipe, as
/// here): plain lines on stderr with the percentage, the rate and the ETA, not a hand-drawn bar. Progress events come
/// with every chunk (<c>p2p.chat.progress-interval = 0</c>), and the lines still come at most one a second per transfer.
/// </summary>
public sealed class FileProgressProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly Regex ProgressLine = new(@"^file (\S+): (\d{1,3})% \(\d+(\.\d)? (B|KiB|MiB) of \d+(\.\d)? (B|KiB|MiB)\), \d+(\.\d)? (KiB|MiB)/s, ETA \d\d:\d\d:\d\d$");

    [Fact]
    public async Task A_file_sent_in_the_ice_chat_shows_plain_progress_lines_with_percent_rate_and_eta()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-progress-");
        try
        {
            var config = Path.Combine(folder.FullName, "progress.hocon");
            await File.WriteAllTextAsync(config, "p2p.chat.progress-interval = 0ms\n");
            var source = Path.Combine(folder.FullName, "big.bin");
            await File.WriteAllBytesAsync(source, System.Security.Cryptography.RandomNumberGenerator.GetBytes(16 * 1024 * 1024));
            var downloads = Directory.CreateDirectory(Path.Combine(folder.FullName, "downloads")).FullName;
            string[] loopback = ["--stun", "none", "--local-address", "127.0.0.1", "--config", config];
            await using var server = P2pProcess.Start(["-s", "--download-dir", downloads, .. loopback]);
            await using var client = P2pProcess.Start(loopback);
            try
            {
                var blockServer = await server.ReadLocalDescriptionAsync(Wait);
                var blockClient = await client.ReadLocalDescriptionAsync(Wait);
                await server.WriteRemoteDescriptionAsync(blockClient);
                await client.WriteRemoteDescriptionAsync(blockServer);
                await server.WaitForLineAsync(l => l == "Connected", Wait);
                await client.WaitForLineAsync(l => l == "Connected", Wait);

                await client.WriteLineAsync("/send " + source);
                var offer = await server.WaitForLineAsync(l => l.StartsWith("the peer offers 'big.bin'", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                var id = Regex.Match(offer, @"/accept (\S+)").Groups[1].Value;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await server.WriteLineAsync($"/accept {id}");
                var progress = await server.WaitForLineAsync(l => ProgressLine.Match(l) is { Success: true } m && m.Groups[1].Value == id, Wait, NicePeerStream.Stderr);
                output.WriteLine(progress);
                await server.WaitForLineAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                double seconds = clock.Elapsed.TotalSeconds;
                // each of its 1,024 chunks reported progress, yet the lines came at most one a second (the first at once)
                var lines = server.Transcript.Split('\n').Count(l => l.StartsWith($"err| file {id}: ", StringComparison.Ordinal) && l.Contains("% (", StringComparison.Ordinal));
                output.WriteLine($"{lines} progress lines in {seconds:0.0} s");
                Assert.InRange(lines, 1, 2 + (int)seconds); // the first, one a second, and the one at 100 %
                Assert.DoesNotContain("[#", server.Transcript); // not the old hand-made bar
            }
            finally
            {
                output.WriteLine(server.Transcript);
                output.WriteLine(client.Transcript);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
