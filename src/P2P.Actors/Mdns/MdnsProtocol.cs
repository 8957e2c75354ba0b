using System.Net;
using Akka.Actor;
using P2P.Protocol.Dns;

namespace P2P.Actors.Mdns;

/// <summary>The messages of <see cref="MdnsResponder"/>.</summary>
public static class MdnsProtocol
{
    /// <summary>Resolve a ".local" name; the sender hears <see cref="Resolved"/> or, after the timeout, <see cref="Unresolved"/>.</summary>
    public sealed record Resolve(string Name);

    /// <summary>The addresses the name's owner answered with (one answer packet's A and AAAA records for it).</summary>
    public sealed record Resolved(string Name, IReadOnlyList<IPAddress> Addresses);

    /// <summary>No answer within <c>p2p.ice.mdns-resolve-timeout</c> (or mDNS could not be used at all: the reason says).</summary>
    public sealed record Unresolved(string Name, string Reason);

    /// <summary>Answer queries for these names, for as long as the sender lives (it is watched) or until <see cref="Unpublish"/>.</summary>
    public sealed record Publish(IReadOnlyList<DnsAddressRecord> Records);

    /// <summary>Stop answering for these names.</summary>
    public sealed record Unpublish(IReadOnlyList<string> Names);

    /// <summary>A datagram from one of the sockets (<see cref="IMdnsSockets"/>): an owned copy, and where it came from.</summary>
    public sealed record DatagramReceived(byte[] Datagram, IPEndPoint From);

    public sealed record GetStats
    {
        public static readonly GetStats Instance = new();
    }

    /// <summary>Counters since start: queries sent, names resolved and not, answers sent, bad packets, names published now.</summary>
    public sealed record Stats(long QueriesSent, long Resolved, long Unresolved, long AnswersSent, long BadPackets, int Published);
}
