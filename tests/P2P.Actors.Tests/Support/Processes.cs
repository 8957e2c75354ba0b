using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace P2P.Actors.Tests.Support;

/// <summary>Runs external programs for tests, always with a timeout, killing them (by their own process) on the way out.</summary>
public static class Processes
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, bool TimedOut)
    {
        public override string ToString() => $"exit {ExitCode}{(TimedOut ? " (timed out)" : "")}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    /// <summary>The relay's entry assembly: the copy built next to the tests, else the host's own output folder.</summary>
    public static string P2pDll
    {
        get
        {
            var here = Path.Combine(AppContext.BaseDirectory, "p2p.dll");
            if (File.Exists(here)) return here;
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<Configuration>/net10.0
            var host = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/P2P.Host/bin", configuration, "net10.0/p2p.dll"));
            if (File.Exists(host)) return host;
            throw new FileNotFoundException("p2p.dll not found next to the tests nor in src/P2P.Host/bin", host);
        }
    }

    public static ProcessStartInfo Dotnet(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return info;
    }

    public static ProcessStartInfo Program(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        return info;
    }

    public static async Task<Result> Run(ProcessStartInfo info, TimeSpan timeout)
    {
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {info.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        bool timedOut = false;
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        return new Result(process.ExitCode, await stdout, await stderr, timedOut);
    }
}
