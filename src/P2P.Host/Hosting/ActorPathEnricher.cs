using Serilog.Core;
using Serilog.Events;

namespace P2P.Host.Hosting;

/// <summary>
/// Gives every engine log event its session id and peer name as properties (one story per session id),
/// read from the actor path Akka.Logger.Serilog attaches: <c>.../peer-alice/session-chat/dtls</c> becomes
/// <c>Peer = "alice"</c>, <c>SessionId = "chat"</c>. Filtering a JSON log by SessionId then tells one session's story.
/// </summary>
public sealed class ActorPathEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (!logEvent.Properties.TryGetValue("ActorPath", out var value) || value is not ScalarValue { Value: string path }) return;
        foreach (var segment in path.Split('/'))
        {
            if (segment.StartsWith("session-", StringComparison.Ordinal))
                logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("SessionId", Uri.UnescapeDataString(segment["session-".Length..])));
            else if (segment.StartsWith("peer-", StringComparison.Ordinal))
                logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("Peer", Uri.UnescapeDataString(segment["peer-".Length..])));
        }
    }
}
