using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

/// <summary>
/// Receives on one listening UDP socket of the relay (a specific address, not a wildcard) with a dedicated thread
/// and blocking receives. ChannelData from a client whose allocation has an open <see cref="AllocationDataPath"/> is
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
        private volatile bool _stopped;

        /// <summary>Stops after the current datagram; the socket's actor then closes the socket, which ends a blocked receive.</summary>
        public void Dispose() => _stopped = true;

        public void Run()
        {
            var buffer = new byte[65_536];
            var from = new SocketAddress(socket.AddressFamily);
            while (!_stopped)
            {
                int received;
                try
                {
                    received = socket.ReceiveFrom(buffer, SocketFlags.None, from);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException e) when (!_stopped && e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
                {
                    continue; // ICMP port unreachable echoed on some platforms, or an oversize datagram: not fatal
                }
                catch (Exception e)
                {
                    if (!_stopped) delivery.Fail(e);
                    return;
                }
                try
                {
                    var datagram = buffer.AsSpan(0, received);
                    if (received > 0 && datagram[0] is >= 0x40 and <= 0x7F
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
