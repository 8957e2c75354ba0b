using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;

namespace P2P.Actors.Transport;

/// <summary>Messages of <see cref="UdpSocket"/>.</summary>
public static class UdpSocketProtocol
{
    /// <summary>Send one datagram. The payload is owned by the message: the sender must not reuse it.</summary>
    public sealed record Send(IPEndPoint To, ReadOnlyMemory<byte> Payload);

    /// <summary>A datagram arrived on <paramref name="Local"/> from <paramref name="From"/>; the payload is a private copy.</summary>
    public sealed record Received(IPEndPoint From, IPEndPoint Local, ReadOnlyMemory<byte> Payload);

    /// <summary>The socket is bound and receiving; told to the handler once at start.</summary>
    public sealed record Bound(IPEndPoint LocalEndPoint)
    {
        /// <summary>Sends on the socket from any thread, without a message to its actor; null where there is no such path (virtual sockets).</summary>
        public IUdpWriter? Writer { get; init; }
    }

    /// <summary>The socket could not be bound (port in use, address not local); the actor stops itself.</summary>
    public sealed record BindFailed(IPEndPoint Requested, string Reason);

    /// <summary>Ask for counters; answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats;

    public sealed record Stats(long DatagramsIn, long DatagramsOut, long BytesIn, long BytesOut, long SendErrors);

    internal sealed record ReceiveLoopFailed(Exception Error);
}

/// <summary>
/// Owns one UDP socket: the only place where the engine touches <see cref="Socket"/> for UDP (the
/// transport seam, docs/ARCHITECTURE.md). Received datagrams go to the handler given at creation, copied into
/// messages; <see cref="UdpSocketProtocol.Send"/> writes one datagram. A send error (for example an
/// unreachable network) is counted and logged, never thrown.
/// <para>
/// Received datagrams come from .NET's asynchronous socket engine, from an <see cref="IUdpReceiver"/> given at creation,
/// or (<c>receiveThread</c>) from a thread of the socket's own that receives with blocking calls. That socket is never
/// registered with the engine: registered, every datagram sent wakes the engine's epoll thread to say the socket is
/// writable again, and every one received goes from that thread to a thread-pool thread before it reaches the handler
/// (a profile of a file transfer between two processes put the two at ~10% of their CPU). Disposing the socket ends the
/// blocked receive.
/// </para>
/// </summary>
public sealed class UdpSocket : ReceiveActor
{
    private readonly IPEndPoint _requested;
    private readonly IActorRef _handler;
    private readonly int _bufferBytes;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IUdpReceiver? _receiver;
    private readonly bool _dontFragment;
    private readonly bool _receiveThread;
    private readonly CancellationTokenSource _stop = new();
    private IDisposable? _receiving;
    private Socket? _socket;
    private IPEndPoint? _local;
    private readonly IUdpRouter? _router;
    private long _datagramsIn, _datagramsOut, _bytesIn, _bytesOut, _sendErrors;

    public UdpSocket(IPEndPoint bind, IActorRef handler, int socketBufferBytes, IUdpReceiver? receiver = null, bool dontFragment = false, bool receiveThread = false,
        IUdpRouter? router = null)
    {
        _router = router;
        _receiveThread = receiveThread;
        _dontFragment = dontFragment;
        _requested = bind;
        _handler = handler;
        _bufferBytes = socketBufferBytes;
        _receiver = receiver;

        Receive<UdpSocketProtocol.Send>(OnSend);
        Receive<UdpSocketProtocol.GetStats>(_ => Sender.Tell(new UdpSocketProtocol.Stats(
            Interlocked.Read(ref _datagramsIn), Interlocked.Read(ref _datagramsOut), Interlocked.Read(ref _bytesIn), Interlocked.Read(ref _bytesOut),
            Interlocked.Read(ref _sendErrors))));
        Receive<UdpSocketProtocol.ReceiveLoopFailed>(f => throw new SocketException((int)SocketError.SocketError, $"UDP receive loop on {_local} failed: {f.Error.Message}"));
    }

