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
}
