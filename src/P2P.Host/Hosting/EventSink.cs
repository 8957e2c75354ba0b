using System.Threading.Channels;
using Akka.Actor;

namespace P2P.Host.Hosting;

/// <summary>Hands every message it gets to a channel, so the console (the edge) can await the engine's events in order.</summary>
public sealed class EventSink : ReceiveActor
{
    public EventSink(ChannelWriter<object> writer) => ReceiveAny(m => writer.TryWrite(m));

    public static Props Props(ChannelWriter<object> writer) => Akka.Actor.Props.Create(() => new EventSink(writer));
}
