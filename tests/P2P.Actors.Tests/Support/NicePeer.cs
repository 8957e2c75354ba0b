using System.Diagnostics;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// The libnice stand-in for the original C program (<c>tests/interop/nice-peer</c>) as a running process
/// (<see cref="InteractiveProcess"/>). <see cref="StartAsync"/> builds it first (once per test run, through
/// <c>build.sh</c>).
/// </summary>
public sealed class NicePeer : InteractiveProcess
{
    private static readonly Lazy<Task<string>> Built = new(BuildAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private NicePeer(Process process, IReadOnlyList<string> arguments) : base("nice-peer", process, arguments) { }

    /// <summary>The folder holding P2P.sln, found by walking up from the test assembly's folder.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "P2P.sln")))
                    return dir.FullName;
            throw new InvalidOperationException($"no P2P.sln above {AppContext.BaseDirectory}");
        }
    }

    public static string SourceDirectory => Path.Combine(RepositoryRoot, "tests", "interop", "nice-peer");

    /// <summary>Runs build.sh (once per test run) and returns the path of the built executable.</summary>
    public static Task<string> EnsureBuiltAsync() => Built.Value;

    private static async Task<string> BuildAsync()
    {
        var script = Path.Combine(SourceDirectory, "build.sh");
        var result = await Processes.Run(Processes.Program("bash", script), TimeSpan.FromMinutes(3)).ConfigureAwait(false);
        if (result.TimedOut || result.ExitCode != 0)
            throw new InvalidOperationException($"building nice-peer failed ({script}):\n{result}");
        var executable = Path.Combine(SourceDirectory, "bin", "nice-peer");
        if (!File.Exists(executable))
            throw new InvalidOperationException($"build.sh succeeded but {executable} is missing:\n{result}");
        return executable;
    }

    /// <summary>Builds if needed and starts <c>nice-peer</c> through a launcher, e.g. <c>tests/lab/lab.sh exec a</c>.</summary>
    public static async Task<NicePeer> StartThroughAsync(string launcher, IReadOnlyList<string> launcherArguments, params string[] arguments)
    {
        var executable = await EnsureBuiltAsync().ConfigureAwait(false);
        var info = new ProcessStartInfo(launcher);
        foreach (var a in launcherArguments) info.ArgumentList.Add(a);
        info.ArgumentList.Add(executable);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return new NicePeer(Launch(info), [launcher, .. launcherArguments, "nice-peer", .. arguments]);
    }

    /// <summary>Builds if needed and starts <c>nice-peer</c> with these arguments.</summary>
    public static async Task<NicePeer> StartAsync(params string[] arguments)
    {
        var executable = await EnsureBuiltAsync().ConfigureAwait(false);
        var info = new ProcessStartInfo(executable);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return new NicePeer(Launch(info), arguments);
    }
}
