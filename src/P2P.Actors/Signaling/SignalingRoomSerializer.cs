using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;

namespace P2P.Actors.Signaling;

/// <summary>
/// The wire form of the messages between a signal fleet's connections and rooms on other nodes
/// (<see cref="SignalingRoomProtocol"/>): a join, relay, leave or away from a connection, and a room's answers. Akka's
/// default serializer is JSON through reflection, with type names read from the network; this one writes each field
/// once in a few bytes: strings as UTF-8 with their length, an actor as its serialized path, a signal message as its
/// own JSON (<see cref="SignalMessage.ToUtf8"/>), and reads back only these eight kinds. Bound in akka.hocon
/// (<c>akka.actor.serialization-bindings</c>). It did not change a fleet's CPU per room measurably (bench/run-fleet.sh:
/// 4.2-5.0 ms on three nodes of one 2-core machine against 1.3-1.7 on one node, before and after it).
/// </summary>
public sealed class SignalingRoomSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private const string JoinManifest = "J", RelayManifest = "R", LeaveManifest = "L", AwayManifest = "A",
        AwayNotedManifest = "AN", AcceptedManifest = "JA", RefusedManifest = "JR", DeliverManifest = "D";

    /// <summary>p2p's own serializers take ids from 7100 on (Akka keeps 0-100 for itself).</summary>
    public override int Identifier => 7101;

    public override string Manifest(object o) => o switch
    {
        SignalingRoomProtocol.Join => JoinManifest,
        SignalingRoomProtocol.Relay => RelayManifest,
        SignalingRoomProtocol.Leave => LeaveManifest,
        SignalingRoomProtocol.Away => AwayManifest,
        SignalingRoomProtocol.AwayNoted => AwayNotedManifest,
        SignalingRoomProtocol.JoinAccepted => AcceptedManifest,
        SignalingRoomProtocol.JoinRefused => RefusedManifest,
        SignalingRoomProtocol.Deliver => DeliverManifest,
        _ => throw new ArgumentException($"{nameof(SignalingRoomSerializer)} does not serialize {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj)
    {
        using var buffer = new MemoryStream(64);
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            switch (obj)
            {
                case SignalingRoomProtocol.Join m:
                    w.Write(m.Room); w.Write(m.Name); WriteActor(w, m.Peer); w.Write(m.Rejoin);
                    break;
                case SignalingRoomProtocol.Relay m:
                    w.Write(m.Room); WriteActor(w, m.Peer); WriteMessage(w, m.Message);
                    break;
                case SignalingRoomProtocol.Leave m:
                    w.Write(m.Room); WriteActor(w, m.Peer);
                    break;
                case SignalingRoomProtocol.Away m:
                    w.Write(m.Room); WriteActor(w, m.Peer);
                    break;
                case SignalingRoomProtocol.AwayNoted m:
                    w.Write(m.Room);
                    break;
                case SignalingRoomProtocol.JoinAccepted m:
                    w.Write(m.Room); w.Write(m.Name); w.Write(m.Controlling); w.Write(m.Peers); w.Write(m.Resumed);
                    break;
                case SignalingRoomProtocol.JoinRefused m:
                    w.Write(m.Room); w.Write(m.Reason);
                    break;
                case SignalingRoomProtocol.Deliver m:
                    WriteMessage(w, m.Message);
                    break;
                default:
                    throw new ArgumentException($"{nameof(SignalingRoomSerializer)} does not serialize {obj.GetType()}");
            }
        }
        return buffer.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
        try
        {
            return manifest switch
            {
                JoinManifest => new SignalingRoomProtocol.Join(r.ReadString(), r.ReadString(), ReadActor(r), r.ReadBoolean()),
                RelayManifest => new SignalingRoomProtocol.Relay(r.ReadString(), ReadActor(r), ReadMessage(r)),
                LeaveManifest => new SignalingRoomProtocol.Leave(r.ReadString(), ReadActor(r)),
                AwayManifest => new SignalingRoomProtocol.Away(r.ReadString(), ReadActor(r)),
                AwayNotedManifest => new SignalingRoomProtocol.AwayNoted(r.ReadString()),
                AcceptedManifest => new SignalingRoomProtocol.JoinAccepted(r.ReadString(), r.ReadString(), r.ReadBoolean(), r.ReadInt32(), r.ReadBoolean()),
                RefusedManifest => new SignalingRoomProtocol.JoinRefused(r.ReadString(), r.ReadString()),
                DeliverManifest => new SignalingRoomProtocol.Deliver(ReadMessage(r)),
                _ => throw new SerializationException($"unknown signaling room message '{manifest}'"),
            };
        }
        catch (EndOfStreamException)
        {
            throw new SerializationException($"a signaling room message '{manifest}' of {bytes.Length} bytes ends early");
        }
    }

    private static void WriteActor(BinaryWriter w, IActorRef actor) => w.Write(Serialization.SerializedActorPath(actor));

    private IActorRef ReadActor(BinaryReader r) => system.Provider.ResolveActorRef(r.ReadString());

    private static void WriteMessage(BinaryWriter w, SignalMessage message)
    {
        var utf8 = message.ToUtf8();
        w.Write(utf8.Length);
        w.Write(utf8);
    }

    private static SignalMessage ReadMessage(BinaryReader r)
    {
        int length = r.ReadInt32();
        if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position) throw new SerializationException($"a signal message of {length} bytes does not fit");
        return SignalMessage.TryParse(r.ReadBytes(length), out var message, out var error)
            ? message
            : throw new SerializationException($"a signal message from another node is not valid: {error}");
    }
}
