namespace P2P.Host.Direct;

/// <summary>
/// Why <c>p2p --no-ice</c> cannot go on, as the one plain sentence the user reads, and the exit code to leave with
/// (1 for a failure, 2 for a bad option). Thrown during setup only; <see cref="DirectChat"/> prints it.
/// </summary>
public sealed class DirectFailure(string sentence, int exitCode = 1) : Exception(sentence)
{
    public int ExitCode { get; } = exitCode;
}
