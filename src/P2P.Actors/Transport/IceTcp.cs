using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using P2P.Protocol.Ice;

namespace P2P.Actors.Transport;

/// <summary>Limits of a peer's ICE-TCP connections (<c>p2p.ice</c> in akka.hocon).</summary>
/// <param name="ConnectTimeout">How long an active candidate's connection may take to open before its datagrams are dropped (the kernel's own wait is minutes).</param>
/// <param name="WriteQueueBytes">Framed bytes one connection may hold waiting for the socket; past it datagrams are dropped, as a full UDP buffer drops them.</param>
/// <param name="MaxConnections">Connections the peer holds at once, accepted and opened; more are refused (an accepted one is anyone's until a check on it passes).</param>
/// <param name="IdleTimeout">A connection that carried nothing either way for this long is closed: one whose pair was not selected, or whose session ended (the selected pair's consent checks keep it busy).</param>
public sealed record IceTcpSettings(TimeSpan ConnectTimeout, int WriteQueueBytes, int MaxConnections, TimeSpan IdleTimeout)
{
    public static readonly IceTcpSettings Default = new(TimeSpan.FromSeconds(10), 1024 * 1024, 256, TimeSpan.FromSeconds(30));

    /// <summary>Log lines per minute about refused connections; the rest are only counted (<see cref="IceTcpProtocol.Stats.Refused"/>).</summary>
    public int RefusedLogPerMinute { get; init; } = 5;

    /// <summary>Also a simultaneous-open candidate per host address (RFC 6544 §4.1): a port that listens and connects out from itself.</summary>
    public bool SimultaneousOpen { get; init; } = true;

    /// <summary>
    /// A simultaneous-open connect that is refused (the remote's NAT answered our SYN with a reset: the remote's own SYN
    /// was not on its way yet) is made again after this long, with its datagrams kept, until <see cref="ConnectTimeout"/>.
    /// </summary>
    public TimeSpan SimultaneousOpenRetry { get; init; } = TimeSpan.FromMilliseconds(200);
}

public static class IceTcpProtocol
{
    /// <summary>
    /// Send one datagram, framed (RFC 4571), on the connection between local candidate <paramref name="Local"/> of TCP
    /// type <paramref name="Type"/> and <paramref name="To"/>. An active candidate opens the connection when there is none;
    /// a simultaneous-open one opens it from its own port, which also listens, so that the remote's connection to it,
    /// crossing or accepted, is the same connection (RFC 6544 §7.1); a passive candidate only uses connections the remote
    /// opened. The payload is owned.
    /// </summary>
    public sealed record Send(IPEndPoint Local, TcpCandidateType Type, IPEndPoint To, ReadOnlyMemory<byte> Datagram);

    // to the owner

    /// <summary>The passive candidates' listening sockets are bound, one per host address (those that failed are left out).</summary>
    public sealed record Listening(IReadOnlyList<IPEndPoint> Passive, IReadOnlyList<string> Problems)
    {
        /// <summary>The simultaneous-open candidates' ports, one per host address, when they are on (<see cref="IceTcpSettings.SimultaneousOpen"/>).</summary>
        public IReadOnlyList<IPEndPoint> SimultaneousOpen { get; init; } = [];
    }

    /// <summary>One datagram that arrived, unframed, on a connection of local candidate <paramref name="Local"/> (passive or simultaneous-open: its listening address; active: its address with port 9) from <paramref name="From"/>.</summary>
    public sealed record Received(IPEndPoint Local, TcpCandidateType Type, IPEndPoint From, ReadOnlyMemory<byte> Datagram);

    public sealed record GetStats;

    public sealed record Stats(int Connections, long Accepted, long Opened, long ConnectFailures, long Refused, long DatagramsSent, long DatagramsReceived, long Dropped)
    {
        /// <summary>Connections closed for carrying nothing for <see cref="IceTcpSettings.IdleTimeout"/>.</summary>
        public long ClosedIdle { get; init; }
    }

    // internal
    internal sealed record Accepted(IPEndPoint Listener, TcpCandidateType Type, Socket Socket);

    internal sealed record ConnectDone(ConnectionKey Key, Socket? Socket, string? Error)
    {
        /// <summary>The connect failed because a connection between the two ports exists already (EADDRNOTAVAIL): the remote's, reaching a listener.</summary>
        public bool InUse { get; init; }

