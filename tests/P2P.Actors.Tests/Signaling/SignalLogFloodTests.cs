using System.Net;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit.Xunit2;
using P2P.Actors.Signaling;
using P2P.Actors.Tests.Support;
using P2P.Host.Signal;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>Bad client messages are answered and counted one by one, but the server's log stays bounded.</summary>
public sealed class SignalLogFloodTests : TestKit
{
    private readonly ITestOutputHelper _output;

    public SignalLogFloodTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output)
    {
        _output = output;
    }

    [Fact]
    public async Task Thousands_of_bad_messages_are_all_counted_and_answered_but_logged_at_most_log_burst_times()
    {
        const int perSocket = 1000;
        var settings = SignalSettings.Default with { LogBurst = 5, LogInterval = TimeSpan.FromHours(1) };
        await using var server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0), settings);
        var warnings = CreateTestProbe();
        Sys.EventStream.Subscribe(warnings.Ref, typeof(Warning));

        // two connections, so that the limit is the server's and not each connection's
        for (int s = 0; s < 2; s++)
        {
            await using var socket = await SignalTestSocket.ConnectAsync(server.Url);
            for (int i = 0; i < perSocket; i++)
            {
                await socket.SendTextAsync("{not json");
                Assert.Equal("error", (await socket.ReceiveAsync())!.Value.GetProperty("type").GetString());
            }
        }

        var stats = await server.Connections.Ask<SignalingConnections.Stats>(new SignalingConnections.GetStats(), TimeSpan.FromSeconds(10));
        Assert.Equal(2 * perSocket, stats.BadMessages);
        int lines = LogLines.Count<Warning>(warnings, "bad message");
        _output.WriteLine($"{lines} warning lines for {stats.BadMessages} bad messages");
        Assert.InRange(lines, 1, 5);
    }
}
