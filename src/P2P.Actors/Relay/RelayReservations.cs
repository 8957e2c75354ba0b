using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Akka.Actor;

namespace P2P.Actors.Relay;

/// <summary>
/// The live port reservations of a <see cref="RelayServer"/> (RFC 8656 §7.2), owned by that actor alone: a
/// RESERVATION-TOKEN (8 random bytes, RFC 8656 §18.9) names the <see cref="Reservation"/> actor that holds a port. A
/// token is good once: <see cref="TryRedeem"/> takes it out, and the actor's end (<see cref="TryRemove"/>) hands back
/// the port it held, whether it expired, was redeemed or was given up.
/// </summary>
public sealed class RelayReservations
{
    private readonly Dictionary<ulong, IActorRef> _byToken = [];
    private readonly Dictionary<IActorRef, (ulong Token, IPEndPoint Held)> _byActor = [];

    public int Count => _byToken.Count;

    /// <summary>A fresh token, not the same as any live one.</summary>
    public ulong NewToken()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong token;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            token = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        }
        while (_byToken.ContainsKey(token));
        return token;
    }

    public void Add(ulong token, IActorRef holder, IPEndPoint held)
    {
        _byToken[token] = holder;
        _byActor[holder] = (token, held);
    }

    /// <summary>Takes the token out (it cannot be used again); the actor that holds its port, and the port.</summary>
    public bool TryRedeem(ulong token, out IActorRef holder, out IPEndPoint held)
    {
        held = null!;
        if (!_byToken.Remove(token, out holder!)) return false;
        held = _byActor[holder].Held;
        return true;
    }

    /// <summary>The holder <paramref name="actor"/> ended: the port it held (its token, if still there, is gone).</summary>
    public bool TryRemove(IActorRef actor, out IPEndPoint held)
    {
        held = null!;
        if (!_byActor.Remove(actor, out var entry)) return false;
        if (_byToken.TryGetValue(entry.Token, out var holder) && Equals(holder, actor)) _byToken.Remove(entry.Token);
        held = entry.Held;
        return true;
    }
}
