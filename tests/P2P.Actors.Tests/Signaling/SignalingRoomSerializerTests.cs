using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using P2P.Actors.Signaling;
using Xunit;

namespace P2P.Actors.Tests.Signaling;

/// <summary>
/// The messages a signal fleet sends between a connection and its room on another node, through
/// <see cref="SignalingRoomSerializer"/>: each comes back equal (its actor resolved again), akka.hocon binds them all to
/// it, and bad bytes are an error, not a wrong message.
/// </summary>
public sealed class SignalingRoomSerializerTests() : TestKit(RepoAkka())
{
    /// <summary>The repository's akka.hocon (its akka section holds the serializers and bindings), as every p2p command loads it.</summary>
    private static Config RepoAkka() =>
        ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "akka.hocon")));

    private IEnumerable<object> Messages(IActorRef peer) =>
    [
        new SignalingRoomProtocol.Join("lunch", "alice", peer),
        new SignalingRoomProtocol.Join("rüm \"q\"", "bob", peer, Rejoin: true),
        new SignalingRoomProtocol.Relay("lunch", peer, SignalMessage.ForCandidate("1 1 udp 2130706431 127.0.0.1 5000 typ host")),
        new SignalingRoomProtocol.Relay("lunch", peer, SignalMessage.EndOfCandidates()),
        new SignalingRoomProtocol.Leave("lunch", peer),
        new SignalingRoomProtocol.Away("lunch", peer),
        new SignalingRoomProtocol.AwayNoted("lunch"),
        new SignalingRoomProtocol.JoinAccepted("lunch", "alice", true, 1),
        new SignalingRoomProtocol.JoinAccepted("lunch", "bob", false, 2, Resumed: true),
        new SignalingRoomProtocol.JoinRefused("lunch", "room lunch is full (2 peers)"),
        new SignalingRoomProtocol.Deliver(SignalMessage.ForDescription("v=0\na=ice-ufrag:x") with { From = "alice" }),
        new SignalingRoomProtocol.Deliver(SignalMessage.PeerJoined("bob")),
    ];

    [Fact]
    public void Every_room_message_comes_back_equal_through_the_serializer_that_akka_hocon_binds_it_to()
    {
        var peer = CreateTestProbe().Ref;
        var serialization = Sys.Serialization;
        foreach (var message in Messages(peer))
        {
            var serializer = serialization.FindSerializerFor(message);
            Assert.IsType<SignalingRoomSerializer>(serializer);
            var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
            var back = serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
            Assert.Equal(message, back);
        }
    }

    [Fact]
    public void A_message_cut_short_or_of_an_unknown_kind_is_a_serialization_error()
    {
        var serializer = new SignalingRoomSerializer((ExtendedActorSystem)Sys);
        var bytes = serializer.ToBinary(new SignalingRoomProtocol.JoinAccepted("lunch", "alice", true, 1));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes[..^3], "JA"));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes, "??"));
        var relay = serializer.ToBinary(new SignalingRoomProtocol.Deliver(SignalMessage.PeerJoined("bob")));
        relay[^1] = (byte)'{'; // the signal message inside is no longer JSON (its closing brace)
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(relay, "D"));
    }
}
