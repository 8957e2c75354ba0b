using P2P.Actors.Sctp;
using P2P.Actors.Sessions;
using Xunit;

namespace P2P.Actors.Tests.Sessions;

/// <summary>The data-channel registry of a secure session, without actors: what it tells the association and the owner.</summary>
public sealed class SessionChannelsTests
{
    private readonly SessionChannels _channels = new("s1");

    private static SctpProtocol.ChannelOpened OpenedEvent(ushort stream, string label, bool remote = false) =>
        new(stream, label, "", Ordered: true, MaxRetransmits: null, MaxLifetime: null, Priority: 0, RemoteInitiated: remote);

    [Fact]
    public void Commands_before_the_association_come_back_in_order_once_and_only_once()
    {
        var open = new SessionProtocol.OpenChannel("chat");
        var send = new SessionProtocol.SendOnChannel("chat", new byte[] { 1 });
        _channels.WaitForAssociation(open);
        _channels.WaitForAssociation(send);

        Assert.Equal([open, send], _channels.TakeWaiting());
        Assert.Empty(_channels.TakeWaiting());
    }

    [Fact]
    public void Session_data_waits_for_the_default_channel_and_goes_on_its_stream_in_order_without_telling_the_owner()
    {
        Assert.Null(_channels.Send(new byte[] { 1 }));
        Assert.Null(_channels.Send(new byte[] { 2 }));

        var opened = _channels.Opened(OpenedEvent(4, Session.DefaultChannel), out var toSctp);

        Assert.Null(opened);
        Assert.Equal([(ushort)4, (ushort)4], toSctp.Select(s => s.StreamId));
        Assert.Equal([1, 2], toSctp.Select(s => (int)s.Data.Span[0]));
        Assert.All(toSctp, s => Assert.True(s.Binary));
        var next = _channels.Send(new byte[] { 3 });
        Assert.Equal((ushort)4, next!.StreamId);
        Assert.Null(_channels.Opened(OpenedEvent(4, Session.DefaultChannel), out var again));
        Assert.Empty(again); // what waited went once
    }

    [Fact]
    public void Opening_a_label_asks_the_association_with_its_options_and_the_owner_hears_when_it_is_open()
    {
        var step = _channels.Open(new SessionProtocol.OpenChannel("files", Ordered: false, MaxRetransmits: 3));
        var ask = Assert.IsType<SctpProtocol.OpenChannel>(step.ToSctp);
        Assert.Null(step.ToOwner);
        Assert.Equal(("files", false, (int?)3), (ask.Label, ask.Ordered, ask.MaxRetransmits));

        var opened = _channels.Opened(OpenedEvent(6, "files", remote: true), out var toSctp);
        Assert.Empty(toSctp);
        Assert.Equal(new SessionProtocol.ChannelOpened("s1", "files", true, null, null, true), opened);
    }

    [Theory]
    [InlineData("files")]
    [InlineData(Session.DefaultChannel)]
    public void A_label_already_open_cannot_be_opened_again(string label)
    {
        _channels.Opening(new SctpProtocol.ChannelOpening(2, "files"));
        var step = _channels.Open(new SessionProtocol.OpenChannel(label));
        Assert.Null(step.ToSctp);
        Assert.Equal(new SessionProtocol.ChannelError("s1", label, $"a channel labelled '{label}' is already open"), step.ToOwner);
    }

    [Fact]
    public void Sending_on_or_closing_an_unknown_label_is_an_error_to_the_owner()
    {
        var send = _channels.SendOn(new SessionProtocol.SendOnChannel("nope", new byte[] { 1 }));
        var close = _channels.Close(new SessionProtocol.CloseChannel("nope"));
        Assert.Null(send.ToSctp);
        Assert.Null(close.ToSctp);
        Assert.Equal(new SessionProtocol.ChannelError("s1", "nope", "no channel labelled 'nope' is open"), send.ToOwner);
        Assert.Equal(send.ToOwner, close.ToOwner);
    }

    [Fact]
    public void Messages_on_the_default_channel_are_session_data_and_on_others_channel_messages()
    {
        _channels.Opening(new SctpProtocol.ChannelOpening(0, Session.DefaultChannel));
        _channels.Opening(new SctpProtocol.ChannelOpening(2, "chat"));
        ReadOnlyMemory<byte> data = new byte[] { 9 };

        Assert.Equal(new SessionProtocol.DataReceived("s1", data), _channels.Received(new SctpProtocol.MessageReceived(0, data, true)));
        Assert.Equal(new SessionProtocol.ChannelMessage("s1", "chat", data, false), _channels.Received(new SctpProtocol.MessageReceived(2, data, false)));
        Assert.Null(_channels.Received(new SctpProtocol.MessageReceived(8, data, true)));
    }

    [Fact]
    public void A_closed_channel_is_forgotten_both_ways()
    {
        _channels.Opening(new SctpProtocol.ChannelOpening(2, "chat"));
        var step = _channels.SendOn(new SessionProtocol.SendOnChannel("chat", new byte[] { 1 }, Binary: false));
        var message = Assert.IsType<SctpProtocol.SendMessage>(step.ToSctp);
        Assert.Equal(((ushort)2, false), (message.StreamId, message.Binary));
        Assert.Equal(new SctpProtocol.CloseChannel(2), _channels.Close(new SessionProtocol.CloseChannel("chat")).ToSctp);

        Assert.Equal(new SessionProtocol.ChannelClosed("s1", "chat"), _channels.Closed(new SctpProtocol.ChannelClosed(2)));
        Assert.Null(_channels.Closed(new SctpProtocol.ChannelClosed(2)));
        Assert.NotNull(_channels.SendOn(new SessionProtocol.SendOnChannel("chat", new byte[] { 1 })).ToOwner);
        Assert.Null(_channels.Received(new SctpProtocol.MessageReceived(2, new byte[] { 1 }, true)));
    }

    [Fact]
    public void A_failed_send_names_the_channel_or_else_the_stream()
    {
        _channels.Opening(new SctpProtocol.ChannelOpening(2, "chat"));
        Assert.Equal(new SessionProtocol.ChannelError("s1", "chat", "too big"), _channels.SendFailed(new SctpProtocol.SendFailed(2, 10, "too big")));
        Assert.Equal(new SessionProtocol.ChannelError("s1", "stream 7", "gone"), _channels.SendFailed(new SctpProtocol.SendFailed(7, 10, "gone")));
    }
}
