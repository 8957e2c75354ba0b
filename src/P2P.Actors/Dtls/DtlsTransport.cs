using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Sctp;
using P2P.Protocol;
using P2P.Protocol.Dtls;

namespace P2P.Actors.Dtls;

/// <summary>Messages of <see cref="DtlsTransport"/>.</summary>
public static class DtlsProtocol
{
    // from the connection (or whatever carries the datagrams)

    /// <summary>A datagram received on the ICE connection that RFC 7983 classifies as DTLS (first byte 20-63); the payload is owned by the message.</summary>
    public sealed record Incoming(ReadOnlyMemory<byte> Datagram);

    // from the owner

    /// <summary>Application data to protect and send as one DTLS record; queued until the handshake completes. At most <see cref="Connected.MaxPayload"/> bytes.</summary>
    public sealed record Send(ReadOnlyMemory<byte> Data);

    /// <summary>From then on, decrypted records go from the worker straight to <paramref name="Target"/> (as <see cref="Received"/>) instead of through this actor to the owner.</summary>
    public sealed record RouteData(IActorRef Target);

    /// <summary>Send close_notify now (RFC 5246 §7.2.1) and stop; answered with <see cref="CloseSent"/> once the alert went to the sink.</summary>
    public sealed record Close
    {
        public static readonly Close Instance = new();
    }

    public sealed record CloseSent
    {
        public static readonly CloseSent Instance = new();
    }

    /// <summary>Answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats;

    public sealed record Stats(long DatagramsIn, long DatagramsOut, long NotDtls, long QueueDrops, long RecordsDecrypted, long RecordsSent, long SendsRefused);

    // to the datagram sink (the connection): one datagram to write on the selected pair

    /// <summary>A DTLS datagram to send to the remote (the sender is the <see cref="DtlsTransport"/>); at most the configured send limit.</summary>
    public sealed record Outgoing(ReadOnlyMemory<byte> Datagram);

    // events to the owner

    /// <summary>The handshake completed and the peer's certificate matched the expected fingerprint (SHA-256, "AB:CD:…").</summary>
    public sealed record Connected(string RemoteFingerprint, string CipherSuite)
    {
        /// <summary>The largest application payload one <see cref="Send"/> may carry (the send limit less the record overhead).</summary>
        public int MaxPayload { get; init; }
    }

    /// <summary>The handshake or the association failed (fingerprint mismatch, fatal alert, timeout); the actor stops itself.</summary>
    public sealed record Failed(string Reason);

    /// <summary>One decrypted application record.</summary>
    public sealed record Received(ReadOnlyMemory<byte> Data);

    /// <summary>The peer sent close_notify (RFC 5246 §7.2.1); the actor answered it and stops itself.</summary>
    public sealed record Closed
    {
        public static readonly Closed Instance = new();
    }

    // from the worker thread (internal)
    internal sealed record HandshakeCompleted(string RemoteFingerprint, string CipherSuite, int MaxPayload, Org.BouncyCastle.Tls.DtlsTransport Transport);

    internal sealed record HandshakeFailed(string Reason);

    internal sealed record ConnectionFailed(string Reason);

    internal sealed record Decrypted(byte[] Data);

    internal sealed record PeerClosed;

    internal sealed record SendRefused(int Length, int Limit);
}

/// <summary>
/// DTLS 1.2 (RFC 6347) on one ICE connection, as WebRTC uses it (RFC 8827 §6.5, RFC 8842): the role
/// comes from "a=setup" (<see cref="DtlsSetup.ResolveRole"/>), both sides present self-signed
/// certificates (<see cref="DtlsCertificate"/>), and each checks the other's against the fingerprint
/// of the remote description (RFC 8122), refusing the session on a mismatch. Datagrams come in as
/// <see cref="DtlsProtocol.Incoming"/> and go out to the sink as <see cref="DtlsProtocol.Outgoing"/>;
/// application data goes in as <see cref="DtlsProtocol.Send"/> and comes out to the owner as
/// <see cref="DtlsProtocol.Received"/>. BouncyCastle's DTLS API blocks, so it runs on a worker thread
/// (<see cref="DtlsWorker"/>) that pipes its results back as messages; this actor never blocks.
/// Stopping the actor sends close_notify.
/// </summary>
public sealed class DtlsTransport : ReceiveActor
{
    private readonly DtlsRole _role;
    private readonly DtlsPeerState _state;
    private readonly IActorRef _sink;
    private readonly IActorRef? _ownerGiven;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _owner = ActorRefs.Nobody;
    private DtlsWorker? _worker;
    private bool _done;
    private long _datagramsIn, _datagramsOut, _notDtls, _decrypted, _sent, _refused;

