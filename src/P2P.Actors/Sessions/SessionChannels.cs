using P2P.Actors.Sctp;

namespace P2P.Actors.Sessions;

/// <summary>
/// The data channels (RFC 8831) of one secure session: which label rides on which SCTP stream, the channel commands
/// that wait for the association to come up, and the session's own data that waits for its default channel
/// (<see cref="Session.DefaultChannel"/>). A plain class the <see cref="Session"/> owns: each method takes what the
/// owner or the SCTP association said and returns what to tell them, so it is tested without actors. Not thread-safe.
/// </summary>
internal sealed class SessionChannels(string sessionId)
{
    private readonly Dictionary<string, ushort> _streamByLabel = new(StringComparer.Ordinal);
    private readonly Dictionary<ushort, string> _labelByStream = [];
    private readonly List<object> _waitingForAssociation = [];
    private readonly List<ReadOnlyMemory<byte>> _waitingForDefault = [];

    /// <summary>What to tell the SCTP association and the owner after a command or an event; either may be null.</summary>
    internal readonly record struct Step(object? ToSctp, object? ToOwner);

    /// <summary>A channel command (open, send) that came before the association: kept until <see cref="TakeWaiting"/>.</summary>
    public void WaitForAssociation(object command) => _waitingForAssociation.Add(command);

    /// <summary>The association is up: the commands that waited for it, oldest first, to be handled again.</summary>
    public IReadOnlyList<object> TakeWaiting()
    {
        var waiting = _waitingForAssociation.ToList();
        _waitingForAssociation.Clear();
        return waiting;
    }

    /// <summary>The session's own data (<see cref="SessionProtocol.Send"/>): on the default channel once it is open, else kept until it opens (null then).</summary>
    public SctpProtocol.SendMessage? Send(ReadOnlyMemory<byte> data)
    {
        if (_streamByLabel.TryGetValue(Session.DefaultChannel, out var stream)) return new SctpProtocol.SendMessage(stream, data, Binary: true);
        _waitingForDefault.Add(data);
        return null;
    }

    public Step Open(SessionProtocol.OpenChannel m) =>
        _streamByLabel.ContainsKey(m.Label) || m.Label == Session.DefaultChannel
            ? new(null, new SessionProtocol.ChannelError(sessionId, m.Label, $"a channel labelled '{m.Label}' is already open"))
            : new(new SctpProtocol.OpenChannel(m.Label, Ordered: m.Ordered, MaxRetransmits: m.MaxRetransmits, MaxLifetime: m.MaxLifetime), null);

    public Step SendOn(SessionProtocol.SendOnChannel m) =>
        _streamByLabel.TryGetValue(m.Label, out var stream)
            ? new(new SctpProtocol.SendMessage(stream, m.Data, m.Binary), null)
            : new(null, NotOpen(m.Label));

    public Step Close(SessionProtocol.CloseChannel m) =>
        _streamByLabel.TryGetValue(m.Label, out var stream) ? new(new SctpProtocol.CloseChannel(stream), null) : new(null, NotOpen(m.Label));

    /// <summary>A channel this side asked for got its stream id: messages may go on it already (RFC 8832 §6).</summary>
    public void Opening(SctpProtocol.ChannelOpening m) => Map(m.StreamId, m.Label);

    /// <summary>
    /// A channel is open: the owner hears of it, but for the default channel, which carries the data that waited for it
    /// (<paramref name="toSctp"/>) and is not shown to the owner.
    /// </summary>
    public SessionProtocol.ChannelOpened? Opened(SctpProtocol.ChannelOpened m, out IReadOnlyList<SctpProtocol.SendMessage> toSctp)
    {
        Map(m.StreamId, m.Label);
        if (m.Label == Session.DefaultChannel)
        {
            toSctp = _waitingForDefault.Select(data => new SctpProtocol.SendMessage(m.StreamId, data, Binary: true)).ToList();
            _waitingForDefault.Clear();
            return null;
        }
        toSctp = [];
        return new SessionProtocol.ChannelOpened(sessionId, m.Label, m.Ordered, m.MaxRetransmits, m.MaxLifetime, m.RemoteInitiated);
    }

    /// <summary>A message on a stream: the session's data on the default channel, a channel message on the others, nothing on a stream no channel uses.</summary>
    public object? Received(SctpProtocol.MessageReceived m)
    {
        if (!_labelByStream.TryGetValue(m.StreamId, out var label)) return null;
        return label == Session.DefaultChannel
            ? new SessionProtocol.DataReceived(sessionId, m.Data)
            : new SessionProtocol.ChannelMessage(sessionId, label, m.Data, m.Binary);
    }

    public SessionProtocol.ChannelError SendFailed(SctpProtocol.SendFailed m) =>
        new(sessionId, _labelByStream.GetValueOrDefault(m.StreamId, $"stream {m.StreamId}"), m.Reason);

    /// <summary>A channel closed (either side): forgotten, and the owner told; null for a stream no channel used.</summary>
    public SessionProtocol.ChannelClosed? Closed(SctpProtocol.ChannelClosed m)
    {
        if (!_labelByStream.Remove(m.StreamId, out var label)) return null;
        _streamByLabel.Remove(label);
        return new SessionProtocol.ChannelClosed(sessionId, label);
    }

    private SessionProtocol.ChannelError NotOpen(string label) => new(sessionId, label, $"no channel labelled '{label}' is open");

    private void Map(ushort stream, string label)
    {
        _streamByLabel[label] = stream;
        _labelByStream[stream] = label;
    }
}
