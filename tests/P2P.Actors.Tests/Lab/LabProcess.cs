using System.Diagnostics;
using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Lab;

/// <summary>A helper program of the lab (the plain-TCP baseline, tests/lab/tcp-rate.pl) run inside a lab namespace, read line by line.</summary>
public sealed class LabProcess : InteractiveProcess
{
    private LabProcess(Process process, IReadOnlyList<string> arguments) : base("lab", process, arguments) { }

    public static LabProcess Start(string launcher, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(launcher);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return new LabProcess(Launch(info), [launcher, .. arguments]);
    }
}
