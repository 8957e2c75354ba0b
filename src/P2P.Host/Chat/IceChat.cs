using Akka.Configuration;

namespace P2P.Host.Chat;

/// <summary><c>p2p</c> in ICE mode: one session with one remote peer, descriptions exchanged by hand or through <c>p2p signal</c>.</summary>
public static class IceChat
{
    public static Task<int> RunAsync(ChatOptions options, Config config, bool verbose, TextReader input, TextWriter output, TextWriter status, CancellationToken cancel) =>
        throw new NotImplementedException("ICE mode is being written (issue 5)");
}
