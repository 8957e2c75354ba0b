using Akka.Actor;
using Org.BouncyCastle.Tls;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Dtls;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace P2P.Actors.Dtls;

/// <summary>
/// BouncyCastle's DTLS for one <see cref="DtlsTransport"/> actor. Its handshake API blocks, so the handshake
/// (<see cref="DtlsClientProtocol.Connect"/> / <see cref="DtlsServerProtocol.Accept(TlsServer, DatagramTransport)"/>)
/// runs on a thread of its own, which reports the outcome to the actor and ends. From then on the record layer
/// is driven by the actor itself (<see cref="Established"/>): a datagram that comes in is queued and read
/// at once (<see cref="Deliver"/>), which never waits because it is already there, and application data is
/// protected and written in the same call (<see cref="Send"/>). So an established association costs no thread and
/// no hop between threads per packet, and everything except the handshake happens on the actor, one at a time.
/// </summary>
internal sealed class DtlsWorker
{
    /// <summary>
    /// The longest one read of an established association spins when the datagram it took carried no application
    /// record (a retransmitted handshake flight, an alert): BouncyCastle then waits for the next datagram until this
    /// elapses, and the transport, no longer blocking, answers "none" at once.
    /// </summary>
    private const int ReadWaitMillis = 1;

    private readonly DtlsRole _role;
    private readonly DtlsPeerState _state;
    private readonly IActorRef _self;
    private readonly QueuedDatagramTransport _transport;
    private readonly List<byte[]> _waiting = []; // application data sent before the handshake completed
    private BcDtlsTransport? _dtls;              // the actor's, once established
    [ThreadStatic] private static byte[]? t_record;   // decrypted records are copied out at once: one buffer per thread, not 16 KiB per association
    private IActorRef? _dataTarget;
    private volatile bool _stopping;
    private bool _ended;
    private long _routed;

    public DtlsWorker(DtlsRole role, DtlsPeerState state, IActorRef self, DatagramSender send)
    {
        _role = role;
        _state = state;
        _self = self;
        var settings = state.Settings;
        _transport = new QueuedDatagramTransport(settings.SendLimit, settings.ReceiveLimit, settings.ReceiveQueue, send);
    }

    /// <summary>Received datagrams dropped because the queue was full (during the handshake) or the association had ended.</summary>
    public long Dropped => _transport.Dropped;

    /// <summary>Decrypted records told straight to the layer above (see <see cref="Attach"/>).</summary>
    public long RoutedRecords => _routed;

