using Org.BouncyCastle.Tls;
using P2P.Protocol.Dtls;

namespace P2P.Actors.Dtls;

/// <summary>
/// One throw-away DTLS handshake in memory, our client against our server with the peer's own certificate, run
/// once per process in the background while no peer is there yet. The first handshake of a process pays for more
/// than its cryptography: static tables of BouncyCastle's curves and suites, OpenSSL's ECDSA set-up, the tiering
/// of the record layer. Paid here, they are not on the connect path of the first real session.
/// </summary>
internal static class DtlsWarmUp
{
    private static int _started;
    private static readonly TaskCompletionSource<bool> Finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The process's warm-up: true once its handshake completed, false when it failed (it is only ever started once).</summary>
    public static Task<bool> Done => Finished.Task;

    /// <summary>Warm-up handshakes started in the background so far (at most one per process).</summary>
    public static int Runs => Volatile.Read(ref _runs);

    private static int _runs;

    /// <summary>Starts the warm-up on a thread of its own, once per process (later calls do nothing).</summary>
    public static void Start(DtlsCertificate certificate, DtlsSettings settings)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) return;
        var thread = new Thread(() =>
        {
            Interlocked.Increment(ref _runs);
            Finished.TrySetResult(Run(certificate, settings));
        }) { IsBackground = true, Name = "dtls-warm-up" };
        thread.Start();
    }

    /// <summary>Runs one handshake between a client and a server in memory; true when it completed. Blocks (two threads) until then.</summary>
    public static bool Run(DtlsCertificate certificate, DtlsSettings settings)
    {
        var state = new DtlsPeerState(certificate, certificate.Fingerprint, settings);
        QueuedDatagramTransport? toClient = null, toServer = null;
        toClient = new QueuedDatagramTransport(settings.SendLimit, settings.ReceiveLimit, 64, datagram => toServer!.Offer(datagram.ToArray()));
        toServer = new QueuedDatagramTransport(settings.SendLimit, settings.ReceiveLimit, 64, datagram => toClient.Offer(datagram.ToArray()));
        var server = Task.Factory.StartNew(() => new DtlsServerProtocol().Accept(new DtlsServer(new DtlsPeerState(certificate, certificate.Fingerprint, settings)), toServer),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            var client = new DtlsClientProtocol().Connect(new DtlsClient(state), toClient);
            var serverSide = server.Wait(settings.HandshakeTimeout) ? server.Result : null;
            byte[] record = [1, 2, 3];
            client.Send(record, 0, record.Length);
            var received = new byte[serverSide?.GetReceiveLimit() ?? 1];
            bool ok = serverSide is not null && serverSide.Receive(received, 0, received.Length, 1000) == record.Length;
            client.Close();
            serverSide?.Close();
            return ok;
        }
        catch (Exception e) when (e is TlsException or IOException or AggregateException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            toClient.Close();
            toServer.Close();
        }
    }
}
