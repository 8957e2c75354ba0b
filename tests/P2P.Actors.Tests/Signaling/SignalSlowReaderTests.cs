using System.Net;
using Akka.TestKit.Xunit2;
using P2P.Actors.Signaling;
using P2P.Host.Signal;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>A peer that never reads cannot make the server queue without bound.</summary>
public sealed class SignalSlowReaderTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    [Fact]
    public async Task A_peer_that_does_not_read_is_dropped_and_the_other_gets_peer_left()
    {
        await using var server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0), SignalSettings.Default with { MaxQueuedMessages = 4 });
        await using var alice = await SignalTestSocket.ConnectWithSmallBufferAsync(server.Url, 8192);
        await alice.JoinAsync("flood", "alice");
        var (bob, _) = await SignalTestSocket.JoinAsync(server.Url, "flood", "bob");
        await using var _ = bob;
        await bob.ExpectAsync("peer-joined");

        // alice reads nothing from here on; bob sends far more than the server's socket buffers hold
        var peerLeft = bob.ExpectAsync("peer-left");
        var big = new string('c', 60_000);
        int sent = 0;
        while (!peerLeft.IsCompleted && sent < 1000)
        {
            await bob.SendAsync(new { type = "candidate", candidate = big });
            sent++;
        }
        Assert.Equal("alice", (await peerLeft).GetProperty("name").GetString());
        Output?.WriteLine($"alice was closed after bob sent {sent} messages");
        Assert.True(sent < 1000, "the server kept queueing for a peer that does not read");
    }
}