    public void Start() => Task.Factory.StartNew(Handshake, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // ---- on the actor ---------------------------------------------------------------------------------

    /// <summary>Decrypted records go to <paramref name="upper"/> as <see cref="DatagramProtocol.Received"/> from now on, not through the actor.</summary>
    public void Attach(IActorRef upper) => _dataTarget = upper;

    /// <summary>The handshake thread finished: the actor drives the record layer from now on; what waited is sent and read.</summary>
    public void Established(BcDtlsTransport dtls)
    {
        _dtls = dtls;
        _transport.NonBlocking = true;
        foreach (var data in _waiting) Send(data);
        _waiting.Clear();
        Read();
    }

    /// <summary>A DTLS datagram from the network: queued for the handshake, or read now once established.</summary>
    public void Deliver(byte[] datagram)
    {
        if (!_transport.Offer(datagram)) return;
        if (_dtls is not null) Read();
    }

    /// <summary>Application data to protect and send; kept until the handshake completes.</summary>
    public void Send(byte[] data)
    {
        if (_ended) return;
        if (_dtls is null)
        {
            _waiting.Add(data);
            return;
        }
        int limit = _dtls.GetSendLimit();
        if (data.Length > limit)
        {
            _self.Tell(new DtlsProtocol.SendRefused(data.Length, limit));
            return;
        }
        try
        {
            _dtls.Send(data, 0, data.Length);
        }
        catch (Exception e)
        {
            End(new DtlsProtocol.ConnectionFailed(Describe(e, handshake: false)));
        }
    }

    /// <summary>Sends close_notify (RFC 5246 §7.2.1) on an established association; aborts a handshake still running.</summary>
    public void Stop()
    {
        _stopping = true;
        if (_dtls is not null && !_ended)
        {
            _ended = true;
            try { _dtls.Close(); } catch (Exception) { /* the peer is gone: nothing to tell */ }
        }
        _transport.Close();
    }

    /// <summary>Reads every queued datagram and every record left over from one that carried several.</summary>
    private void Read()
    {
        var dtls = _dtls!;
        int limit = Math.Max(dtls.GetReceiveLimit(), 1);
        var record = t_record is { } buffer && buffer.Length >= limit ? buffer : t_record = new byte[limit];
        while (!_ended)
        {
            if (_state.CloseNotifyReceived)
            {
                End(new DtlsProtocol.PeerClosed());
                return;
            }
            int length;
            try
            {
                length = dtls.ReceivePending(record, 0, record.Length);
                if (length < 0)
                {
                    if (_transport.Pending == 0 && !_state.CloseNotifyReceived) return;
                    if (_transport.Pending == 0) continue;
                    length = dtls.Receive(record, 0, record.Length, ReadWaitMillis);
                }
            }
            catch (Exception e)
            {
                End(_state.CloseNotifyReceived ? new DtlsProtocol.PeerClosed() : new DtlsProtocol.ConnectionFailed(Describe(e, handshake: false)));
                return;
            }
            if (length >= 0) Emit(OwnedBytes.Copy(record.AsSpan(0, length)));
        }
    }

    private void Emit(byte[] record)
    {
        if (_dataTarget is { } target)
        {
            _routed++;
            target.Tell(new DatagramProtocol.Received(record), _self);
        }
        else _self.Tell(new DtlsProtocol.Decrypted(record));
    }

    private void End(object outcome)
    {
        _ended = true;
        _transport.Close();
        if (!_stopping) _self.Tell(outcome);
    }

    // ---- on the handshake thread ----------------------------------------------------------------------

    private void Handshake()
    {
        BcDtlsTransport dtls;
        try
        {
            dtls = _role == DtlsRole.Client
                ? new DtlsClientProtocol().Connect(new DtlsClient(_state), _transport)
                : new DtlsServerProtocol().Accept(new DtlsServer(_state), _transport);
        }
        catch (Exception e)
        {
            if (!_stopping) _self.Tell(new DtlsProtocol.HandshakeFailed(Describe(e, handshake: true)));
            _transport.Close();
            return;
        }
        if (_stopping)
        {
            try { dtls.Close(); } catch (Exception) { /* stopped while the handshake was finishing */ }
            return;
        }
        // records of application data may be larger than handshake flights, to a peer that reads them
        if (_state.RemoteIsP2p) _transport.SendLimit = _state.Settings.ApplicationSendLimit;
        _self.Tell(new DtlsProtocol.HandshakeCompleted(_state.RemoteFingerprint ?? string.Empty, _state.CipherSuiteName ?? string.Empty, dtls.GetSendLimit(), dtls));
    }

    private string Describe(Exception e, bool handshake)
    {
        if (_state.VerificationFailure is { } ours) return ours;
        string during = handshake ? "during the handshake" : "on the established association";
        return e switch
        {
            TlsFatalAlertReceived received =>
                $"DTLS: the peer ended the session with a fatal {AlertDescription.GetText(received.AlertDescription)} alert {during}",
            TlsTimeoutException when _transport.Queued == 0 =>
                $"DTLS: the handshake did not complete within {_state.Settings.HandshakeTimeout.TotalSeconds:0.#} s (no answer from the peer)",
            TlsTimeoutException =>
                $"DTLS: the handshake did not complete within {_state.Settings.HandshakeTimeout.TotalSeconds:0.#} s ({_transport.Queued} datagrams came from the peer)",
            TlsFatalAlert alert =>
                $"DTLS: {AlertDescription.GetText(alert.AlertDescription)} {during}{(alert.Message is { Length: > 0 } m ? ": " + m : string.Empty)}",
            DatagramTransportClosedException => $"DTLS: the transport closed {during}",
            _ => $"DTLS: {e.GetType().Name} {during}: {e.Message}",
        };
    }
}
