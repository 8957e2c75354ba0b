namespace P2P.Host.Chat;

/// <summary>
/// Why <c>p2p --no-ice</c> cannot go on, as the one plain sentence the user reads, and the exit code to leave with
/// (1 for a failure, 2 for a bad option). Thrown during setup only; <see cref="NoIceChat"/> prints it.
/// </summary>
public sealed class NoIceFailure(string sentence, int exitCode = 1) : Exception(sentence)
{
    public int ExitCode { get; } = exitCode;
}
