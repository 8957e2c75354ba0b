using System.Net;
using System.Net.Sockets;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// TCP connections to the relay (RFC 8656 §3.1) cost a socket each: one that carries no allocation and says nothing
/// is closed after <c>tcp-idle-timeout</c>, and their number is capped in total and per client address. The timeouts
/// here are configured short; the real ones are in akka.hocon.
/// </summary>
public sealed class RelayTcpConnectionLimitsTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);

    internal static async Task<Socket> Connect(IPEndPoint server, IPAddress? from = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (from is not null) socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(server);
        return socket;
    }

    /// <summary>True when the server closed (or reset) the connection within <paramref name="within"/>; false when it is still open.</summary>
    internal static async Task<bool> ClosedByServer(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            var buffer = new byte[2048];
            while (true)
            {
                if (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) == 0) return true;
            }
        }
        catch (OperationCanceledException) { return false; }
        catch (SocketException) { return true; }
    }

    /// <summary>A Binding request over <paramref name="socket"/> is answered: the connection is open and served.</summary>
    private static async Task<bool> Answers(Socket socket)
    {
        var request = TurnTestClient.Build(StunMethod.Binding, StunClass.Request, TransactionId.NewRandom(), null);
        try
        {
            await socket.SendAsync(request, SocketFlags.None);
            var buffer = new byte[2048];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) >= StunMessage.HeaderLength;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { return false; }
    }

    [Fact]
    public async Task A_silent_tcp_connection_is_closed_after_the_idle_timeout()
    {
        var relay = await StartRelay(Settings with { TcpIdleTimeout = Idle });
        using var silent = await Connect(relay.Tcp);
        using var oneBinding = await Connect(relay.Tcp);
        Assert.True(await Answers(oneBinding));
        Assert.True(await ClosedByServer(silent, TimeSpan.FromSeconds(15)), "a connection that never said anything stayed open");
        Assert.True(await ClosedByServer(oneBinding, TimeSpan.FromSeconds(15)), "a connection that sent one Binding and then nothing stayed open");
    }

    [Fact]
    public async Task A_tcp_connection_that_carries_an_allocation_stays_open_past_the_idle_timeout()
    {
        var relay = await StartRelay(Settings with { TcpIdleTimeout = Idle });
        await using var alice = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        await AllocateOk(alice);
        await Task.Delay(Idle * 4);
        // the same connection, and so the same allocation, still answers
        var refreshed = await alice.Refresh(600);
        Assert.True(refreshed.IsSuccess, refreshed.ToString());
        Assert.Single(await Allocations(relay));

        // once the client deletes its allocation, the connection is an idle one again
        Assert.True((await alice.Refresh(0)).IsSuccess);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(await alice.NextIncoming(TimeSpan.FromSeconds(20))); // null at once when the server closes the connection
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(15), "the connection stayed open after its allocation was deleted");
        await Eventually(async () => (await Allocations(relay)).Count == 0);
    }

    [Fact]
    public async Task Tcp_connections_are_capped_per_client_address_and_in_total()
    {
        var relay = await StartRelay(Settings with { MaxTcpConnectionsPerIp = 3, MaxTcpConnections = 5 });
        var open = new List<Socket>();
        try
        {
            for (int i = 0; i < 3; i++) open.Add(await Connect(relay.Tcp));
            foreach (var socket in open) Assert.True(await Answers(socket));
            using (var fourth = await Connect(relay.Tcp))
                Assert.True(await ClosedByServer(fourth, TimeSpan.FromSeconds(10)), "a fourth connection from 127.0.0.1 was kept");

            // another address is not limited by the first one's cap, but by the total
            var other = IPAddress.Parse("127.0.0.2");
            for (int i = 0; i < 2; i++) open.Add(await Connect(relay.Tcp, other));
            foreach (var socket in open) Assert.True(await Answers(socket));
            using (var sixth = await Connect(relay.Tcp, IPAddress.Parse("127.0.0.3")))
                Assert.True(await ClosedByServer(sixth, TimeSpan.FromSeconds(10)), "a sixth connection was kept past the total of 5");

            // a closed connection frees its place
            open[0].Dispose();
            open.RemoveAt(0);
            await Eventually(async () =>
            {
                using var again = await Connect(relay.Tcp);
                return await Answers(again);
            }, because: "a connection from 127.0.0.1 was still refused after one of its three closed");
            var stats = await Stats(relay);
            Assert.True(stats.TcpRefused >= 2, $"{stats.TcpRefused} refused connections counted");
        }
        finally
        {
            foreach (var socket in open) socket.Dispose();
        }
    }
}