    /// <param name="bind">Address and port to bind (port 0 picks a free one).</param>
    /// <param name="handler">Gets <see cref="UdpSocketProtocol.Bound"/>/<see cref="UdpSocketProtocol.BindFailed"/> and every <see cref="UdpSocketProtocol.Received"/>.</param>
    /// <param name="socketBufferBytes">Kernel send/receive buffer size; 0 keeps the system default.</param>
    /// <param name="receiver">
    /// Receives instead of the actor's asynchronous loop (see <see cref="IUdpReceiver"/>); its datagrams are not in
    /// <see cref="UdpSocketProtocol.Stats"/>. Null: the actor receives with .NET's asynchronous sockets.
    /// </param>
    /// <param name="dontFragment">
    /// Datagrams leave with Don't Fragment set and never fragmented by this host (Linux: IP_PMTUDISC_PROBE): one that
    /// does not fit the path is lost, which is what a path MTU probe (RFC 8899) needs to learn. Peers' sockets.
    /// </param>
    /// <param name="receiveThread">
    /// Without a <paramref name="receiver"/>: receive on a thread of the socket's own with blocking calls (see the class
    /// comment), for the few sockets that carry a session's data (a peer's). False: .NET's asynchronous socket engine,
    /// which costs no thread, for sockets that come by the thousand (a relay's allocations).
    /// </param>
    /// <param name="router">Asked first by the receive loop for every datagram (see <see cref="IUdpRouter"/>); not asked by a <paramref name="receiver"/>.</param>
    public static Props Props(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0, IUdpReceiver? receiver = null, bool dontFragment = false,
        bool receiveThread = false, IUdpRouter? router = null) =>
        Akka.Actor.Props.Create(() => new UdpSocket(bind, handler, socketBufferBytes, receiver, dontFragment, receiveThread, router));

