namespace P2P.Host.Chat;

/// <summary>
/// <c>p2p --no-ice</c>: direct TCP chat, on the wire exactly as the original program (FEATURES.md, "The original
/// on the wire"); <c>--secure</c> adds TLS 1.3 between two p2p programs.
/// </summary>
public static class NoIceChat
{
    /// <summary>Runs the chat until the user ends input or the peer closes; returns the process exit code.</summary>
    /// <param name="input">Lines the user types.</param>
    /// <param name="output">What the user reads: "Received: text" lines.</param>
    /// <param name="status">Status and errors ("Listening on ...", "Connected", "Connection closed by peer").</param>
    public static Task<int> RunAsync(ChatOptions options, TextReader input, TextWriter output, TextWriter status, CancellationToken cancel) =>
        throw new NotImplementedException("--no-ice is being written (issue 5)");
}
