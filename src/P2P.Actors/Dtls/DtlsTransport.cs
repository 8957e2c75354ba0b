using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Dtls;

namespace P2P.Actors.Dtls;

/// <summary>
/// Messages of <see cref="DtlsTransport"/> besides the datagram contract (<see cref="DatagramProtocol"/>): from the layer
/// below it takes Received (a datagram that RFC 7983 classifies as DTLS, first byte 20-63); from the layer above, Send
/// (application data to protect as one DTLS record, queued until the handshake completes, at most
/// <see cref="Connected.MaxPayload"/> bytes) and Attach; it writes its datagrams down through its
/// <see cref="DatagramLink"/> and hands each decrypted record up as Received, to the attached layer or else to its owner.
/// </summary>
public static class DtlsProtocol
{
    // from the owner

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

    // events to the owner

    /// <summary>The handshake completed and the peer's certificate matched the expected fingerprint (SHA-256, "AB:CD:…").</summary>
    public sealed record Connected(string RemoteFingerprint, string CipherSuite)
    {
        /// <summary>The largest application payload one <see cref="Send"/> may carry (the send limit less the record overhead).</summary>
        public int MaxPayload { get; init; }
    }

    /// <summary>The handshake or the association failed (fingerprint mismatch, fatal alert, timeout); the actor stops itself.</summary>
    public sealed record Failed(string Reason);

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
/// of the remote description (RFC 8122), refusing the session on a mismatch. It speaks the datagram contract both ways
/// (<see cref="DatagramProtocol"/>): datagrams come up from the layer below as Received and go down through its
/// <see cref="DatagramLink"/>; application data comes down as Send and goes up as Received. BouncyCastle's DTLS API blocks, so it runs on a worker thread
/// (<see cref="DtlsWorker"/>) that pipes its results back as messages; this actor never blocks.
/// Stopping the actor sends close_notify.
/// </summary>
public sealed class DtlsTransport : ReceiveActor
{
    private readonly DtlsRole _role;
    private readonly DtlsPeerState _state;
    private readonly DatagramLink _below;
    private readonly IActorRef? _ownerGiven;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _owner = ActorRefs.Nobody;
    private DtlsWorker? _worker;
    private bool _done;
    private long _datagramsIn, _datagramsOut, _notDtls, _decrypted, _sent, _refused;

    public DtlsTransport(DtlsRole role, DtlsCertificate certificate, CertificateFingerprint remoteFingerprint, DatagramLink below, DtlsSettings settings, IActorRef? owner)
    {
        _role = role;
        _state = new DtlsPeerState(certificate, remoteFingerprint, settings);
        _below = below;
        _ownerGiven = owner;

        Receive<DatagramProtocol.Received>(m =>
        {
            _datagramsIn++;
            // RFC 7983 §7: only 20-63 is DTLS; anything else on this path is not ours to parse.
            if (PacketDemultiplexer.Classify(m.Datagram.Span) != PacketKind.Dtls) { _notDtls++; return; }
            _worker?.Deliver(Owned(m.Datagram));
        });
        Receive<DatagramProtocol.Send>(m => Protect(m.Datagram));
        Receive<DatagramProtocol.Attach>(m => _worker?.Attach(m.Upper));
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
            _owner.Tell(new DatagramProtocol.Received(m.Data));
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
    /// <param name="below">Where every DTLS datagram goes (the connection, and its direct path where it offers one).</param>
    /// <param name="settings">Timers and limits; <see cref="DtlsSettings.Default"/> when null.</param>
    /// <param name="owner">Gets the events; the parent when null.</param>
    public static Props Props(DtlsRole role, DtlsCertificate certificate, CertificateFingerprint remoteFingerprint, DatagramLink below,
        DtlsSettings? settings = null, IActorRef? owner = null) =>
        Akka.Actor.Props.Create(() => new DtlsTransport(role, certificate, remoteFingerprint, below, settings ?? DtlsSettings.Default, owner));

    protected override void PreStart()
    {
        _owner = _ownerGiven ?? Context.Parent;
        var self = Self;
        var below = _below;
        // Runs on the handshake thread, then on the actor: only an atomic counter and the link's thread-safe send.
        _worker = new DtlsWorker(_role, _state, self, datagram =>
        {
            Interlocked.Increment(ref _datagramsOut);
            below.Send(datagram, self);
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
        _log.Warning("DTLS {0} failed: {1} (datagrams: {2} in, {3} of them not DTLS, {4} dropped; {5} out)", _role, reason, _datagramsIn, _notDtls,
            _worker?.Dropped ?? 0, Interlocked.Read(ref _datagramsOut));
        _owner.Tell(new DtlsProtocol.Failed(reason));
        Context.Stop(Self);
    }
}
