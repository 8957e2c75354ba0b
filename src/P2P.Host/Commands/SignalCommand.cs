using System.CommandLine;

namespace P2P.Host.Commands;

/// <summary><c>p2p signal</c>: the signaling server (issue 5, being written).</summary>
public static class SignalCommand
{
    public static Command Create() => new("signal", "Run the signaling server (WebSocket, JSON, rooms of two).");
}
