using System.Net;
using System.Net.Sockets;
using P2P.Protocol.Turn;

namespace P2P.Actors.Relay;

/// <summary>
/// The fast data path of one UDP allocation on real sockets: relays ChannelData between the client and its bound
/// peers on the threads that received them, with no actor in between, as coturn does. The <see cref="Allocation"/>
/// actor stays in charge: it opens the path once its relayed socket is bound, publishes a new <see cref="RelayRoutes"/>
/// whenever a permission or channel changes, and closes the path when it stops. Whatever this path does not handle
/// (STUN, Send and Data indications, unbound channels, peers without a permission, malformed packets) goes to the
/// actors as before, which answer, count and log it.
/// </summary>
internal sealed class AllocationDataPath(RelayListenerPort listener, SocketAddress client, RelayPort relay)
{
    private volatile RelayRoutes _routes = RelayRoutes.None;
    private long _toPeer, _fromPeer, _sendErrors;

    public RelayListenerPort Listener { get; } = listener;

    /// <summary>The client's transport address (the 5-tuple's client side; the listener is its server side).</summary>
    public SocketAddress Client { get; } = client;

    public RelayPort Relay { get; } = relay;

    public long ToPeer => Interlocked.Read(ref _toPeer);

    public long FromPeer => Interlocked.Read(ref _fromPeer);

    public long SendErrors => Interlocked.Read(ref _sendErrors);

    public void Publish(RelayRoutes routes) => _routes = routes;

    /// <summary>Starts routing: the client's ChannelData and the relayed socket's datagrams come here.</summary>
    public void Open()
    {
        Relay.Owner = this;
        Listener.Add(this);
    }

    public void Close()
    {
        Listener.Remove(this);
        Relay.Owner = null;
        _routes = RelayRoutes.None;
    }

    /// <summary>
    /// On the listener's thread: a ChannelData message from the client (RFC 8656 §12.5) goes to its channel's peer
    /// from the relayed socket. False when the actors should see it (malformed, channel not bound or expired).
    /// </summary>
    public bool TryRelayToPeer(ReadOnlySpan<byte> packet)
    {
        if (!Allocation.TryParseChannelData(packet, out ushort channel, out int length)) return false;
        if (!_routes.TryGetPeer(channel, Environment.TickCount64, out var peer)) return false;
        var socket = Relay.Socket;
        if (socket is null) return false;
        try
        {
            socket.SendTo(packet.Slice(ChannelData.HeaderLength, length), SocketFlags.None, peer);
            Interlocked.Increment(ref _toPeer);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _sendErrors); // as UdpSocket does: counted, the datagram is lost
        }
        catch (ObjectDisposedException)
        {
            // The allocation is closing: its relayed socket is gone, and so is the datagram.
        }
        return true;
    }

    /// <summary>
    /// On the relay poller's thread: whether a datagram from <paramref name="from"/> to the relayed address goes to the
    /// client as ChannelData on <paramref name="channel"/> (RFC 8656 §12.6), which the poller sends in a batch on
    /// <see cref="Listener"/>'s socket to <see cref="Client"/>. False when the actors should see it (no permission, or
    /// no channel: a Data indication).
    /// </summary>
    public bool TryRouteToClient(SocketAddress from, out ushort channel)
    {
        var routes = _routes;
        long now = Environment.TickCount64;
        channel = 0;
        if (!routes.IsPermitted(from, now) || !routes.TryGetChannel(from, now, out channel)) return false;
        Interlocked.Increment(ref _fromPeer);
        return true;
    }

    /// <summary>Counts datagrams to the client the kernel refused (lost, as UDP may lose them).</summary>
    public void CountSendErrors(int count) => Interlocked.Add(ref _sendErrors, count);
}
