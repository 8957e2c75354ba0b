using Akka.Event;
using Akka.TestKit;

namespace P2P.Actors.Tests.Support;

/// <summary>Counts log events of one level that a probe subscribed to the event stream has received so far.</summary>
public static class LogLines
{
    /// <summary>Takes every message waiting in <paramref name="probe"/>; returns how many are <typeparamref name="T"/> events whose message contains <paramref name="text"/>.</summary>
    public static int Count<T>(TestProbe probe, string text, Action<string>? show = null) where T : LogEvent
    {
        int lines = 0;
        while (probe.HasMessages)
        {
            if (probe.ReceiveOne(TimeSpan.Zero) is not T log) continue;
            var message = log.Message.ToString() ?? string.Empty;
            show?.Invoke(message);
            if (message.Contains(text, StringComparison.Ordinal)) lines++;
        }
        return lines;
    }
}
