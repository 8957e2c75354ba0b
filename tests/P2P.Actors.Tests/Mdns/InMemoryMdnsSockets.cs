using System.Collections.Concurrent;
using System.Net;
using Akka.Actor;
using P2P.Actors.Mdns;
using P2P.Protocol.Dns;

namespace P2P.Actors.Tests.Mdns;

/// <summary>The responder's sockets in memory: what it sends is kept (parsed) for the test, and the test hands it datagrams.</summary>
public sealed class InMemoryMdnsSockets : IMdnsSockets, IMdnsLink
{
    public enum Way { Query, ToGroups, Unicast }

    public sealed record Sent(Way Way, DnsMessage Message, IPEndPoint? To);

    public ConcurrentQueue<Sent> Outbox { get; } = new();

    public IActorRef? Receiver { get; private set; }

    public int Opened { get; private set; }

    public IMdnsLink Open(IActorRef receiver, out IReadOnlyList<string> problems)
    {
        Receiver = receiver;
        Opened++;
        problems = [];
        return this;
    }

    public void Query(ReadOnlySpan<byte> datagram) => Keep(Way.Query, datagram, null);

    public void AnswerToGroups(ReadOnlySpan<byte> datagram) => Keep(Way.ToGroups, datagram, null);

    public void AnswerTo(ReadOnlySpan<byte> datagram, IPEndPoint to) => Keep(Way.Unicast, datagram, to);

    public void Dispose() { }

    private void Keep(Way way, ReadOnlySpan<byte> datagram, IPEndPoint? to)
    {
        if (!DnsMessage.TryParse(datagram, out var m, out var error)) throw new InvalidOperationException($"the responder sent a bad packet: {error}");
        Outbox.Enqueue(new Sent(way, m, to));
    }
}
