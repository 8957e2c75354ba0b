using System.Net;
using System.Net.Sockets;

namespace P2P.Actors.Relay;

/// <summary>
/// One thread that reads every relayed socket of the server (<see cref="RelayPort"/>): it waits with
/// <see cref="Socket.Select(System.Collections.IList, System.Collections.IList, System.Collections.IList, int)"/>
/// (poll) for any of them to be readable, then takes one datagram from each readable socket. A thread per
/// allocation would not scale, and .NET's asynchronous sockets would register the relayed sockets with its epoll
/// engine, which then wakes for every datagram sent on them. Ports join and leave through an immutable array;
/// a datagram to a loopback "wake" socket in the set makes the thread pick up a change at once.
/// </summary>
internal sealed class RelayPortPoller : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Socket _wake;
    private readonly SocketAddress _wakeAddress;
    private volatile RelayPort[] _ports = [];
    private volatile bool _stopped;

    public RelayPortPoller()
    {
        _wake = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _wake.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _wakeAddress = _wake.LocalEndPoint!.Serialize();
        new Thread(Run) { IsBackground = true, Name = "relay-poller" }.Start();
    }

    public void Add(RelayPort port)
    {
        lock (_gate) _ports = [.. _ports, port];
        Wake();
    }

    public void Remove(RelayPort port)
    {
        lock (_gate)
        {
            int index = Array.IndexOf(_ports, port);
            if (index < 0) return;
            _ports = [.. _ports.AsSpan(0, index), .. _ports.AsSpan(index + 1)];
        }
        Wake();
    }

    public void Dispose()
    {
        _stopped = true;
        Wake();
    }

    private void Wake()
    {
        try
        {
            _wake.SendTo([0], SocketFlags.None, _wakeAddress);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The thread also looks for changes once a second.
        }
    }

    private void Run()
    {
        var ready = new List<Socket>();
        var ports = new Dictionary<Socket, RelayPort>();
        RelayPort[]? known = null;
        var buffer = new byte[Protocol.Turn.ChannelData.HeaderLength + 65_536];
        var wakeFrom = new SocketAddress(AddressFamily.InterNetwork);
        try
        {
            while (!_stopped)
            {
                var current = _ports;
                if (!ReferenceEquals(current, known))
                {
                    ports.Clear();
                    foreach (var port in current)
                        if (port.Socket is { } s) ports[s] = port;
                    known = current;
                }
                ready.Clear();
                ready.Add(_wake);
                foreach (var socket in ports.Keys) ready.Add(socket);
                try
                {
                    Socket.Select(ready, null, null, 1_000_000);
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    known = null; // a port closed under us: its removal is on its way
                    continue;
                }
                foreach (var socket in ready)
                {
                    if (ReferenceEquals(socket, _wake))
                    {
                        try { _wake.ReceiveFrom(buffer, SocketFlags.None, wakeFrom); }
                        catch (SocketException) { }
                    }
                    else if (ports.TryGetValue(socket, out var port))
                    {
                        port.ReceiveOne(socket, buffer);
                    }
                }
            }
        }
        finally
        {
            _wake.Dispose();
        }
    }
}
