using Akka.Actor;
using System.Net.Sockets;
using System.Text;
using Akka.Event;
using P2P.Actors.Relay;
using P2P.Actors.Supervision;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>Bad input is counted one by one, but logged rate-limited: an attacker must not be able to fill the log.</summary>
public sealed class RelayLogFloodTests : RelayTestBase
{
    private readonly ITestOutputHelper _output;

    public RelayLogFloodTests(ITestOutputHelper output) : base(output)
    {
        _output = output;
    }

    [Fact]
    public async Task Garbage_tcp_connections_are_all_counted_but_logged_at_most_log_burst_times()
    {
        const int connections = 60;
        var relay = await StartRelay(Settings with { LogBurst = 3, LogInterval = TimeSpan.FromHours(1) });
        var warnings = CreateTestProbe();
        Sys.EventStream.Subscribe(warnings.Ref, typeof(Warning));

        for (int i = 0; i < connections; i++)
        {
            using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await raw.ConnectAsync(relay.Tcp);
            await raw.SendAsync(Encoding.ASCII.GetBytes("\xff\xff\xff\xff garbage"), SocketFlags.None);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal(0, await raw.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token)); // closed by the server
        }

        await Eventually(async () => (await Stats(relay)).TcpUnframeable == connections,
            because: $"{connections} garbage connections should be counted");
        Assert.InRange(LogLines.Count<Warning>(warnings, "neither STUN nor ChannelData", _output.WriteLine), 1, 3);
    }

    [Fact]
    public async Task Failed_authentications_are_all_counted_but_logged_at_most_log_burst_times()
    {
        const int attempts = 40;
        var relay = await StartRelay(Settings with { LogBurst = 3, LogInterval = TimeSpan.FromHours(1) });
        var infos = CreateTestProbe();
        Sys.EventStream.Subscribe(infos.Ref, typeof(Info));
        await using var guesser = TurnTestClient.Udp(relay.Udp, "alice", "not her password");
        for (int i = 0; i < attempts; i++)
            Assert.Equal(401, (await guesser.Allocate()).ErrorCode);

        Assert.Equal(attempts, (await Stats(relay)).AuthFailures);
        Assert.InRange(LogLines.Count<Info>(infos, "wrong password"), 1, 3);
    }

    [Fact]
    public void The_limit_lets_burst_lines_through_per_interval_and_the_next_line_says_how_many_were_left_out()
    {
        var limit = new LogRateLimit(burst: 2, interval: TimeSpan.FromMinutes(1));
        var t0 = DateTimeOffset.UnixEpoch;
        Assert.True(limit.TryLog(t0, out long leftOut));
        Assert.Equal(0, leftOut);
        Assert.True(limit.TryLog(t0.AddSeconds(1), out _));
        for (int i = 0; i < 5; i++) Assert.False(limit.TryLog(t0.AddSeconds(2 + i), out _));
        Assert.True(limit.TryLog(t0.AddSeconds(61), out leftOut)); // a new interval
        Assert.Equal(5, leftOut);
        Assert.Equal(" (5 more like it were not logged)", LogRateLimit.LeftOutNote(leftOut));
        Assert.True(limit.TryLog(t0.AddSeconds(62), out leftOut));
        Assert.Equal(0, leftOut);
        Assert.Equal(string.Empty, LogRateLimit.LeftOutNote(0));
    }
}
