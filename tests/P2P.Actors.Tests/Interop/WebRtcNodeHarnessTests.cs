using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Interop;

/// <summary>
/// The third-party WebRTC harness (tests/interop/webrtc) driven from C#: libwebrtc (@roamhq/wrtc) offers, werift
/// answers, both in ONE loopback-only network namespace (pair.mjs under run-isolated.sh); this test relays the two
/// descriptions and checks that the data channel opens and carries a message each way. The harness is what later
/// interop tests and benchmarks of our own data channels stand on.
/// </summary>
public sealed class WebRtcNodeHarnessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Wrtc_offerer_and_werift_answerer_open_a_channel_and_exchange_a_message_each_way()
    {
        var (offerer, answerer) = await WebRtcNodePeer.StartPairAsync(
            ["--stack", "wrtc", "--role", "offer", "--label", "chat"],
            ["--stack", "werift", "--role", "answer"]);
        await using var _ = offerer;
        await using var __ = answerer;
        try
        {
            var offer = await offerer.RelayDescriptionToAsync(answerer, Step);
            Assert.Equal("offer", offer.GetProperty("sdpType").GetString());
            var answer = await answerer.RelayDescriptionToAsync(offerer, Step);
            Assert.Equal("answer", answer.GetProperty("sdpType").GetString());
            Assert.Contains("127.0.0.1", answer.GetProperty("sdp").GetString());

            var openA = await offerer.ReadAsync("open", Step);
            var openB = await answerer.ReadAsync("open", Step);
            Assert.Equal("chat", openA.GetProperty("label").GetString());
            Assert.Equal("chat", openB.GetProperty("label").GetString());
            Assert.True(openB.GetProperty("ordered").GetBoolean());

            await offerer.WriteAsync(new { type = "send", label = "chat", text = "hello from libwebrtc" });
            var atB = await answerer.ReadAsync("message", Step);
            Assert.Equal("chat", atB.GetProperty("label").GetString());
            Assert.Equal("hello from libwebrtc", atB.GetProperty("text").GetString());

            await answerer.WriteAsync(new { type = "send", label = "chat", text = "hello from werift ✓" });
            var atA = await offerer.ReadAsync("message", Step);
            Assert.Equal("hello from werift ✓", atA.GetProperty("text").GetString());

            await offerer.WriteAsync(new { type = "close" });
            await answerer.WriteAsync(new { type = "close" });
            await offerer.ReadAsync("closed", Step);
            await answerer.ReadAsync("closed", Step);
            var exitA = await offerer.ReadAsync("exit", e => e.GetProperty("type").ValueEquals("exit"), Step);
            Assert.Equal(0, exitA.GetProperty("code").GetInt32());
        }
        finally
        {
            output.WriteLine(offerer.Transcript);
        }
    }
}
