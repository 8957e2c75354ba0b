using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;

namespace P2P.Benchmarks;

/// <summary>
/// A TURN load client that finds a relay's ceiling (issue 7): turnutils_uclient paces itself, this one sends as fast
/// as the relay returns. It opens <c>A</c> UDP allocations on the server (long-term credentials, RFC 8656 §7), each from
/// its own client socket on 127.0.0.1 and with a peer socket of its own; it installs a permission and binds channel
/// 0x4000 to that peer (§9, §11). Then every client keeps <c>W</c> ChannelData packets in flight: the relay forwards
/// each from the relayed address to the peer socket, the peer echoes it back to the relayed address, and the relay
/// hands it to the client as ChannelData, which sends the next one. Every one-way trip through the relay counts as
/// one relayed packet (a round trip is two). A packet missing for longer than <see cref="LossTimeout"/> is counted
/// lost and replaced, so a drop does not shrink the window. After a warm-up that is not counted, it measures the
/// relayed packets, and the server's CPU time from /proc (<see cref="ProcCpu"/>), over the measured interval.
/// With <c>--tls</c> every client reaches the server over TURN over TLS (RFC 8656 §3.1) instead of UDP: one TLS
/// connection per allocation (TLS 1.2 or 1.3, ALPN "stun.turn", any certificate accepted: loopback only), the same
/// messages framed as on TCP (ChannelData padded to 4 bytes), one TLS record per message.
/// Run: <c>dotnet run -c Release --project bench/P2P.Benchmarks -- relayload 127.0.0.1:3478 user pass &lt;server-pid&gt;
/// [--allocations A] [--window W] [--seconds D] [--size B] [--label name] [--tls]</c>; <c>bench/run-relay.sh</c> points it at
/// <c>p2p relay</c> and at coturn in turn.
/// </summary>
public static class RelayLoad
{
    private static readonly TimeSpan LossTimeout = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);
    private const ushort Channel = 0x4000;
    private const int MinPayload = 8; // slot (2), zero (2), sequence number (4)
    private const int SocketBufferBytes = 2 << 20;

    public sealed record Options(
        IPEndPoint Server, string User, string Password, int ServerPid, int Allocations, int Window, int Seconds, int Size, string Label, bool Tls = false);

    public static async Task<int> RunAsync(string[] args)
    {
        if (!TryParse(args, out var options, out string? error))
        {
            Console.Error.WriteLine($"relayload: {error}");
            Console.Error.WriteLine("usage: relayload <host:port> <user> <pass> <server-pid> [--allocations A] [--window W] [--seconds D] [--size B] [--label name] [--tls]");
            return 2;
        }
        if (!ProcCpu.TryReadSeconds(options.ServerPid, out _))
        {
            Console.Error.WriteLine($"relayload: no process {options.ServerPid} to measure (/proc/{options.ServerPid}/stat)");
            return 2;
        }
        try
        {
            return await MeasureAsync(options);
        }
        catch (Exception e) when (e is RelayLoadException or TimeoutException or SocketException or AuthenticationException or IOException)
        {
            Console.Error.WriteLine($"relayload {options.Label}: {e.Message}");
            return 1;
        }
    }

    private static bool TryParse(string[] args, out Options options, out string? error)
    {
        options = null!;
        error = null;
        if (args.Length < 4) { error = "four arguments are required"; return false; }
        if (!IPEndPoint.TryParse(args[0], out var server) || server.Port == 0) { error = $"'{args[0]}' is not an ip:port"; return false; }
        if (!int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) { error = $"'{args[3]}' is not a process id"; return false; }
        int allocations = 64, window = 8, seconds = 10, size = 100;
        string label = args[0];
        bool tls = false;
        for (int i = 4; i < args.Length; i++)
        {
            string name = args[i];
            if (name == "--tls") { tls = true; continue; }
            if (i + 1 >= args.Length) { error = $"{name} needs a value"; return false; }
            string value = args[++i];
            if (name == "--label") { label = value; continue; }
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number <= 0)
            {
                error = $"{name} needs a positive number, not '{value}'";
                return false;
            }
            switch (name)
            {
                case "--allocations": allocations = number; break;
                case "--window": window = Math.Min(number, ushort.MaxValue); break;
                case "--seconds": seconds = number; break;
                case "--size": size = number; break;
                default: error = $"unknown option {name}"; return false;
            }
        }
        if (size < MinPayload || size > 1400) { error = $"--size must be {MinPayload} to 1400 bytes"; return false; }
        options = new Options(server, args[1], args[2], pid, allocations, window, seconds, size, label, tls);
        return true;
    }

    private static async Task<int> MeasureAsync(Options options)
    {
        var lanes = new List<Lane>(options.Allocations);
        try
        {
            for (int i = 0; i < options.Allocations; i++)
                lanes.Add(await Lane.OpenAsync(options, CancellationToken.None));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"relayload {options.Label}: {lanes.Count} allocations on {options.Server}{(options.Tls ? " over TLS" : string.Empty)}, window {options.Window}, {options.Size}-byte payloads, {options.Seconds} s after {WarmUp.TotalSeconds:0} s of warm-up"));

            using var stop = new CancellationTokenSource();
            var loops = new List<Task>(2 * lanes.Count + 1);
            foreach (var lane in lanes)
            {
                loops.Add(lane.ReturnLoopAsync(stop.Token));
                loops.Add(lane.EchoLoopAsync(stop.Token));
            }
            loops.Add(ReplaceLostAsync(lanes, stop.Token));
            foreach (var lane in lanes) lane.Start();

            await Task.Delay(WarmUp);
            var before = Snapshot.Take(lanes, options.ServerPid);
            await Task.Delay(TimeSpan.FromSeconds(options.Seconds));
            var after = Snapshot.Take(lanes, options.ServerPid);
            await stop.CancelAsync();
            await Task.WhenAll(loops);

            double seconds = Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp).TotalSeconds;
            long relayed = after.Relayed - before.Relayed;
            double serverCpu = after.ServerCpu - before.ServerCpu;
            double clientCpu = after.ClientCpu - before.ClientCpu;
            if (relayed == 0)
            {
                Console.Error.WriteLine($"relayload {options.Label}: nothing was relayed in {seconds:0.0} s");
                return 1;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"relay {options.Label}: {relayed / seconds:0} packets/s, {serverCpu * 1e6 / relayed:0.00} us CPU/packet (server CPU {serverCpu / seconds * 100:0} %), lost {after.Lost - before.Lost}, load client CPU {clientCpu / seconds * 100:0} %"));
            await Task.WhenAll(lanes.Select(l => l.ReleaseAsync()));
            return 0;
        }
        finally
        {
            foreach (var lane in lanes) lane.Dispose();
        }
    }

    /// <summary>Every 20 ms, replaces the packets that have been missing for longer than <see cref="LossTimeout"/>.</summary>
    private static async Task ReplaceLostAsync(List<Lane> lanes, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        long timeout = (long)(LossTimeout.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                long now = Stopwatch.GetTimestamp();
                foreach (var lane in lanes) lane.ReplaceLost(now, timeout);
            }
        }
        catch (OperationCanceledException)
        {
            // stopped
        }
    }

    private readonly record struct Snapshot(long Timestamp, long Relayed, long Lost, double ServerCpu, double ClientCpu)
    {
        public static Snapshot Take(List<Lane> lanes, int serverPid)
        {
            long relayed = 0, lost = 0;
            foreach (var lane in lanes)
            {
                var (r, l) = lane.Counters();
                relayed += r;
                lost += l;
            }
            if (!ProcCpu.TryReadSeconds(serverPid, out double server)) throw new RelayLoadException($"the server process {serverPid} is gone");
            ProcCpu.TryReadSeconds(Environment.ProcessId, out double client);
            return new Snapshot(Stopwatch.GetTimestamp(), relayed, lost, server, client);
        }
    }

    private sealed class RelayLoadException(string message) : Exception(message);

    private delegate void AddAttributes(ref StunMessageWriter writer);

    /// <summary>What a TURN response said.</summary>
    private readonly record struct TurnReply(bool Success, int Code, string Reason, string? Realm, string? Nonce, IPEndPoint? Relayed);

    /// <summary>
    /// One allocation: its client socket (connected to the server), its peer socket (connected to the relayed
    /// address), and its window of packets in flight. The window is guarded by a lock: the return loop and the
    /// loss timer both send from it.
    /// </summary>
    private sealed class Lane : IDisposable
    {
        private readonly Options _options;
        private readonly Socket _client;
        private SslStream? _tls;             // over TLS: the stream on _client, and what is read from it so far
        private readonly byte[] _received = new byte[2 * 65_536];
        private int _receivedStart, _receivedEnd;
        private readonly Socket _peer;
        private readonly byte[] _request = new byte[512];
        private readonly Lock _gate = new();
        private readonly uint[] _inFlight;   // sequence number in each slot of the window
        private readonly long[] _sentAt;     // Stopwatch timestamp, 0 when the slot is empty
        private readonly byte[] _frame;      // the ChannelData message to send, rewritten per packet
        private string? _realm, _nonce;
        private StunIntegrityKey? _key;
        private uint _nextSequence;
        private long _toClient, _lost, _toPeer;

        private Lane(Options options)
        {
            _options = options;
            _client = options.Tls
                ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
                : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            // Buffers as large as the servers' own (coturn asks for 2 MiB), so that a burst is dropped, if at all, by
            // the relay under test and not by the load client.
            foreach (var socket in new[] { _client, _peer })
            {
                socket.ReceiveBufferSize = SocketBufferBytes;
                socket.SendBufferSize = SocketBufferBytes;
            }
            _client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _client.Connect(options.Server);
            _inFlight = new uint[options.Window];
            _sentAt = new long[options.Window];
            _frame = new byte[ChannelData.EncodedLength(options.Size, padForStream: options.Tls)];
            ChannelData.Write(_frame, Channel, new byte[options.Size], padForStream: options.Tls);
        }

        private async Task StartTlsAsync(CancellationToken ct)
        {
            _tls = new SslStream(new NetworkStream(_client, ownsSocket: false));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await _tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ApplicationProtocols = [new SslApplicationProtocol("stun.turn")],
                RemoteCertificateValidationCallback = (_, _, _, _) => true, // a benchmark on loopback: any certificate
            }, timeout.Token);
        }

        /// <summary>Over TLS: the next whole frame (STUN or padded ChannelData, RFC 8656 §3.1), valid until the next call; empty when the stream ended.</summary>
        private async ValueTask<ReadOnlyMemory<byte>> NextFrameAsync(CancellationToken ct)
        {
            while (true)
            {
                var buffered = _received.AsMemory(_receivedStart, _receivedEnd - _receivedStart);
                var status = StreamFraming.TryGetFrameLength(buffered.Span, out int length);
                if (status == StreamFraming.FrameStatus.Invalid) throw new RelayLoadException("the server sent bytes that are neither STUN nor ChannelData");
                if (status == StreamFraming.FrameStatus.Complete)
                {
                    _receivedStart += length;
                    return buffered[..length];
                }
                if (_receivedStart > 0)
                {
                    buffered.CopyTo(_received);
                    _receivedEnd -= _receivedStart;
                    _receivedStart = 0;
                }
                int n = await _tls!.ReadAsync(_received.AsMemory(_receivedEnd), ct).ConfigureAwait(false);
                if (n == 0) return ReadOnlyMemory<byte>.Empty;
                _receivedEnd += n;
            }
        }

        /// <summary>Allocate (answering the 401 challenge), CreatePermission and ChannelBind for the lane's peer socket.</summary>
        public static async Task<Lane> OpenAsync(Options options, CancellationToken ct)
        {
            var lane = new Lane(options);
            try
            {
                if (options.Tls) await lane.StartTlsAsync(ct);
                var allocated = await lane.RequestAsync(StunMethod.Allocate, static (ref StunMessageWriter w) => w.AddRequestedTransport(17), ct);
                if (!allocated.Success || allocated.Relayed is null) throw Refused("Allocate", allocated);
                lane._peer.Connect(allocated.Relayed);
                var peer = StunAddress.From((IPEndPoint)lane._peer.LocalEndPoint!);
                var permitted = await lane.RequestAsync(StunMethod.CreatePermission, (ref StunMessageWriter w) => w.AddAddress(StunAttributeType.XorPeerAddress, peer), ct);
                if (!permitted.Success) throw Refused("CreatePermission", permitted);
                var bound = await lane.RequestAsync(StunMethod.ChannelBind, (ref StunMessageWriter w) =>
                {
                    w.AddChannelNumber(Channel);
                    w.AddAddress(StunAttributeType.XorPeerAddress, peer);
                }, ct);
                if (!bound.Success) throw Refused("ChannelBind", bound);
                return lane;
            }
            catch
            {
                lane.Dispose();
                throw;
            }
        }

        private static RelayLoadException Refused(string what, TurnReply reply) =>
            new($"{what} failed: {reply.Code} {reply.Reason}");

        /// <summary>Deletes the allocation (Refresh with LIFETIME 0, RFC 8656 §7.5); best effort, the server may be stopping.</summary>
        public async Task ReleaseAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await RequestAsync(StunMethod.Refresh, static (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 0), timeout.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException or SocketException or RelayLoadException or IOException)
            {
                // the allocation times out on the server instead
            }
        }

        /// <summary>One request on the client socket, signed once the realm and nonce are known; a 401 or 438 with a nonce is answered once more.</summary>
        private async Task<TurnReply> RequestAsync(StunMethod method, AddAttributes add, CancellationToken ct)
        {
            for (int attempt = 0; ; attempt++)
            {
                var id = TransactionId.NewRandom();
                bool signed = _key is not null;
                int length = Build(method, id, add);
                var response = await TransactAsync(length, id, ct);
                var reply = Interpret(response, _key);
                bool challenge = reply.Code == 438 || (reply.Code == 401 && !signed);
                if (!reply.Success && challenge && reply.Realm is not null && reply.Nonce is not null && attempt < 3)
                {
                    if (reply.Realm != _realm || _key is null)
                    {
                        if (!StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Md5, _options.User, reply.Realm, _options.Password, out var key, out var error))
                            throw new RelayLoadException($"cannot derive the long-term key: {error}");
                        _key?.Dispose();
                        _key = new StunIntegrityKey(key);
                        _realm = reply.Realm;
                    }
                    _nonce = reply.Nonce;
                    continue;
                }
                return reply;
            }
        }

        private int Build(StunMethod method, in TransactionId id, AddAttributes add)
        {
            var w = new StunMessageWriter(_request, method, StunClass.Request, id);
            add(ref w);
            if (_key is not null)
            {
                w.AddString(StunAttributeType.Username, _options.User);
                w.AddString(StunAttributeType.Realm, _realm!);
                w.AddString(StunAttributeType.Nonce, _nonce!);
                w.AddMessageIntegrity(_key);
            }
            w.AddFingerprint();
            return w.Length;
        }

        /// <summary>Sends a request and waits for its response, retransmitting after 250, 500, 1000 ... ms (RFC 8489 §6.2.1, shortened).</summary>
        private async Task<byte[]> TransactAsync(int length, TransactionId id, CancellationToken ct)
        {
            if (_tls is not null) return await TransactOverTlsAsync(length, id, ct);
            var buffer = new byte[2048];
            var rto = TimeSpan.FromMilliseconds(250);
            for (int attempt = 0; attempt < 6; attempt++, rto *= 2)
            {
                await _client.SendAsync(_request.AsMemory(0, length), SocketFlags.None, ct);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(rto);
                try
                {
                    while (true)
                    {
                        int n = await _client.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                        if (IsResponseTo(buffer.AsSpan(0, n), id)) return buffer[..n];
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // retransmit
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    throw new RelayLoadException($"nothing listens on {_options.Server} (ICMP port unreachable)");
                }
            }
            throw new TimeoutException($"no response from {_options.Server}");
        }

        /// <summary>Over TLS the stream is reliable (RFC 8489 §6.2.2: no retransmission): one request, then frames until its response.</summary>
        private async Task<byte[]> TransactOverTlsAsync(int length, TransactionId id, CancellationToken ct)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await _tls!.WriteAsync(_request.AsMemory(0, length), timeout.Token);
            try
            {
                while (true)
                {
                    var frame = await NextFrameAsync(timeout.Token);
                    if (frame.IsEmpty) throw new RelayLoadException($"{_options.Server} closed the TLS connection");
                    if (IsResponseTo(frame.Span, id)) return frame.ToArray();
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"no response from {_options.Server} over TLS");
            }
        }

        private static bool IsResponseTo(ReadOnlySpan<byte> packet, in TransactionId id) =>
            StunMessage.TryParse(packet, out var message, out _) && message.TransactionId == id
            && message.Class is StunClass.SuccessResponse or StunClass.ErrorResponse;

        private static TurnReply Interpret(byte[] response, StunIntegrityKey? key)
        {
            if (!StunMessage.TryParse(response, out var message, out var error)) throw new RelayLoadException($"unreadable response ({error})");
            message.TryGetString(StunAttributeType.Realm, out var realm);
            message.TryGetString(StunAttributeType.Nonce, out var nonce);
            if (message.Class == StunClass.ErrorResponse)
            {
                message.TryGetErrorCode(out int code, out string reason);
                return new TurnReply(false, code, reason, realm.Length > 0 ? realm : null, nonce.Length > 0 ? nonce : null, null);
            }
            // Both relays sign their success responses with the long-term key (RFC 8489 §9.2.4): check it, which also
            // checks that the key is derived as the server derives it.
            if (key is null || message.VerifyIntegrity(key) != StunError.None)
                throw new RelayLoadException($"{message.Method} success response fails its MESSAGE-INTEGRITY check");
            IPEndPoint? relayed = message.TryGetAddress(StunAttributeType.XorRelayedAddress, out var address) ? address.ToEndPoint() : null;
            return new TurnReply(true, 0, string.Empty, null, null, relayed);
        }

        // ------------------------------------------------------------------ load

        /// <summary>Fills the window.</summary>
        public void Start()
        {
            long now = Stopwatch.GetTimestamp();
            lock (_gate)
            {
                for (int slot = 0; slot < _inFlight.Length; slot++) SendLocked(slot, now);
            }
        }

        /// <summary>Counts every ChannelData that comes back through the relay and sends the next packet in its slot.</summary>
        public async Task ReturnLoopAsync(CancellationToken stop)
        {
            if (_tls is not null)
            {
                try
                {
                    while (true)
                    {
                        var frame = await NextFrameAsync(stop).ConfigureAwait(false);
                        if (frame.IsEmpty) return;
                        OnReturned(frame.Span);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException) { return; }
            }
            var buffer = new byte[2048];
            while (true)
            {
                int n;
                try
                {
                    n = await _client.ReceiveAsync(buffer, SocketFlags.None, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { return; }
                catch (ObjectDisposedException) { return; }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset) { continue; }
                OnReturned(buffer.AsSpan(0, n));
            }
        }

        private void OnReturned(ReadOnlySpan<byte> packet)
        {
            if (!ChannelData.TryParse(packet, out ushort channel, out var data, out _) || channel != Channel || data.Length < MinPayload) return;
            int slot = BinaryPrimitives.ReadUInt16BigEndian(data);
            uint sequence = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
            lock (_gate)
            {
                _toClient++;
                // A packet that comes back after it was counted lost was replaced already: counted as relayed, not re-sent.
                if (slot < _inFlight.Length && _inFlight[slot] == sequence && _sentAt[slot] != 0)
                    SendLocked(slot, Stopwatch.GetTimestamp());
            }
        }

        /// <summary>The peer side: echoes every packet the relay forwards back to the relayed address.</summary>
        public async Task EchoLoopAsync(CancellationToken stop)
        {
            var buffer = new byte[2048];
            while (true)
            {
                int n;
                try
                {
                    n = await _peer.ReceiveAsync(buffer, SocketFlags.None, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { return; }
                catch (ObjectDisposedException) { return; }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset) { continue; }
                Volatile.Write(ref _toPeer, _toPeer + 1); // this loop is the only writer
                try
                {
                    _peer.Send(buffer.AsSpan(0, n));
                }
                catch (SocketException)
                {
                    // lost: the client's timer replaces it
                }
            }
        }

        public void ReplaceLost(long now, long timeout)
        {
            lock (_gate)
            {
                for (int slot = 0; slot < _inFlight.Length; slot++)
                {
                    if (_sentAt[slot] != 0 && now - _sentAt[slot] > timeout)
                    {
                        _lost++;
                        SendLocked(slot, now);
                    }
                }
            }
        }

        private void SendLocked(int slot, long now)
        {
            uint sequence = ++_nextSequence;
            _inFlight[slot] = sequence;
            _sentAt[slot] = now;
            var payload = _frame.AsSpan(ChannelData.HeaderLength);
            BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)slot);
            BinaryPrimitives.WriteUInt32BigEndian(payload[4..], sequence);
            try
            {
                if (_tls is not null) _tls.Write(_frame); // one write at a time: under the lane's lock
                else _client.Send(_frame);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // lost: replaced after the timeout
            }
        }

        /// <summary>Packets relayed so far (both directions) and packets counted lost.</summary>
        public (long Relayed, long Lost) Counters()
        {
            lock (_gate) return (_toClient + Volatile.Read(ref _toPeer), _lost);
        }

        public void Dispose()
        {
            _tls?.Dispose();
            _client.Dispose();
            _peer.Dispose();
            _key?.Dispose();
        }
    }
}