    protected override void PreStart()
    {
        var socket = new Socket(_requested.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (_requested.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = _requested.Address.Equals(IPAddress.IPv6Any);
            if (_bufferBytes > 0)
            {
                socket.ReceiveBufferSize = _bufferBytes;
                socket.SendBufferSize = _bufferBytes;
            }
            socket.Bind(_requested);
            if (_dontFragment) SetDontFragment(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string reason = e.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"UDP port {_requested.Port} on {_requested.Address} is already in use"
                : $"cannot bind UDP {_requested}: {e.Message}";
            _log.Warning("UDP bind failed: {0}", reason);
            _handler.Tell(new UdpSocketProtocol.BindFailed(_requested, reason), Self);
            Context.Stop(Self);
            return;
        }
        _socket = socket;
        _local = (IPEndPoint)socket.LocalEndPoint!;
        if (_receiver is not null)
        {
            // Started before Bound is told, so that whoever gets Bound finds the receiver running.
            _receiving = _receiver.Start(socket, _local, new UdpDelivery(_handler, Self, _local));
            _handler.Tell(new UdpSocketProtocol.Bound(_local) { Writer = new DirectWriter(this, socket) }, Self);
            return;
        }
        _handler.Tell(new UdpSocketProtocol.Bound(_local) { Writer = new DirectWriter(this, socket) }, Self);
        if (!_receiveThread)
        {
            _ = ReceiveLoopAsync(socket, _local, _handler, Self, _stop.Token);
            return;
        }
        var (local, handler, self, stop) = (_local, _handler, Self, _stop.Token);
        new Thread(() => ReceiveLoop(socket, local, handler, self, stop)) { IsBackground = true, Name = $"udp {_local.Port}" }.Start();
    }

    protected override void PostStop()
    {
        _receiving?.Dispose();
        _stop.Cancel();
        _socket?.Dispose();   // ends a receive blocked on it (on Linux .NET shuts the socket down first)
    }

    // Linux <netinet/in.h>: IP_MTU_DISCOVER / IPV6_MTU_DISCOVER with *_PMTUDISC_PROBE: DF set, the route's cached PMTU ignored.
    private const int IpProtocolIp = 0, IpMtuDiscover = 10, IpProtocolIpv6 = 41, Ipv6MtuDiscover = 23, PmtuDiscoverProbe = 3;

    private void SetDontFragment(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return;   // elsewhere the system default stays (a large probe may then be fragmented)
        var value = BitConverter.GetBytes(PmtuDiscoverProbe);
        try
        {
            if (socket.AddressFamily == AddressFamily.InterNetworkV6) socket.SetRawSocketOption(IpProtocolIpv6, Ipv6MtuDiscover, value);
            if (socket.AddressFamily == AddressFamily.InterNetwork || socket.DualMode) socket.SetRawSocketOption(IpProtocolIp, IpMtuDiscover, value);
        }
        catch (SocketException e)
        {
            _log.Debug("UDP {0}: Don't Fragment not set ({1}); path MTU probes may be fragmented", _requested, e.SocketErrorCode);
        }
    }

    private void OnSend(UdpSocketProtocol.Send send)
    {
        if (_socket is not null) SendTo(_socket, send.Payload.Span, send.To);
    }

    /// <summary>One datagram out, from the actor or from a <see cref="DirectWriter"/>'s caller (a socket may be written by several threads at once).</summary>
    private bool SendTo(Socket socket, ReadOnlySpan<byte> datagram, IPEndPoint to)
    {
        try
        {
            socket.SendTo(datagram, SocketFlags.None, to);
            Interlocked.Increment(ref _datagramsOut);
            Interlocked.Add(ref _bytesOut, datagram.Length);
            return true;
        }
        catch (SocketException e)
        {
            Interlocked.Increment(ref _sendErrors);
            _log.Debug("UDP send from {0} to {1} failed: {2}", _local, to, e.SocketErrorCode);
            return true; // counted and logged as the actor's own sends are: the datagram is lost, as on the wire
        }
        catch (ObjectDisposedException)
        {
            return false; // closed: the caller's fallback message reaches the stopped actor's dead letters
        }
    }

    /// <summary>The socket's <see cref="IUdpWriter"/>: the same send as <see cref="UdpSocketProtocol.Send"/>, on the caller's thread.</summary>
    private sealed class DirectWriter(UdpSocket owner, Socket socket) : IUdpWriter
    {
        public bool TrySendTo(ReadOnlySpan<byte> datagram, IPEndPoint to) => owner.SendTo(socket, datagram, to);
    }

    /// <summary>Receives until stopped, with .NET's asynchronous socket engine (see <see cref="ReceiveLoop"/> for IP_PKTINFO).</summary>
    private async Task ReceiveLoopAsync(Socket socket, IPEndPoint local, IActorRef handler, IActorRef self, CancellationToken stop)
    {
        var buffer = new byte[65_536];
        bool boundToAny = IsBoundToAny(local);
        if (boundToAny) AskForDestinations(socket, local);
        EndPoint any = AnySender(local);
        while (!stop.IsCancellationRequested)
        {
            EndPoint from;
            int received;
            IPEndPoint destination = local;
            try
            {
                if (boundToAny)
                {
                    var r = await socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, stop).ConfigureAwait(false);
                    (from, received) = (r.RemoteEndPoint, r.ReceivedBytes);
                    destination = DestinationOf(r.PacketInformation.Address, local);
                }
                else
                {
                    var r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stop).ConfigureAwait(false);
                    (from, received) = (r.RemoteEndPoint, r.ReceivedBytes);
                }
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue; // ICMP port unreachable echoed on some platforms, or an oversize datagram: not fatal
            }
            catch (Exception e)
            {
                if (!stop.IsCancellationRequested) self.Tell(new UdpSocketProtocol.ReceiveLoopFailed(e));
                return;
            }
            Deliver(handler, self, (IPEndPoint)from, destination, buffer.AsSpan(0, received));
        }
    }

