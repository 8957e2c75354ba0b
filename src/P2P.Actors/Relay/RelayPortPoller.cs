using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using P2P.Actors.Transport;
using P2P.Protocol.Turn;

namespace P2P.Actors.Relay;

/// <summary>
/// One thread that reads every relayed socket of the server (<see cref="RelayPort"/>), as coturn's relay threads do,
/// but a batch at a time: it waits on an epoll set of all of them, takes up to <see cref="PerSocket"/> datagrams from
/// each ready socket with one <c>recvmmsg</c>, writes the ChannelData header in front of each datagram the fast path
/// routes, and sends all of those to their clients with one <c>sendmmsg</c> per listening socket, from the same
/// memory. Under load that is a few system calls per wake-up instead of two per datagram. Ports join and leave from
/// any thread (epoll allows that while the thread waits); the events carry a key, never a descriptor, so a port that
/// left while its event was in flight is simply not found. Linux only (<see cref="LinuxUdp.IsSupported"/>).
/// </summary>
internal sealed class RelayPortPoller : IDisposable
{
    /// <summary>Datagram slots per wake-up, shared by all ready sockets.</summary>
    private const int Slots = 64;

    /// <summary>At most this many datagrams from one socket per wake-up, so that one busy peer cannot starve the others.</summary>
    private const int PerSocket = 8;

    private const int WaitMs = 500;

    private readonly LinuxUdp.Epoll _epoll = new();
    private readonly ConcurrentDictionary<ulong, RelayPort> _ports = new();
    private long _nextKey;
    private volatile bool _stopped;

    public RelayPortPoller()
    {
        new Thread(Run) { IsBackground = true, Name = "relay-poller" }.Start();
    }

    /// <summary>Registers <paramref name="port"/>'s socket; false (with errno) when epoll refuses it.</summary>
    public bool Add(RelayPort port, Socket socket, out int error)
    {
        ulong key = (ulong)Interlocked.Increment(ref _nextKey);
        port.Key = key;
        _ports[key] = port;
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            if (_epoll.Add(LinuxUdp.Descriptor(socket.SafeHandle), key, out error)) return true;
        }
        catch (ObjectDisposedException)
        {
            error = LinuxUdp.EBadF;
        }
        finally
        {
            if (added) socket.SafeHandle.DangerousRelease();
        }
        _ports.TryRemove(key, out _);
        return false;
    }

    public void Remove(RelayPort port)
    {
        if (!_ports.TryRemove(port.Key, out _) || port.Socket is not { } socket) return;
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            _epoll.Remove(LinuxUdp.Descriptor(socket.SafeHandle));
        }
        catch (ObjectDisposedException)
        {
            // Closed already: closing the descriptor took it out of the epoll set.
        }
        finally
        {
            if (added) socket.SafeHandle.DangerousRelease();
        }
    }

    /// <summary>Stops the thread within <see cref="WaitMs"/>; it closes the epoll set on its way out.</summary>
    public void Dispose() => _stopped = true;

    // Never returns while the relay runs: ReadyToRun code here would never be replaced by the optimized tier (no
    // on-stack replacement for precompiled code), so this method alone is left to the JIT, which compiles it optimized.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Run()
    {
        var events = LinuxUdp.Epoll.NewEvents(Slots);
        var received = new DatagramBatch(Slots, 65_536, ChannelData.HeaderLength);
        var outgoing = new ToClients(Slots);
        var v4 = new SocketAddress(AddressFamily.InterNetwork);
        var v6 = new SocketAddress(AddressFamily.InterNetworkV6);
        try
        {
            while (!_stopped)
            {
                int ready = _epoll.Wait(events, WaitMs);
                if (ready < 0)
                {
                    if (LinuxUdp.LastError == LinuxUdp.EIntr) continue;
                    return; // the set was closed
                }
                int used = 0;
                for (int e = 0; e < ready; e++)
                {
                    if (!_ports.TryGetValue(LinuxUdp.Epoll.KeyOf(events, e), out var port)) continue;
                    if (used + PerSocket > Slots)
                    {
                        outgoing.Flush();
                        used = 0;
                    }
                    int got = port.Receive(received, used, PerSocket);
                    for (int slot = used; slot < used + got; slot++)
                        Handle(port, received, slot, received.SenderOf(slot, v4, v6), outgoing);
                    used += got;
                }
                outgoing.Flush();
            }
        }
        finally
        {
            _epoll.Dispose();
        }
    }

    private void Handle(RelayPort port, DatagramBatch received, int slot, SocketAddress from, ToClients outgoing)
    {
        try
        {
            if (port.Owner is { } path && path.TryRouteToClient(from, out ushort channel) && path.Listener.Socket is { } listener)
            {
                var packet = received.WithHeadroom(slot);
                BinaryPrimitives.WriteUInt16BigEndian(packet, channel);
                BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)(packet.Length - ChannelData.HeaderLength));
                outgoing.Queue(listener, path, received.PayloadAddress(slot, ChannelData.HeaderLength), packet.Length);
            }
            else
            {
                port.Deliver(received.Payload(slot), from);
            }
        }
        catch (Exception e)
        {
            port.Fail(e);
        }
    }

    /// <summary>ChannelData on its way to clients: one <c>sendmmsg</c> per run of datagrams on the same listening socket.</summary>
    private sealed class ToClients(int capacity)
    {
        private readonly DatagramBatch _batch = new(capacity, 0, 0);
        private readonly AllocationDataPath[] _paths = new AllocationDataPath[capacity];
        private readonly int[] _refused = new int[capacity];
        private Socket? _socket;
        private int _count;

        public void Queue(Socket listener, AllocationDataPath path, IntPtr data, int length)
        {
            if (!ReferenceEquals(listener, _socket) || _count == capacity) Flush();
            _socket = listener;
            _paths[_count] = path;
            _batch.SetOutgoing(_count++, data, length, path.Client);
        }

        public void Flush()
        {
            if (_count == 0 || _socket is not { } socket) return;
            bool added = false;
            try
            {
                socket.SafeHandle.DangerousAddRef(ref added);
                int refused = _batch.Send(LinuxUdp.Descriptor(socket.SafeHandle), _count, _refused);
                for (int i = 0; i < refused; i++) _paths[_refused[i]].CountSendErrors(1);
            }
            catch (ObjectDisposedException)
            {
                // The listener is being re-created: these datagrams are lost, as UDP may lose them.
            }
            finally
            {
                if (added) socket.SafeHandle.DangerousRelease();
                Array.Clear(_paths, 0, _count);
                _count = 0;
                _socket = null;
            }
        }
    }
}
