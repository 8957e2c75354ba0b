using System.Globalization;
using System.Text.RegularExpressions;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// coturn's <c>turnutils_uclient</c> in client-to-client mode against a TURN server on 127.0.0.1, and the totals it prints:
/// the packets it lost and the messages it sent and received through the relays.
/// </summary>
public static class TurnutilsUclient
{
    public sealed record Totals(int Lost, int Sent, int Received, string Text);

    /// <summary>
    /// Runs it with <paramref name="credentials"/> (<c>-u user -w password</c>, or <c>-u user -W secret</c>) and
    /// <paramref name="flags"/> in client-to-client mode (-y): 100 messages each way (-n 100). Fails the test when it
    /// times out or prints no totals.
    /// </summary>
    public static async Task<Totals> RunAsync(int port, IReadOnlyList<string> credentials, IReadOnlyList<string> flags, Action<string> log)
    {
        string[] args =
        [
            .. flags, .. credentials, "-p", port.ToString(CultureInfo.InvariantCulture), "-e", "127.0.0.1", "-X", "-y",
            "-n", "100", "-m", "1", "-l", "120", "-z", "5", "127.0.0.1",
        ];
        var result = await Processes.Run(Processes.Program("turnutils_uclient", args), TimeSpan.FromSeconds(60));
        log($"turnutils_uclient {string.Join(' ', args)}\n{result}");
        Xunit.Assert.False(result.TimedOut, "turnutils_uclient timed out");
        var text = result.Stdout + result.Stderr;
        var lost = Regex.Match(text, @"Total lost packets (\d+) \(");
        var totals = Regex.Match(text, @"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", RegexOptions.Multiline);
        Xunit.Assert.True(lost.Success, "no lost-packet statistics in turnutils_uclient's output");
        Xunit.Assert.True(totals.Success, "no message totals in turnutils_uclient's output");
        return new Totals(int.Parse(lost.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(totals.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(totals.Groups[2].Value, CultureInfo.InvariantCulture), text);
    }
}
