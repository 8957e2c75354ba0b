using System.Threading.Channels;
using Akka.Actor;
using Org.BouncyCastle.Tls;
using P2P.Protocol.Dtls;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace P2P.Actors.Dtls;

/// <summary>
/// Runs BouncyCastle's blocking DTLS API off the actor: a dedicated thread performs the handshake
/// (<see cref="DtlsClientProtocol.Connect"/> / <see cref="DtlsServerProtocol.Accept(TlsServer, DatagramTransport)"/>)
/// and then the receive loop; a task writes queued application data once the handshake is done and
/// ends with close_notify. Every outcome is told to the actor as a message; the actor calls only the
/// non-blocking members (<see cref="Deliver"/>, <see cref="Send"/>, <see cref="Stop"/>).
/// </summary>
internal sealed class DtlsWorker
{
    /// <summary>How long one read of the receive loop waits before it looks at the stop flag again.</summary>
    private const int ReceivePollMillis = 1000;

    private readonly DtlsRole _role;
    private readonly DtlsPeerState _state;
    private readonly IActorRef _self;
    private readonly QueuedDatagramTransport _transport;
    private readonly Channel<byte[]> _outgoing = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource<BcDtlsTransport> _established = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    public DtlsWorker(DtlsRole role, DtlsPeerState state, IActorRef self, Action<byte[]> send)
    {
        _role = role;
        _state = state;
        _self = self;
        var settings = state.Settings;
        _transport = new QueuedDatagramTransport(settings.SendLimit, settings.ReceiveLimit, settings.ReceiveQueue, send);
    }

    /// <summary>Received datagrams dropped because the worker's queue was full.</summary>
    public long Dropped => _transport.Dropped;

    public void Start()
    {
        Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _ = SendLoop();
    }

    /// <summary>A DTLS datagram from the network (never blocks; false if dropped).</summary>
    public bool Deliver(byte[] datagram) => _transport.Offer(datagram);

    /// <summary>Application data to protect and send; queued until the handshake completes.</summary>
    public void Send(byte[] data) => _outgoing.Writer.TryWrite(data);

    /// <summary>Sends what is queued, then close_notify (RFC 5246 §7.2.1); aborts a handshake still running.</summary>
    public void Stop()
    {
        _stopping = true;
        _outgoing.Writer.TryComplete();
        if (_established.TrySetCanceled()) _transport.Close();
    }

    private void Run()
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
            _established.TrySetCanceled();
            if (!_stopping) _self.Tell(new DtlsProtocol.HandshakeFailed(Describe(e, handshake: true)));
            _transport.Close();
            return;
        }
        if (!_established.TrySetResult(dtls))
        {
            dtls.Close(); // stopped while the handshake was finishing
            return;
        }
        _self.Tell(new DtlsProtocol.HandshakeCompleted(_state.RemoteFingerprint ?? string.Empty, _state.CipherSuiteName ?? string.Empty, dtls.GetSendLimit()));

        var buffer = new byte[Math.Max(dtls.GetReceiveLimit(), 1)];
        while (true)
        {
            int received;
            try
            {
                received = dtls.Receive(buffer, 0, buffer.Length, ReceivePollMillis);
            }
            catch (Exception e)
            {
                if (_stopping) return;
                if (_state.CloseNotifyReceived) _self.Tell(new DtlsProtocol.PeerClosed());
                else _self.Tell(new DtlsProtocol.ConnectionFailed(Describe(e, handshake: false)));
                return;
            }
            if (received >= 0) _self.Tell(new DtlsProtocol.Decrypted(buffer.AsSpan(0, received).ToArray()));
            else if (_stopping) return;
        }
    }

    private async Task SendLoop()
    {
        BcDtlsTransport dtls;
        try
        {
            dtls = await _established.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            int limit = dtls.GetSendLimit();
            await foreach (var data in _outgoing.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (data.Length > limit) _self.Tell(new DtlsProtocol.SendRefused(data.Length, limit));
                else dtls.Send(data);
            }
            dtls.Close(); // close_notify, then the record layer closes our transport, which ends the receive loop
        }
        catch (Exception e)
        {
            if (!_stopping) _self.Tell(new DtlsProtocol.ConnectionFailed(Describe(e, handshake: false)));
        }
    }

    private string Describe(Exception e, bool handshake)
    {
        if (_state.VerificationFailure is { } ours) return ours;
        string during = handshake ? "during the handshake" : "on the established association";
        return e switch
        {
            TlsFatalAlertReceived received =>
                $"DTLS: the peer ended the session with a fatal {AlertDescription.GetText(received.AlertDescription)} alert {during}",
            TlsTimeoutException =>
                $"DTLS: the handshake did not complete within {_state.Settings.HandshakeTimeout.TotalSeconds:0.#} s (no answer from the peer)",
            TlsFatalAlert alert =>
                $"DTLS: {AlertDescription.GetText(alert.AlertDescription)} {during}{(alert.Message is { Length: > 0 } m ? ": " + m : string.Empty)}",
            DatagramTransportClosedException => $"DTLS: the transport closed {during}",
            _ => $"DTLS: {e.GetType().Name} {during}: {e.Message}",
        };
    }
}
