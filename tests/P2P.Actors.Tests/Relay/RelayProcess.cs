using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Relay;

/// <summary>`p2p relay` as a real process on 127.0.0.1 port 0; the port is read from its "relay listening" line.</summary>
public sealed class RelayProcess : IAsyncDisposable
{
    private static readonly Regex ListeningLine = new(@"^relay listening on udp 127\.0\.0\.1:(\d+),(?: [\d.]+:\d+,)* tcp 127\.0\.0\.1:(\d+)", RegexOptions.Compiled);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<(int Udp, int Tcp)> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int UdpPort { get; private set; }
    public int TcpPort { get; private set; }
    public string Output { get { lock (_output) return _output.ToString(); } }
    public Process Process => _process;

    private RelayProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException("p2p relay exited before listening"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        var m = ListeningLine.Match(line);
        if (m.Success) _listening.TrySetResult((int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)));
    }

    public static async Task<RelayProcess> Start(params string[] extraArgs)
    {
        var args = new List<string> { Processes.P2pDll, "relay", "--listen", "127.0.0.1:0" };
        args.AddRange(extraArgs);
        var process = Process.Start(Processes.Dotnet([.. args])) ?? throw new InvalidOperationException("cannot start dotnet");
        var relay = new RelayProcess(process);
        try
        {
            var (udp, tcp) = await relay._listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            relay.UdpPort = udp;
            relay.TcpPort = tcp;
            return relay;
        }
        catch (Exception e)
        {
            await relay.DisposeAsync();
            throw new InvalidOperationException($"p2p relay did not start: {e.Message}\n{relay.Output}", e);
        }
    }

    /// <summary>Waits until the relay has printed (stdout or its log on stderr) a line containing <paramref name="text"/>; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (Output.Contains(text, StringComparison.Ordinal)) return true;
            await Task.Delay(20);
        }
        return Output.Contains(text, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _process.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { }
        }
        _process.Dispose();
    }
}