    public DtlsTransport(DtlsRole role, DtlsCertificate certificate, CertificateFingerprint remoteFingerprint, IActorRef sink, DtlsSettings settings, IActorRef? owner)
    {
        _role = role;
        _state = new DtlsPeerState(certificate, remoteFingerprint, settings);
        _sink = sink;
        _ownerGiven = owner;

        Receive<DtlsProtocol.Incoming>(m =>
        {
            _datagramsIn++;
            // RFC 7983 §7: only 20-63 is DTLS; anything else on this path is not ours to parse.
            if (PacketDemultiplexer.Classify(m.Datagram.Span) != PacketKind.Dtls) { _notDtls++; return; }
            _worker?.Deliver(Owned(m.Datagram));
        });
        Receive<DtlsProtocol.Send>(m => Protect(m.Data));
        Receive<SctpProtocol.Outbound>(m => Protect(m.Packet)); // an SCTP association may use this transport as its wire
        Receive<DtlsProtocol.RouteData>(m => _worker?.RouteData(m.Target));
        Receive<DtlsProtocol.Close>(_ =>
        {
            _done = true;
            _worker?.Stop(); // close_notify goes to the sink before this answer does
            Sender.Tell(DtlsProtocol.CloseSent.Instance);
            Context.Stop(Self);
        });
        Receive<DtlsProtocol.HandshakeCompleted>(m =>
        {
            _log.Info("DTLS {0} connected: {1}, peer sha-256 {2}", _role, m.CipherSuite, m.RemoteFingerprint);
            _owner.Tell(new DtlsProtocol.Connected(m.RemoteFingerprint, m.CipherSuite) { MaxPayload = m.MaxPayload });
            _worker?.Established(m.Transport); // after Connected: the owner hears of the association before its first record
        });
        Receive<DtlsProtocol.Decrypted>(m =>
        {
            _decrypted++;
            _owner.Tell(new DtlsProtocol.Received(m.Data));
        });
        Receive<DtlsProtocol.HandshakeFailed>(m => Fail(m.Reason));
        Receive<DtlsProtocol.ConnectionFailed>(m => Fail(m.Reason));
        Receive<DtlsProtocol.PeerClosed>(_ =>
        {
            _log.Info("DTLS {0}: the peer closed the association (close_notify)", _role);
            _done = true;
            _owner.Tell(DtlsProtocol.Closed.Instance);
            Context.Stop(Self);
        });
        Receive<DtlsProtocol.SendRefused>(m =>
        {
            _refused++;
            _log.Warning("DTLS {0}: dropped {1} bytes to send: one record carries at most {2}", _role, m.Length, m.Limit);
        });
        Receive<Supervision.InjectFault>(m => throw new Supervision.InjectedFaultException(m.Reason));
        Receive<DtlsProtocol.GetStats>(_ => Sender.Tell(new DtlsProtocol.Stats(
            _datagramsIn, Interlocked.Read(ref _datagramsOut), _notDtls, _worker?.Dropped ?? 0, _decrypted + (_worker?.RoutedRecords ?? 0), _sent, _refused)));
    }

    /// <param name="role">Client (the "active" side) or server, from <see cref="DtlsSetup.ResolveRole"/>.</param>
    /// <param name="certificate">This peer's certificate (one per peer, shared by its sessions).</param>
    /// <param name="remoteFingerprint">The fingerprint from the remote description's "a=fingerprint".</param>
    /// <param name="sink">Gets every <see cref="DtlsProtocol.Outgoing"/> datagram (the connection).</param>
    /// <param name="settings">Timers and limits; <see cref="DtlsSettings.Default"/> when null.</param>
    /// <param name="owner">Gets the events; the parent when null.</param>
    public static Props Props(DtlsRole role, DtlsCertificate certificate, CertificateFingerprint remoteFingerprint, IActorRef sink,
        DtlsSettings? settings = null, IActorRef? owner = null) =>
        Akka.Actor.Props.Create(() => new DtlsTransport(role, certificate, remoteFingerprint, sink, settings ?? DtlsSettings.Default, owner));

    protected override void PreStart()
    {
        _owner = _ownerGiven ?? Context.Parent;
        var self = Self;
        var sink = _sink;
        // Runs on the worker thread: only an atomic counter and a Tell (both thread-safe).
        _worker = new DtlsWorker(_role, _state, self, datagram =>
        {
            Interlocked.Increment(ref _datagramsOut);
            sink.Tell(new DtlsProtocol.Outgoing(datagram), self);
        });
        _worker.Start();
    }

    protected override void PostStop() => _worker?.Stop();

    private void Protect(ReadOnlyMemory<byte> data)
    {
        if (_done) return;
        _sent++;
        _worker?.Send(Owned(data));
    }

    /// <summary>The bytes as an array of their own: messages own their payloads, so a whole array is taken as it is.</summary>
    private static byte[] Owned(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : data.ToArray();

    private void Fail(string reason)
    {
        if (_done) return;
        _done = true;
        _log.Warning("DTLS {0} failed: {1}", _role, reason);
        _owner.Tell(new DtlsProtocol.Failed(reason));
        Context.Stop(Self);
    }
}
