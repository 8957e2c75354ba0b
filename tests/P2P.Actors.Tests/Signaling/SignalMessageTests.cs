using System.Text;
using P2P.Actors.Signaling;
using Xunit;

namespace P2P.Actors.Tests.Signaling;

/// <summary>The JSON of the signaling protocol, exactly.</summary>
public sealed class SignalMessageTests
{
    [Fact]
    public void Server_messages_are_written_with_only_their_fields()
    {
        Assert.Equal("""{"type":"joined","room":"r","controlling":true,"peers":1}""", SignalMessage.Joined("r", true, 1).ToString());
        Assert.Equal("""{"type":"peer-joined","name":"bob"}""", SignalMessage.PeerJoined("bob").ToString());
        Assert.Equal("""{"type":"peer-left","name":"bob"}""", SignalMessage.PeerLeft("bob").ToString());
        Assert.Equal("""{"type":"description","from":"alice","description":"a=ice-ufrag:abcd\n"}""",
            (SignalMessage.ForDescription("a=ice-ufrag:abcd\n") with { From = "alice" }).ToString());
        Assert.Equal("""{"type":"end-of-candidates","from":"alice"}""", (SignalMessage.EndOfCandidates() with { From = "alice" }).ToString());
        Assert.Equal("""{"type":"error","reason":"room r is full (2 peers)"}""", SignalMessage.Error("room r is full (2 peers)").ToString());
        Assert.Equal("{\"type\":\"description\",\"description\":\"a=ice-pwd:ab+/cd\\n\\\"q\\\"\"}", SignalMessage.ForDescription("a=ice-pwd:ab+/cd\n\"q\"").ToString());
    }

    [Fact]
    public void Client_messages_parse_and_round_trip()
    {
        foreach (var message in new[]
                 {
                     SignalMessage.Join("r", "alice"), SignalMessage.ForCandidate("1 1 UDP 1 127.0.0.1 5000 typ host"),
                     SignalMessage.ForDescription("x"), SignalMessage.EndOfCandidates(), SignalMessage.Leave(),
                 })
        {
            Assert.True(SignalMessage.TryParse(message.ToUtf8(), out var parsed, out var error), error);
            Assert.Equal(message, parsed);
        }
    }

    [Fact]
    public void The_fleet_fields_are_written_only_when_set_and_parse_back()
    {
        Assert.Equal("""{"type":"reconnect"}""", SignalMessage.Reconnect().ToString());
        var rejoin = SignalMessage.Join("r", "alice") with { Rejoin = true };
        Assert.Equal("""{"type":"join","room":"r","name":"alice","rejoin":true}""", rejoin.ToString());
        var resumed = SignalMessage.Joined("r", true, 2) with { Resumed = true };
        Assert.Equal("""{"type":"joined","room":"r","controlling":true,"peers":2,"resumed":true}""", resumed.ToString());
        foreach (var message in new[] { SignalMessage.Reconnect(), rejoin, resumed })
        {
            Assert.True(SignalMessage.TryParse(message.ToUtf8(), out var parsed, out var error), error);
            Assert.Equal(message, parsed);
        }
        // a browser's plain join is not a rejoin, whatever else it says
        Assert.True(SignalMessage.TryParse("""{"type":"join","room":"r","name":"a","rejoin":"yes"}"""u8, out var plain, out _));
        Assert.Null(plain.Rejoin);
    }

    [Theory]
    [InlineData("", "not JSON")]
    [InlineData("\"join\"", "not a JSON object")]
    [InlineData("{}", "no \"type\"")]
    [InlineData("{\"type\":7}", "no \"type\"")]
    [InlineData("{\"type\":\"dance\"}", "unknown message type 'dance'")]
    [InlineData("{\"type\":\"join\",\"room\":\"r\"}", "\"name\"")]
    [InlineData("{\"type\":\"join\",\"room\":\"\",\"name\":\"a\"}", "\"room\"")]
    [InlineData("{\"type\":\"candidate\",\"candidate\":5}", "\"candidate\"")]
    public void Bad_messages_are_refused_with_a_reason(string json, string reason)
    {
        Assert.False(SignalMessage.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.Contains(reason, error);
    }
}
