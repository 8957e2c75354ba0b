using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Transport;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Transport;

/// <summary>The ICE-TCP transport on 127.0.0.1 against plain sockets: RFC 4571 frames both ways, passive and active, and idle connections closed.</summary>
public sealed class IceTcpTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly IceTcpSettings Quick = IceTcpSettings.Default with { IdleTimeout = TimeSpan.FromMilliseconds(600) };

    private (IActorRef Tcp, IPEndPoint Passive) Start(IceTcpSettings settings)
    {
        var tcp = Sys.ActorOf(IceTcp.Props([IPAddress.Loopback], TestActor, settings));
        var listening = ExpectMsg<IceTcpProtocol.Listening>(Wait);
        Assert.Empty(listening.Problems);
        return (tcp, Assert.Single(listening.Passive));
    }

    [Fact]
    public async Task A_passive_candidate_reads_and_writes_framed_datagrams_on_a_connection_the_remote_opened_and_closes_it_when_idle()
    {
        var (tcp, passive) = Start(Quick);
        using var remote = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await remote.ConnectAsync(passive);
        var from = (IPEndPoint)remote.LocalEndPoint!;

        // two datagrams in one write, the second split across two writes
        var one = TcpFraming.Frame("first"u8);
        var two = TcpFraming.Frame("second datagram"u8);
        await remote.SendAsync(one.Concat(two.AsSpan(0, 4).ToArray()).ToArray());
        await Task.Delay(50);
        await remote.SendAsync(two.AsMemory(4));
        var first = ExpectMsg<IceTcpProtocol.Received>(Wait);
        var second = ExpectMsg<IceTcpProtocol.Received>(Wait);
        Assert.Equal("first", Encoding.ASCII.GetString(first.Datagram.Span));
        Assert.Equal("second datagram", Encoding.ASCII.GetString(second.Datagram.Span));
        Assert.Equal(passive, first.Local);
        Assert.Equal(TcpCandidateType.Passive, first.Type);
        Assert.Equal(from, first.From);

        tcp.Tell(new IceTcpProtocol.Send(passive, TcpCandidateType.Passive, from, "answer"u8.ToArray()));
        Assert.Equal("answer", Encoding.ASCII.GetString(await ReadFrameAsync(remote)));

        // nothing more either way: the connection is closed after the idle timeout
        var buffer = new byte[16];
        using var cancel = new CancellationTokenSource(Wait);
        Assert.Equal(0, await remote.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)); // the end of the stream (a FIN)
        tcp.Tell(new IceTcpProtocol.GetStats());
        var stats = ExpectMsg<IceTcpProtocol.Stats>(Wait);
        Assert.Equal(0, stats.Connections);
        Assert.Equal(1, stats.ClosedIdle);
    }

    [Fact]
    public async Task An_active_candidate_opens_the_connection_on_its_first_datagram_and_reuses_it()
    {
        var (tcp, _) = Start(IceTcpSettings.Default);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        var to = (IPEndPoint)listener.LocalEndPoint!;
        var active = new IPEndPoint(IPAddress.Loopback, IceCandidate.ActiveTcpPort);

        tcp.Tell(new IceTcpProtocol.Send(active, TcpCandidateType.Active, to, "check 1"u8.ToArray()));
        tcp.Tell(new IceTcpProtocol.Send(active, TcpCandidateType.Active, to, "check 2"u8.ToArray()));
        using var accepted = await listener.AcceptAsync();
        Assert.Equal("check 1", Encoding.ASCII.GetString(await ReadFrameAsync(accepted)));
        Assert.Equal("check 2", Encoding.ASCII.GetString(await ReadFrameAsync(accepted)));

        await accepted.SendAsync(TcpFraming.Frame("response"u8));
        var received = ExpectMsg<IceTcpProtocol.Received>(Wait);
        Assert.Equal(active, received.Local);
        Assert.Equal(TcpCandidateType.Active, received.Type);
        Assert.Equal(to, received.From);
        Assert.Equal("response", Encoding.ASCII.GetString(received.Datagram.Span));

        // a passive candidate opens nothing: a datagram to a remote that never connected is dropped, and counted
        tcp.Tell(new IceTcpProtocol.Send(new IPEndPoint(IPAddress.Loopback, 1), TcpCandidateType.Passive, to, "nothing"u8.ToArray()));
        tcp.Tell(new IceTcpProtocol.GetStats());
        var stats = ExpectMsg<IceTcpProtocol.Stats>(Wait);
        Assert.Equal(1, stats.Opened);
        Assert.Equal(1, stats.Connections);
        Assert.Equal(1, stats.Dropped);
    }

    [Fact]
    public void Two_simultaneous_open_candidates_sending_to_each_other_at_once_share_one_connection()
    {
        // crossing SYNs or one side's listener first, whichever the kernel saw: either way one connection, both datagrams on it
        for (int round = 0; round < 10; round++)
        {
            var (a, atA, soA) = StartSimultaneousOpen();
            var (b, atB, soB) = StartSimultaneousOpen();
            a.Tell(new IceTcpProtocol.Send(soA, TcpCandidateType.SimultaneousOpen, soB, "from a"u8.ToArray()));
            b.Tell(new IceTcpProtocol.Send(soB, TcpCandidateType.SimultaneousOpen, soA, "from b"u8.ToArray()));
            var gotB = atB.ExpectMsg<IceTcpProtocol.Received>(Wait);
            var gotA = atA.ExpectMsg<IceTcpProtocol.Received>(Wait);
            Assert.Equal((soB, TcpCandidateType.SimultaneousOpen, soA, "from a"), (gotB.Local, gotB.Type, gotB.From, Encoding.ASCII.GetString(gotB.Datagram.Span)));
            Assert.Equal((soA, TcpCandidateType.SimultaneousOpen, soB, "from b"), (gotA.Local, gotA.Type, gotA.From, Encoding.ASCII.GetString(gotA.Datagram.Span)));
            foreach (var (tcp, probe) in new[] { (a, atA), (b, atB) })
            {
                tcp.Tell(new IceTcpProtocol.GetStats(), probe.Ref);
                var stats = probe.ExpectMsg<IceTcpProtocol.Stats>(Wait);
                Assert.Equal(1, stats.Connections);
                Assert.Equal(1, stats.Accepted + stats.Opened);
                Assert.Equal(0, stats.Dropped);
            }
            Sys.Stop(a);
            Sys.Stop(b);
        }
    }

    [Fact]
    public async Task A_simultaneous_open_connect_that_is_refused_is_made_again_from_the_same_port_until_the_remote_listens_and_keeps_its_datagram()
    {
        // TCP hole punching through a NAT that resets an unsolicited SYN: our connects are refused until the remote's
        // own SYN has gone out; no further datagram (a check sent once over TCP) is needed to try again
        var (tcp, _, so) = StartSimultaneousOpen();
        // the remote's port, bound but not yet listening nor connecting: connects to it are refused
        using var remote = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        remote.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var to = (IPEndPoint)remote.LocalEndPoint!;
        tcp.Tell(new IceTcpProtocol.Send(so, TcpCandidateType.SimultaneousOpen, to, "check 1"u8.ToArray()));
        AwaitAssert(() =>
        {
            tcp.Tell(new IceTcpProtocol.GetStats());
            var stats = ExpectMsg<IceTcpProtocol.Stats>(Wait);
            Assert.True(stats.ConnectFailures >= 2, $"{stats.ConnectFailures} refused connects");
            Assert.Equal(1, stats.Connections); // still being opened, the datagram kept
        }, Wait);

        remote.Listen(4);
        using var accepted = await remote.AcceptAsync(new CancellationTokenSource(Wait).Token);
        Assert.Equal(so, accepted.RemoteEndPoint); // from the candidate's own port
        Assert.Equal("check 1", Encoding.ASCII.GetString(await ReadFrameAsync(accepted)));
    }

    [Fact]
    public void A_simultaneous_open_connect_that_stays_refused_gives_up_at_the_connect_timeout_and_the_next_datagram_tries_again()
    {
        var owner = CreateTestProbe();
        var settings = IceTcpSettings.Default with { ConnectTimeout = TimeSpan.FromMilliseconds(700), SimultaneousOpenRetry = TimeSpan.FromMilliseconds(100) };
        var tcp = Sys.ActorOf(IceTcp.Props([IPAddress.Loopback], owner.Ref, settings));
        var so = Assert.Single(owner.ExpectMsg<IceTcpProtocol.Listening>(Wait).SimultaneousOpen);
        using var remote = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        remote.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var to = (IPEndPoint)remote.LocalEndPoint!;
        tcp.Tell(new IceTcpProtocol.Send(so, TcpCandidateType.SimultaneousOpen, to, "check 1"u8.ToArray()));
        long failures = 0;
        AwaitAssert(() =>
        {
            tcp.Tell(new IceTcpProtocol.GetStats());
            var stats = ExpectMsg<IceTcpProtocol.Stats>(Wait);
            Assert.Equal(0, stats.Connections);
            failures = stats.ConnectFailures;
            Assert.True(failures >= 3, $"{failures} refused connects before giving up");
        }, Wait);
        Assert.True(failures <= 8, $"{failures} refused connects within 700 ms at one per 100 ms");

        tcp.Tell(new IceTcpProtocol.Send(so, TcpCandidateType.SimultaneousOpen, to, "check 2"u8.ToArray()));
        AwaitAssert(() =>
        {
            tcp.Tell(new IceTcpProtocol.GetStats());
            Assert.True(ExpectMsg<IceTcpProtocol.Stats>(Wait).ConnectFailures > failures);
        }, Wait);
    }

    private (IActorRef Tcp, Akka.TestKit.TestProbe Owner, IPEndPoint SimultaneousOpen) StartSimultaneousOpen()
    {
        var owner = CreateTestProbe();
        var tcp = Sys.ActorOf(IceTcp.Props([IPAddress.Loopback], owner.Ref, IceTcpSettings.Default));
        var listening = owner.ExpectMsg<IceTcpProtocol.Listening>(Wait);
        Assert.Empty(listening.Problems);
        var so = Assert.Single(listening.SimultaneousOpen);
        Assert.NotEqual(Assert.Single(listening.Passive), so);
        return (tcp, owner, so);
    }

    private static async Task<byte[]> ReadFrameAsync(Socket socket)
    {
        var header = new byte[2];
        await ReadExactlyAsync(socket, header);
        var payload = new byte[BinaryPrimitives.ReadUInt16BigEndian(header)];
        await ReadExactlyAsync(socket, payload);
        return payload;
    }

    private static async Task ReadExactlyAsync(Socket socket, byte[] buffer)
    {
        using var cancel = new CancellationTokenSource(Wait);
        for (int read = 0; read < buffer.Length;)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancel.Token);
            if (n == 0) throw new IOException("closed before the frame was whole");
            read += n;
        }
    }
}
