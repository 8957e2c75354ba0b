using Akka.Actor;
using System.Net.Sockets;
using System.Text;
using Akka.Event;
using P2P.Actors.Relay;
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
        int lines = 0;
        while (warnings.HasMessages)
        {
            var warning = warnings.ExpectMsg<Warning>();
            _output.WriteLine(warning.Message.ToString());
            if (warning.Message.ToString()!.Contains("neither STUN nor ChannelData", StringComparison.Ordinal)) lines++;
        }
        Assert.InRange(lines, 1, 3);
    }
}