    /// <summary>
    /// Receives until stopped, on the socket's own thread. A socket bound to "any" asks the kernel for each datagram's
    /// destination address (IP_PKTINFO), so that <see cref="UdpSocketProtocol.Received.Local"/> names the interface
    /// address it came to: ICE needs it to know which host candidate a check arrived on (RFC 8445 §7.3.1.3). The sender's
    /// endpoint object is reused while datagrams keep coming from the same address (a selected pair's peer).
    /// </summary>
    private void ReceiveLoop(Socket socket, IPEndPoint local, IActorRef handler, IActorRef self, CancellationToken stop)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65_536);
        bool boundToAny = IsBoundToAny(local);
        EndPoint any = AnySender(local);
        var address = new SocketAddress(local.AddressFamily);
        var lastAddress = new SocketAddress(local.AddressFamily);
        IPEndPoint? lastFrom = null;
        try
        {
            if (boundToAny) AskForDestinations(socket, local);
        }
        catch (ObjectDisposedException) { return; }
        while (!stop.IsCancellationRequested)
        {
            IPEndPoint from;
            int received;
            IPEndPoint destination = local;
            try
            {
                if (boundToAny)
                {
                    var flags = SocketFlags.None;
                    var sender = any;
                    received = socket.ReceiveMessageFrom(buffer, ref flags, ref sender, out var information);
                    from = (IPEndPoint)sender;
                    destination = DestinationOf(information.Address, local);
                }
                else
                {
                    received = socket.ReceiveFrom(buffer, SocketFlags.None, address);
                    if (lastFrom is null || !address.Equals(lastAddress))
                    {
                        (address, lastAddress) = (lastAddress, address);
                        lastFrom = (IPEndPoint)any.Create(lastAddress);
                    }
                    from = lastFrom;
                }
            }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) when (stop.IsCancellationRequested) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue; // ICMP port unreachable echoed on some platforms, or an oversize datagram: not fatal
            }
            catch (Exception e)
            {
                if (!stop.IsCancellationRequested) self.Tell(new UdpSocketProtocol.ReceiveLoopFailed(e));
                return;
            }
            if (stop.IsCancellationRequested) return;   // a socket shut down for closing reads as an empty datagram
            Deliver(handler, self, from, destination, buffer.AsSpan(0, received));
        }
    }

    private static bool IsBoundToAny(IPEndPoint local) => local.Address.Equals(IPAddress.Any) || local.Address.Equals(IPAddress.IPv6Any);

    /// <summary>IP_PKTINFO / IPV6_PKTINFO: each datagram then says which of the host's addresses it came to.</summary>
    private static void AskForDestinations(Socket socket, IPEndPoint local) =>
        socket.SetSocketOption(local.AddressFamily == AddressFamily.InterNetworkV6 ? SocketOptionLevel.IPv6 : SocketOptionLevel.IP,
            SocketOptionName.PacketInformation, true);

    private static EndPoint AnySender(IPEndPoint local) =>
        local.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);

    /// <summary>The address a datagram came to (from its packet information), or the bound one when it did not say.</summary>
    private static IPEndPoint DestinationOf(IPAddress? to, IPEndPoint local) =>
        to is null ? local : new IPEndPoint(to.IsIPv4MappedToIPv6 ? to.MapToIPv4() : to, local.Port);

    private void Deliver(IActorRef handler, IActorRef self, IPEndPoint from, IPEndPoint destination, ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _datagramsIn);
        Interlocked.Add(ref _bytesIn, datagram.Length);
        if (_router is { } router && router.TryRoute(from, datagram)) return;
        handler.Tell(new UdpSocketProtocol.Received(from, destination, P2P.Protocol.OwnedBytes.Copy(datagram)), self);
    }
}
