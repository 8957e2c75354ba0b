using System.Diagnostics;
using Xunit;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// <see cref="InteractiveProcess"/> stamps each line when its reader thread takes it from the pipe, so that the NAT
/// lab's connect time is the time between two prints and not between the test reading them.
/// </summary>
public sealed class InteractiveProcessTests
{
    private sealed class Shell : InteractiveProcess
    {
        private Shell(Process process, IReadOnlyList<string> arguments) : base("bash", process, arguments) { }

        public static Shell Start(string script)
        {
            var info = new ProcessStartInfo("bash");
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(script);
            return new Shell(Launch(info), ["-c", script]);
        }
    }

    [Fact]
    public async Task A_line_is_stamped_when_it_leaves_the_pipe_not_when_the_test_consumes_it()
    {
        // "first" is printed, then the shell waits for a line on stdin before printing "second"
        await using var shell = Shell.Start("echo first; read -r line; echo second");
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!shell.Transcript.Contains("out| first", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until, "'first' never came: " + shell.Transcript);
            await Task.Delay(10);
        }

        // the reader took "first" from the pipe before this moment; the test consumes it only after
        long beforeConsuming = Stopwatch.GetTimestamp();
        await shell.WriteLineAsync("go");
        var first = await shell.WaitForStampedLineAsync(l => l == "first", TimeSpan.FromSeconds(30));
        var second = await shell.WaitForStampedLineAsync(l => l == "second", TimeSpan.FromSeconds(30));

        Assert.True(first.ReadAt < beforeConsuming, "'first' is stamped when the test consumed it, not when it was read from the pipe");
        Assert.True(second.ReadAt > beforeConsuming, "'second' was printed only after the test wrote to stdin, so its stamp is later");
        Assert.Equal(0, await shell.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