        /// <summary>The remote (or a NAT on the way) answered with a reset.</summary>
        public bool Refused { get; init; }
    }

    internal sealed record WriteDone(ConnectionKey Key, int Bytes, string? Error);

    internal sealed record Ended(ConnectionKey Key, Socket Socket, string Reason);

    internal sealed record ConnectTimedOut(ConnectionKey Key);

    internal sealed record RetryConnect(ConnectionKey Key);

    internal sealed record SweepIdle
    {
        public static readonly SweepIdle Instance = new();
    }

    internal readonly record struct ConnectionKey(IPEndPoint Local, TcpCandidateType Type, IPEndPoint Remote);
}

/// <summary>
/// A peer's ICE-TCP transport (RFC 6544): a listening socket for each host address (the passive candidates), another
/// that also connects out from its own port (the simultaneous-open candidates), the connections accepted on them, and
/// the connections its active and simultaneous-open candidates open on demand, each carrying RFC 4571
/// framed datagrams (STUN checks, then DTLS or the plain session's data). Connections are keyed by (local candidate,
/// remote address): what a connection reads goes to the owner as <see cref="IceTcpProtocol.Received"/> straight from
/// its read loop, so the layers above see the same datagrams as on UDP. Writes are queued per connection and sent one
/// at a time, asynchronously; the actor never blocks.
/// </summary>
public sealed class IceTcp : ReceiveActor, IWithTimers
{
    private sealed class Connection(IceTcpProtocol.ConnectionKey key)
    {
        public IceTcpProtocol.ConnectionKey Key { get; } = key;
        public Socket? Socket { get; set; }
        public Queue<byte[]> Queue { get; } = new();
        public int QueuedBytes { get; set; }
        public bool Writing { get; set; }

        /// <summary>When it last carried a datagram either way (<see cref="Environment.TickCount64"/>); the read loop writes it too.</summary>
        public long LastActive;

        /// <summary>Opened by us: when the connect gives up (<see cref="Environment.TickCount64"/>), however often a refused one is made again.</summary>
        public long ConnectDeadline { get; set; }

        public void Touch() => Volatile.Write(ref LastActive, Environment.TickCount64);
    }

    private readonly IReadOnlyList<IPAddress> _addresses;
    private readonly IActorRef _owner;
    private readonly IceTcpSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Supervision.LogRateLimit _refusedLog;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _listeners = [];
    private readonly Dictionary<IceTcpProtocol.ConnectionKey, Connection> _connections = [];
    private long _accepted, _opened, _connectFailures, _refused, _sent, _dropped, _closedIdle;
    private long _received; // counted by the read loops

    public IceTcp(IReadOnlyList<IPAddress> addresses, IActorRef owner, IceTcpSettings settings)
    {
        _addresses = addresses;
        _owner = owner;
        _settings = settings;
        _refusedLog = new Supervision.LogRateLimit(settings.RefusedLogPerMinute, TimeSpan.FromMinutes(1));

        Receive<IceTcpProtocol.Send>(OnSend);
        Receive<IceTcpProtocol.Accepted>(OnAccepted);
        Receive<IceTcpProtocol.ConnectDone>(OnConnectDone);
        Receive<IceTcpProtocol.ConnectTimedOut>(m =>
        {
            if (_connections.TryGetValue(m.Key, out var c) && c.Socket is null) Close(c, $"no connection within {_settings.ConnectTimeout.TotalSeconds:0} s");
        });
        Receive<IceTcpProtocol.RetryConnect>(m =>
        {
            if (!_connections.TryGetValue(m.Key, out var c) || c.Socket is not null) return;
            if (Environment.TickCount64 >= c.ConnectDeadline) Close(c, $"no connection within {_settings.ConnectTimeout.TotalSeconds:0} s");
            else Open(c);
        });
        Receive<IceTcpProtocol.WriteDone>(OnWriteDone);
        Receive<IceTcpProtocol.Ended>(m =>
        {
            if (_connections.TryGetValue(m.Key, out var c) && ReferenceEquals(c.Socket, m.Socket)) Close(c, m.Reason);
        });
        Receive<IceTcpProtocol.SweepIdle>(_ => CloseIdle());
        Receive<IceTcpProtocol.GetStats>(_ => Sender.Tell(new IceTcpProtocol.Stats(_connections.Count, _accepted, _opened, _connectFailures, _refused,
            _sent, Interlocked.Read(ref _received), _dropped) { ClosedIdle = _closedIdle }));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IReadOnlyList<IPAddress> addresses, IActorRef owner, IceTcpSettings settings) =>
        Akka.Actor.Props.Create(() => new IceTcp(addresses, owner, settings));

