using System.Diagnostics;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// The <c>p2p</c> program as a real process (<c>dotnet p2p.dll ...</c>), driven through its stdin and read
/// from its stdout/stderr (<see cref="InteractiveProcess"/>). Log output stays on the console at warning level
/// unless the test asks for more, so stdout carries what a user sees.
/// </summary>
public sealed class P2pProcess : InteractiveProcess
{
    private P2pProcess(Process process, IReadOnlyList<string> arguments) : base("p2p", process, arguments) { }

    /// <summary>Starts <c>p2p</c> with these arguments, in <paramref name="workingDirectory"/> when given.</summary>
    public static P2pProcess Start(IReadOnlyList<string> arguments, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = Processes.Dotnet([Processes.P2pDll, .. arguments]);
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        if (environment is not null)
            foreach (var (key, value) in environment) info.Environment[key] = value;
        return new P2pProcess(Launch(info), arguments);
    }

    public static P2pProcess Start(params string[] arguments) => Start((IReadOnlyList<string>)arguments);

    /// <summary>
    /// Two chats started with <c>--relay-only</c> (<paramref name="server"/> with <c>-s</c>): checks that each offers only a
    /// relay candidate, hands each the other's description, waits until both are connected over the relay, and sends
    /// <paramref name="up"/> from the client and <paramref name="down"/> back, each seen arriving.
    /// </summary>
    public static async Task ChatThroughRelayAsync(P2pProcess server, P2pProcess client, string up, string down, TimeSpan wait)
    {
        var blockServer = await server.ReadLocalDescriptionAsync(wait);
        var blockClient = await client.ReadLocalDescriptionAsync(wait);
        foreach (var block in new[] { blockServer, blockClient })
        {
            Xunit.Assert.Contains("typ relay", block);
            Xunit.Assert.DoesNotContain("typ host", block);
        }
        await server.WriteRemoteDescriptionAsync(blockClient);
        await client.WriteRemoteDescriptionAsync(blockServer);
        await server.WaitForLineAsync(l => l == "Connected", wait);
        await client.WaitForLineAsync(l => l == "Connected", wait);
        var path = await server.WaitForLineAsync(l => l.StartsWith("Connected over", StringComparison.Ordinal), wait, NicePeerStream.Stderr);
        Xunit.Assert.Contains("relay", path);
        await client.WriteLineAsync(up);
        await server.WaitForLineAsync(l => l == $"Received: {up}", wait);
        await server.WriteLineAsync(down);
        await client.WaitForLineAsync(l => l == $"Received: {down}", wait);
    }

    /// <summary>Starts <c>p2p</c> through a launcher, e.g. <c>tests/lab/lab.sh exec a</c> to run it inside a lab namespace.</summary>
    public static P2pProcess StartThrough(string launcher, IReadOnlyList<string> launcherArguments, IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(launcher);
        if (environment is not null)
            foreach (var (key, value) in environment) info.Environment[key] = value;
        foreach (var a in launcherArguments) info.ArgumentList.Add(a);
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(Processes.P2pDll);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return new P2pProcess(Launch(info), [launcher, .. launcherArguments, "p2p", .. arguments]);
    }
}
