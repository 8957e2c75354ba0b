using System.Net;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Actors.Tests.Ice;

/// <summary>A connection's direct paths (<see cref="ConnectionPath"/>) without the actors: which datagrams they take, and where to.</summary>
public sealed class ConnectionPathTests : TestKit
{
    private static readonly IPEndPoint Remote = new(IPAddress.Parse("203.0.113.9"), 6000);

    /// <summary>Remembers what it was asked to send.</summary>
    private sealed class Socket : IUdpWriter
    {
        public List<(byte[] Datagram, IPEndPoint To)> Sent { get; } = [];

        public bool TrySendTo(ReadOnlySpan<byte> datagram, IPEndPoint to)
        {
            Sent.Add((datagram.ToArray(), to));
            return true;
        }
    }

    private static SelectedPair Pair(CandidateType localType) => new(
        new IceCandidate("1", 1, CandidateTransport.Udp, 1, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5000), localType),
        new IceCandidate("2", 1, CandidateTransport.Udp, 1, Remote, CandidateType.Host), 1, TimeSpan.FromMilliseconds(1));

    [Theory]
    [InlineData(CandidateType.Host, true)]
    [InlineData(CandidateType.ServerReflexive, true)]   // behind a NAT: the same socket, as the LocalPeer sends it
    [InlineData(CandidateType.PeerReflexive, true)]
    [InlineData(CandidateType.Relayed, false)]          // needs its TURN client: through the actors
    public void A_pair_not_relayed_is_written_straight_onto_the_socket_framed_with_the_remotes_tag(CandidateType local, bool direct)
    {
        var socket = new Socket();
        var path = new ConnectionPath(socket, PacketKind.Dtls);
        path.Use(Pair(local), remoteTag: 0xABCD);
        byte[] record = [23, 0xFE, 0xFD, 1];
        Assert.Equal(direct, path.TryWrite(record));
        if (!direct)
        {
            Assert.Empty(socket.Sent);
            return;
        }
        var (sent, to) = Assert.Single(socket.Sent);
        Assert.Equal(Remote, to);
        Assert.True(SessionMux.TryReadTag(sent, out uint tag) && tag == 0xABCD);
        Assert.Equal(record, sent[SessionMux.HeaderLength..]);
        Assert.Equal((4L, 1L), (path.Counts.BytesOut, path.Counts.PacketsOut));
    }

    [Fact]
    public void Without_consent_nothing_is_written_directly_and_only_the_kind_the_layer_above_takes_goes_up()
    {
        var socket = new Socket();
        var path = new ConnectionPath(socket, PacketKind.Dtls);
        path.Use(Pair(CandidateType.Host), remoteTag: null);
        path.Use(null, null); // consent lost
        Assert.False(path.TryWrite([23, 1]));
        Assert.Empty(socket.Sent);

        Assert.False(path.TryReceive([23, 0xFE, 0xFD])); // nothing attached above yet: through the actors
        var upper = CreateTestProbe();
        path.Attach(upper.Ref);
        Assert.False(path.TryReceive([0, 1, 0, 0]));      // STUN is the agent's
        Assert.True(path.TryReceive([23, 0xFE, 0xFD]));
        Assert.Equal([23, 0xFE, 0xFD], upper.ExpectMsg<DatagramProtocol.Received>().Datagram.ToArray());
    }
}
