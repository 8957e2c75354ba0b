using System.Net;
using System.Net.Sockets;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

/// <summary>
/// The receiving side of one allocation's relayed UDP socket on real sockets: the socket joins the
/// <see cref="RelayPortPoller"/>, whose thread reads it. A datagram from a permitted peer with a bound channel goes
/// to the client through the allocation's <see cref="AllocationDataPath"/> on that thread; any other goes to the
/// <see cref="Allocation"/> actor as a <see cref="UdpSocketProtocol.Received"/>, as without this receiver.
/// </summary>
internal sealed class RelayPort(RelayPortPoller poller) : IUdpReceiver
{
    private volatile Socket? _socket;
    private volatile AllocationDataPath? _owner;
    private UdpDelivery? _delivery;
    private SocketAddress? _from;

    /// <summary>The relayed socket once bound (ChannelData from the client goes out on it), else null.</summary>
    public Socket? Socket => _socket;

    /// <summary>The allocation's open data path, or null while it is not open.</summary>
    public AllocationDataPath? Owner
    {
        get => _owner;
        set => _owner = value;
    }

    public IDisposable Start(Socket socket, IPEndPoint local, UdpDelivery delivery)
    {
        _delivery = delivery;
        _from = new SocketAddress(socket.AddressFamily);
        _socket = socket;
        poller.Add(this);
        return new Registration(this);
    }

    /// <summary>On the poller's thread, when the socket is readable: receives one datagram and relays or delivers it.</summary>
    internal void ReceiveOne(Socket socket, byte[] buffer)
    {
        var from = _from!;
        int received;
        try
        {
            received = socket.ReceiveFrom(buffer.AsSpan(Protocol.Turn.ChannelData.HeaderLength), SocketFlags.None, from);
        }
        catch (ObjectDisposedException)
        {
            return; // the allocation is closing
        }
        catch (SocketException)
        {
            return; // ICMP errors echoed on some platforms, or the socket is closing: not fatal
        }
        try
        {
            if (_owner is not { } owner || !owner.TryRelayToClient(buffer, received, from))
                _delivery!.Deliver(buffer.AsSpan(Protocol.Turn.ChannelData.HeaderLength, received), from);
        }
        catch (Exception e)
        {
            // A fault of the data path itself: the socket's actor throws it, which ends the allocation.
            poller.Remove(this);
            _delivery!.Fail(e);
        }
    }

    private sealed class Registration(RelayPort port) : IDisposable
    {
        public void Dispose() => port.Remove();
    }

    private void Remove()
    {
        poller.Remove(this);
        _owner = null;
    }
}
