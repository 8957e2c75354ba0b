using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using P2P.Actors.Transport;
using P2P.Protocol.Turn;

namespace P2P.Actors.Relay;

/// <summary>
/// Receives on one listening UDP socket of the relay (a specific address, not a wildcard) with a dedicated thread,
/// a batch of datagrams per <c>recvmmsg</c> (<see cref="LinuxUdp"/>). ChannelData from a client whose allocation has an open <see cref="AllocationDataPath"/> is
/// relayed to the peer right there, on this thread; every other datagram (STUN requests and indications, ChannelData
/// the path does not take) goes to the <see cref="RelayServer"/> as a <see cref="UdpSocketProtocol.Received"/> from
/// the listening socket's actor, as it would without this receiver. The client table is keyed by the client's socket
/// address (the listener is the 5-tuple's other half); the allocations add and remove themselves.
/// </summary>
internal sealed class RelayListenerPort : IUdpReceiver
{
    private readonly ConcurrentDictionary<SocketAddress, AllocationDataPath> _clients = new();
    private volatile Socket? _socket;
    private long _relayed;

    /// <summary>The listening socket once bound (replies to clients go out on it), else null.</summary>
    public Socket? Socket => _socket;

    /// <summary>Datagrams from clients that this receiver relayed itself (not seen by the server actor).</summary>
    public long Relayed => Interlocked.Read(ref _relayed);

    public void Add(AllocationDataPath path) => _clients[path.Client] = path;

    public void Remove(AllocationDataPath path) => _clients.TryRemove(new KeyValuePair<SocketAddress, AllocationDataPath>(path.Client, path));

    public IDisposable Start(Socket socket, IPEndPoint local, UdpDelivery delivery)
    {
        _socket = socket;
        var loop = new Loop(this, socket, delivery);
        var thread = new Thread(loop.Run) { IsBackground = true, Name = $"relay-listen {local}" };
        thread.Start();
        return loop;
    }

    private sealed class Loop(RelayListenerPort port, Socket socket, UdpDelivery delivery) : IDisposable
    {
        /// <summary>Datagrams taken per <c>recvmmsg</c>.</summary>
        private const int Slots = 32;

        private const int WaitMs = 500;

        private volatile bool _stopped;

        /// <summary>Stops within <see cref="WaitMs"/>; the socket's actor then closes the socket.</summary>
        public void Dispose() => _stopped = true;

        // Never returns while the relay runs: ReadyToRun code here would never be replaced by the optimized tier (no
        // on-stack replacement for precompiled code), so this method alone is left to the JIT, which compiles it optimized.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run()
        {
            var batch = new DatagramBatch(Slots, 65_536, 0);
            var v4 = new SocketAddress(AddressFamily.InterNetwork);
            var v6 = new SocketAddress(AddressFamily.InterNetworkV6);
            while (!_stopped)
            {
                bool added = false;
                int received, error, fd;
                try
                {
                    socket.SafeHandle.DangerousAddRef(ref added);
                    fd = LinuxUdp.Descriptor(socket.SafeHandle);
                    received = batch.Receive(fd, 0, Slots, out error);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                finally
                {
                    if (added) socket.SafeHandle.DangerousRelease();
                }
                if (received == 0)
                {
                    // Without a reference on the handle: closing the socket must not wait for this. A descriptor closed
                    // (or even reused) meanwhile only ends the wait early or late; the next AddRef sees the socket is gone.
                    LinuxUdp.WaitReadable(fd, WaitMs);
                    continue;
                }
                if (received < 0)
                {
                    // ICMP reports (ECONNREFUSED and kin) are not fatal on a listening socket; a closed one ends the loop.
                    if (error == LinuxUdp.EBadF || _stopped) return;
                    continue;
                }
                for (int i = 0; i < received; i++)
                {
                    try
                    {
                        var from = batch.SenderOf(i, v4, v6);
                        var datagram = batch.Payload(i);
                        if (datagram.Length > 0 && ChannelData.StartsServerChannelData(datagram[0])
                            && port._clients.TryGetValue(from, out var path) && path.TryRelayToPeer(datagram))
                            Interlocked.Increment(ref port._relayed);
                        else
                            delivery.Deliver(datagram, from);
                    }
                    catch (Exception e)
                    {
                        // A fault of the data path itself: the socket's actor throws it and the server's supervision decides.
                        delivery.Fail(e);
                        return;
                    }
                }
            }
        }
    }
}