    protected override void PreStart()
    {
        var passive = new List<IPEndPoint>();
        var simultaneousOpen = new List<IPEndPoint>();
        var problems = new List<string>();
        foreach (var address in _addresses)
        {
            if (Listen(address, TcpCandidateType.Passive, problems) is { } local) passive.Add(local);
            if (_settings.SimultaneousOpen && Listen(address, TcpCandidateType.SimultaneousOpen, problems) is { } so) simultaneousOpen.Add(so);
        }
        _owner.Tell(new IceTcpProtocol.Listening(passive, problems) { SimultaneousOpen = simultaneousOpen });
        Timers.StartPeriodicTimer(IceTcpProtocol.SweepIdle.Instance, IceTcpProtocol.SweepIdle.Instance, _settings.IdleTimeout / 2);
    }

    /// <summary>A listening socket on a port of its own at <paramref name="address"/>, accepting; null when it cannot be bound (the problem is added).</summary>
    private IPEndPoint? Listen(IPAddress address, TcpCandidateType type, List<string> problems)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // a simultaneous-open port listens and connects out from itself: the remote's SYN meets either our crossing
            // SYN (RFC 9293 §3.5) or this listener, and both end in one connection per remote address
            if (type == TcpCandidateType.SimultaneousOpen) TcpSockets.ShareLocalPort(listener);
            listener.Bind(new IPEndPoint(address, 0));
            listener.Listen(64);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            problems.Add($"ICE-TCP: cannot listen on {address}{(type == TcpCandidateType.SimultaneousOpen ? " (simultaneous-open)" : "")}: {e.Message}");
            return null;
        }
        var local = (IPEndPoint)listener.LocalEndPoint!;
        _listeners.Add(listener);
        var self = Self;
        // out of descriptors or buffers: a pause, not the end of the candidate
        _ = TcpSockets.AcceptLoopAsync(listener, accepted => self.Tell(new IceTcpProtocol.Accepted(local, type, accepted)), e => e is SocketException, _stop.Token);
        return local;
    }

    /// <summary>Closes the connections that carried nothing for the idle timeout (the sweep runs every half of it).</summary>
    private void CloseIdle()
    {
        long now = Environment.TickCount64;
        long idleMs = (long)_settings.IdleTimeout.TotalMilliseconds;
        foreach (var c in _connections.Values.Where(c => now - Volatile.Read(ref c.LastActive) >= idleMs).ToList())
        {
            _closedIdle++;
            Close(c, $"idle for {_settings.IdleTimeout.TotalSeconds:0} s");
        }
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        foreach (var listener in _listeners) listener.Dispose();
        foreach (var c in _connections.Values) c.Socket?.Dispose();
        _connections.Clear();
    }

    private void OnAccepted(IceTcpProtocol.Accepted m)
    {
        if (_connections.Count >= _settings.MaxConnections || m.Socket.RemoteEndPoint is not IPEndPoint remote)
        {
            _refused++;
            if (_refusedLog.TryLog(Context.System.Scheduler.Now, out long leftOut))
                _log.Warning("ICE-TCP: refused a connection to {0}: {1} connections already (p2p.ice.tcp-max-connections){2}", m.Listener, _connections.Count,
                    Supervision.LogRateLimit.LeftOutNote(leftOut));
            m.Socket.Dispose();
            return;
        }
        var key = new IceTcpProtocol.ConnectionKey(m.Listener, m.Type, Normalize(remote));
        _accepted++;
        if (_connections.TryGetValue(key, out var connecting) && connecting.Socket is null)
        {
            // a simultaneous-open candidate's own connect to this remote is under way: the remote's connection reached
            // the listener first, and is the one connection between the two ports (the connect fails, 4-tuple in use)
            Timers.Cancel(key);
            connecting.Socket = m.Socket;
            connecting.Touch();
            m.Socket.NoDelay = true;
            Start(connecting);
            WriteNext(connecting);
            return;
        }
        if (_connections.Remove(key, out var old)) old.Socket?.Dispose(); // the same remote port again: the old one is dead
        var c = new Connection(key) { Socket = m.Socket };
        c.Touch();
        _connections[key] = c;
        m.Socket.NoDelay = true;
        Start(c);
    }

    private void OnSend(IceTcpProtocol.Send m)
    {
        var key = new IceTcpProtocol.ConnectionKey(m.Local, m.Type, Normalize(m.To));
        if (!_connections.TryGetValue(key, out var c))
        {
            if (m.Type == TcpCandidateType.Passive || _connections.Count >= _settings.MaxConnections)
            {
                _dropped++; // a passive candidate waits for the remote to connect (RFC 6544 §7.1)
                return;
            }
            c = new Connection(key);
            c.Touch();
            _connections[key] = c;
            Open(c);
        }
        if (m.Datagram.Length > TcpFraming.MaxPayload || c.QueuedBytes + m.Datagram.Length > _settings.WriteQueueBytes)
        {
            _dropped++;
            return;
        }
        var framed = TcpFraming.Frame(m.Datagram.Span);
        c.Touch();
        c.Queue.Enqueue(framed);
        c.QueuedBytes += framed.Length;
        WriteNext(c);
    }

    private void Open(Connection c)
    {
        var socket = new Socket(c.Key.Remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        var key = c.Key;
        try
        {
            if (key.Type == TcpCandidateType.SimultaneousOpen)
            {
                TcpSockets.ShareLocalPort(socket);
                socket.Bind(key.Local); // from the candidate's own port, where it also listens (RFC 6544 §4.1)
            }
            else socket.Bind(new IPEndPoint(key.Local.Address, 0)); // from the candidate's own address
        }
        catch (SocketException e)
        {
            socket.Dispose();
            _connectFailures++;
            _connections.Remove(key);
            _log.Debug("ICE-TCP: cannot bind {0} to connect to {1}: {2}", key.Local.Address, key.Remote, e.Message);
            return;
        }
        long now = Environment.TickCount64;
        if (c.ConnectDeadline == 0) c.ConnectDeadline = now + (long)_settings.ConnectTimeout.TotalMilliseconds;
        socket.ConnectAsync(key.Remote, _stop.Token).AsTask().ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) return new IceTcpProtocol.ConnectDone(key, socket, null);
            socket.Dispose();
            var error = t.Exception?.GetBaseException();
            return new IceTcpProtocol.ConnectDone(key, null, error?.Message ?? "cancelled")
            {
                InUse = error is SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.AddressAlreadyInUse },
                Refused = error is SocketException { SocketErrorCode: SocketError.ConnectionRefused },
            };
        }, TaskScheduler.Default).PipeTo(Self);
        Timers.StartSingleTimer(key, new IceTcpProtocol.ConnectTimedOut(key), TimeSpan.FromMilliseconds(Math.Max(1, c.ConnectDeadline - now)));
    }

    private void OnConnectDone(IceTcpProtocol.ConnectDone m)
    {
        Timers.Cancel(m.Key);
        if (!_connections.TryGetValue(m.Key, out var c) || c.Socket is not null)
        {
            m.Socket?.Dispose(); // timed out meanwhile
            return;
        }
        if (m.Socket is null && m.InUse && m.Key.Type == TcpCandidateType.SimultaneousOpen)
        {
            // the remote's connection to this candidate's port is in its listener's queue: it is the one connection
            // between the two ports, and takes what is queued here when accepted (OnAccepted), or times out
            Timers.StartSingleTimer(m.Key, new IceTcpProtocol.ConnectTimedOut(m.Key), _settings.ConnectTimeout);
            return;
        }
        if (m.Socket is null)
        {
            _connectFailures++;
            if (m.Refused && m.Key.Type == TcpCandidateType.SimultaneousOpen && c.Queue.Count > 0
                && Environment.TickCount64 + (long)_settings.SimultaneousOpenRetry.TotalMilliseconds < c.ConnectDeadline)
            {
                // TCP hole punching (RFC 6544 §5.2): a NAT that resets an unsolicited SYN lets ours in only while the
                // remote's own SYN to us is on its way (about a round trip); again shortly, from the same port, datagrams kept
                _log.Debug("ICE-TCP: {0} -> {1} refused ({2}); again in {3} ms", c.Key.Local, c.Key.Remote, m.Error, _settings.SimultaneousOpenRetry.TotalMilliseconds);
                Timers.StartSingleTimer(new IceTcpProtocol.RetryConnect(m.Key), new IceTcpProtocol.RetryConnect(m.Key), _settings.SimultaneousOpenRetry);
                return;
            }
            Close(c, $"connect failed: {m.Error}");
            return;
        }
        _opened++;
        c.Socket = m.Socket;
        m.Socket.NoDelay = true;
        Start(c);
        WriteNext(c);
    }

    private void Start(Connection c)
    {
        _log.Debug("ICE-TCP: {0} {1} <-> {2} ({3})", c.Key.Type == TcpCandidateType.Active ? "opened" : "connected", c.Key.Local, c.Key.Remote, c.Key.Type.ToSdp());
        _ = ReadLoop(c.Socket!, c.Key, _owner, Self, () =>
        {
            Interlocked.Increment(ref _received);
            c.Touch();
        }, _stop.Token);
    }

    private static async Task ReadLoop(Socket socket, IceTcpProtocol.ConnectionKey key, IActorRef owner, IActorRef self, Action counted, CancellationToken stop)
    {
        var reader = new TcpFrameReader();
        string reason;
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(reader.FreeSpace, SocketFlags.None, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                reason = e.SocketErrorCode == SocketError.ConnectionReset ? "reset by the remote" : e.Message;
                break;
            }
            if (n == 0)
            {
                reason = reader.Buffered == 0 ? "closed by the remote" : "closed by the remote in the middle of a frame";
                break;
            }
            reader.Advance(n);
            while (reader.TryRead(out var payload))
            {
                counted();
                owner.Tell(new IceTcpProtocol.Received(key.Local, key.Type, key.Remote, payload.ToArray()));
            }
        }
        self.Tell(new IceTcpProtocol.Ended(key, socket, reason));
    }

    private void WriteNext(Connection c)
    {
        if (c.Writing || c.Socket is not { } socket || c.Queue.Count == 0) return;
        var framed = c.Queue.Dequeue();
        c.Writing = true;
        var key = c.Key;
        WriteAll(socket, framed, _stop.Token).ContinueWith(t => t.IsCompletedSuccessfully
                ? new IceTcpProtocol.WriteDone(key, framed.Length, null)
                : new IceTcpProtocol.WriteDone(key, framed.Length, t.Exception?.GetBaseException().Message ?? "cancelled"),
            TaskScheduler.Default).PipeTo(Self);
    }

    private static async Task WriteAll(Socket socket, byte[] framed, CancellationToken stop)
    {
        int sent = 0;
        while (sent < framed.Length) sent += await socket.SendAsync(framed.AsMemory(sent), SocketFlags.None, stop).ConfigureAwait(false);
    }

    private void OnWriteDone(IceTcpProtocol.WriteDone m)
    {
        if (!_connections.TryGetValue(m.Key, out var c)) return;
        c.Writing = false;
        c.QueuedBytes -= m.Bytes;
        if (m.Error is not null)
        {
            Close(c, $"send failed: {m.Error}");
            return;
        }
        _sent++;
        WriteNext(c);
    }

    private void Close(Connection c, string reason)
    {
        _connections.Remove(c.Key);
        _dropped += c.Queue.Count;
        if (c.Socket is { } socket)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both); // a FIN, so the remote reads the end rather than a reset
            }
            catch (SocketException)
            {
                // not connected (any more): nothing to tell the remote
            }
            socket.Dispose();
        }
        Timers.Cancel(c.Key);
        Timers.Cancel(new IceTcpProtocol.RetryConnect(c.Key));
        _log.Debug("ICE-TCP: {0} <-> {1} closed: {2}", c.Key.Local, c.Key.Remote, reason);
    }

    private static IPEndPoint Normalize(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}
