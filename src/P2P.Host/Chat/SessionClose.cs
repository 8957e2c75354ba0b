using Akka.Actor;
using P2P.Actors.Sessions;

namespace P2P.Host.Chat;

/// <summary>How a console ends its sessions before it goes ("quit", the end of input, Ctrl+C).</summary>
public static class SessionClose
{
    /// <summary>
    /// Closes <paramref name="sessions"/> and waits, at most <paramref name="limit"/> (<c>p2p.close-timeout</c>), until
    /// each is gone: its close_notify must leave before the process does, so that the other side hears of it at once.
    /// </summary>
    public static async Task CloseAsync(IReadOnlyCollection<IActorRef> sessions, TimeSpan limit)
    {
        if (sessions.Count == 0) return;
        var gone = sessions.Select(s => s.WatchAsync(CancellationToken.None)).ToList();
        foreach (var session in sessions) session.Tell(new SessionProtocol.Close());
        await Task.WhenAny(Task.WhenAll(gone), Task.Delay(limit, CancellationToken.None));
    }
}
