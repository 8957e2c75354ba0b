using System.Collections.Concurrent;
using System.Net;
using P2P.Actors.Transport;
using P2P.Protocol;

namespace P2P.Actors.Sessions;

/// <summary>
/// The direct paths between a <see cref="LocalPeer"/>'s socket and its sessions (docs/ARCHITECTURE.md, "The datagram
/// contract"), read by other threads while the peer actor writes them. As an <see cref="IUdpRouter"/> it hands a
/// session's datagrams from the socket's receive thread straight to the session's connection path
/// (<see cref="IDatagramReceiver"/>): framed ones by the session tag they carry (<see cref="SessionMux"/>), plain ones by
/// the remote address of the session that selected it last, as the peer's own routing does. As an
/// <see cref="IUdpWriter"/> it is the socket's direct send, once the socket is bound. What it does not take goes through
/// the peer actor as before.
/// </summary>
internal sealed class DirectRoutes : IUdpRouter, IUdpWriter
{
    private readonly ConcurrentDictionary<uint, IDatagramReceiver> _byTag = new();
    private readonly ConcurrentDictionary<IPEndPoint, IDatagramReceiver> _byRemote = new();
    private volatile IUdpWriter? _socket;
    private long _routed;

    /// <summary>Datagrams handed straight to a session.</summary>
    public long Routed => Interlocked.Read(ref _routed);

    /// <summary>On the peer: the socket is bound (again, after a restart) and may be written directly.</summary>
    public void SocketBound(IUdpWriter? writer) => _socket = writer;

    /// <summary>On the peer: datagrams framed with <paramref name="tag"/> belong to <paramref name="path"/>.</summary>
    public void SetTag(uint tag, IDatagramReceiver path) => _byTag[tag] = path;

    public void RemoveTag(uint tag) => _byTag.TryRemove(tag, out _);

    /// <summary>On the peer: plain datagrams from <paramref name="remote"/> belong to <paramref name="path"/>; none when null.</summary>
    public void SetRemote(IPEndPoint remote, IDatagramReceiver? path)
    {
        if (path is null) _byRemote.TryRemove(remote, out _);
        else _byRemote[remote] = path;
    }

    public bool TryRoute(IPEndPoint from, ReadOnlySpan<byte> datagram)
    {
        bool taken = SessionMux.TryReadTag(datagram, out uint tag)
            ? _byTag.TryGetValue(tag, out var tagged) && tagged.TryReceive(datagram[SessionMux.HeaderLength..])
            : _byRemote.TryGetValue(from, out var plain) && plain.TryReceive(datagram);
        if (taken) Interlocked.Increment(ref _routed);
        return taken;
    }

    public bool TrySendTo(ReadOnlySpan<byte> datagram, IPEndPoint to) => _socket is { } socket && socket.TrySendTo(datagram, to);
}
