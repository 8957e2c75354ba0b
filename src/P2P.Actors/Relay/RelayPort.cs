using System.Net;
using System.Net.Sockets;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

/// <summary>
/// The receiving side of one allocation's relayed UDP socket on real sockets: the socket joins the
/// <see cref="RelayPortPoller"/>, whose thread reads it in batches. A datagram from a permitted peer with a bound
/// channel goes to the client through the allocation's <see cref="AllocationDataPath"/> on that thread; any other goes
/// to the <see cref="Allocation"/> actor as a <see cref="UdpSocketProtocol.Received"/>, as without this receiver.
/// </summary>
internal sealed class RelayPort(RelayPortPoller poller) : IUdpReceiver
{
    private volatile Socket? _socket;
    private volatile AllocationDataPath? _owner;
    private UdpDelivery? _delivery;

    /// <summary>The relayed socket once bound (ChannelData from the client goes out on it), else null.</summary>
    public Socket? Socket => _socket;

    /// <summary>The allocation's open data path, or null while it is not open.</summary>
    public AllocationDataPath? Owner
    {
        get => _owner;
        set => _owner = value;
    }

    /// <summary>The poller's key for this port while it is registered.</summary>
    internal ulong Key { get; set; }

    public IDisposable Start(Socket socket, IPEndPoint local, UdpDelivery delivery)
    {
        _delivery = delivery;
        _socket = socket;
        if (!poller.Add(this, socket, out int error))
            delivery.Fail(new SocketException(error)); // the allocation cannot hear its peers: it ends, and says why
        return new Registration(this);
    }

    /// <summary>
    /// On the poller's thread: receives up to <paramref name="count"/> waiting datagrams into slots
    /// <paramref name="first"/>.. of <paramref name="batch"/>; the number received.
    /// </summary>
    internal int Receive(DatagramBatch batch, int first, int count)
    {
        var socket = _socket;
        if (socket is null) return 0;
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int received = batch.Receive(LinuxUdp.Descriptor(socket.SafeHandle), first, count, out _);
            return Math.Max(received, 0); // an error (an ICMP report, the socket closing) loses nothing queued
        }
        catch (ObjectDisposedException)
        {
            return 0; // the allocation is closing
        }
        finally
        {
            if (added) socket.SafeHandle.DangerousRelease();
        }
    }

    /// <summary>Hands a datagram the fast path does not take to the allocation's actor.</summary>
    internal void Deliver(ReadOnlySpan<byte> datagram, SocketAddress from) => _delivery!.Deliver(datagram, from);

    /// <summary>A fault of the data path itself: the socket's actor throws it, which ends the allocation.</summary>
    internal void Fail(Exception error)
    {
        poller.Remove(this);
        _delivery!.Fail(error);
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
