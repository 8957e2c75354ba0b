using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using P2P.Protocol.Stun;

namespace P2P.Actors.Tests.Support;

/// <summary>How to start a <see cref="CoturnServer"/>.</summary>
/// <param name="Username">The one long-term user (coturn <c>--user</c>).</param>
/// <param name="Password">Its password.</param>
/// <param name="Realm">coturn <c>--realm</c>.</param>
/// <param name="ExtraArguments">More turnserver options (for example <c>--stale-nonce=1</c>, <c>-f</c>).</param>
public sealed record CoturnOptions(
    string Username = "u",
    string Password = "p",
    string Realm = "r",
    IReadOnlyList<string>? ExtraArguments = null)
{
    /// <summary>Moderate verbose logging (<c>-v</c>): one line per request processed and per session event, in <see cref="CoturnServer.Log"/>.</summary>
    public bool Verbose { get; init; } = true;

    /// <summary>PEM certificate and key files: with both, coturn also listens for TLS (<c>--cert --pkey --tls-listening-port</c>) on <see cref="CoturnServer.TlsEndPoint"/>.</summary>
    public (string Certificate, string Key)? Tls { get; init; }

    /// <summary>
    /// A shared secret of the TURN REST API: with it coturn checks time-limited usernames "expiry:user" whose password is
    /// base64(HMAC-SHA1(secret, username)) (<c>--use-auth-secret --static-auth-secret</c>) instead of the one user.
    /// </summary>
    public string? AuthSecret { get; init; }

    /// <summary>How long to wait for the server to answer a STUN Binding request before trying another port.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A real coturn <c>turnserver</c> for tests, listening on 127.0.0.1 on a free port (UDP and TCP, TLS only with <see cref="CoturnOptions.Tls"/>, no DTLS,
/// no CLI), with long-term credentials for one user, relaying on 127.0.0.1 from a small random port range
/// and allowing loopback peers. It ignores the system configuration (<c>-n</c>) and keeps its user database,
/// pid file and log in a private temporary directory that is deleted on dispose, together with the process.
/// Start it with <see cref="StartAsync"/>; it is ready (it answered a STUN Binding request) when that returns.
/// Everything it logged is in <see cref="Log"/>, for assertion messages.
/// </summary>
public sealed class CoturnServer : IAsyncDisposable
{
    /// <summary>Where Debian's coturn package puts it; the environment variable TURNSERVER overrides.</summary>
    public const string DefaultExecutable = "/usr/bin/turnserver";

    private const int RelayRangeSize = 40;
    private const int MaxStartAttempts = 3;

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _log;

    private CoturnServer(Process process, string directory, StringBuilder log, IPEndPoint endPoint, CoturnOptions options, int minRelayPort, IPEndPoint? tlsEndPoint)
    {
        TlsEndPoint = tlsEndPoint;
        _process = process;
        _directory = directory;
        _log = log;
        EndPoint = endPoint;
        Options = options;
        MinRelayPort = minRelayPort;
    }

    /// <summary>The listening address (UDP and TCP), 127.0.0.1 and a free port.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The TLS listener (TCP, 127.0.0.1) when <see cref="CoturnOptions.Tls"/> was given; null otherwise.</summary>
    public IPEndPoint? TlsEndPoint { get; }

    public CoturnOptions Options { get; }
    public string Username => Options.Username;
    public string Password => Options.Password;
    public string Realm => Options.Realm;

    /// <summary>Relayed transport addresses are 127.0.0.1 with a port in [<see cref="MinRelayPort"/>, <see cref="MaxRelayPort"/>].</summary>
    public int MinRelayPort { get; }
    public int MaxRelayPort => MinRelayPort + RelayRangeSize - 1;

    public int ProcessId => _process.Id;

    /// <summary>What the server logged so far (stdout and stderr).</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public static string Executable =>
        Environment.GetEnvironmentVariable("TURNSERVER") is { Length: > 0 } path ? path : DefaultExecutable;

    public static async Task<CoturnServer> StartAsync(CoturnOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new CoturnOptions();
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"coturn's turnserver is not installed at {Executable} (apt-get install coturn; ./test.sh installs it)");

        string failures = string.Empty;
        for (int attempt = 1; attempt <= MaxStartAttempts; attempt++)
        {
            int port = FindFreePort();
            int? tlsPort = options.Tls is null ? null : FindFreePort();
            int minRelayPort = Random.Shared.Next(20_000, 30_000 - RelayRangeSize);
            string directory = Directory.CreateTempSubdirectory("p2p-coturn-").FullName;
            var log = new StringBuilder();
            var process = Launch(options, port, minRelayPort, directory, log, tlsPort);
            var server = new CoturnServer(process, directory, log, new IPEndPoint(IPAddress.Loopback, port), options, minRelayPort,
                tlsPort is { } t ? new IPEndPoint(IPAddress.Loopback, t) : null);
            if (await server.WaitUntilAnsweringAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false)
                && await server.WaitUntilTlsAcceptsAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false))
                return server;
            failures += $"--- attempt {attempt} on port {port} (exited: {process.HasExited}) ---\n{server.Log}\n";
            await server.DisposeAsync().ConfigureAwait(false);
        }
        throw new InvalidOperationException($"turnserver did not start answering STUN on 127.0.0.1 after {MaxStartAttempts} attempts:\n{failures}");
    }

    private static Process Launch(CoturnOptions options, int port, int minRelayPort, string directory, StringBuilder log, int? tlsPort)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        string[] arguments =
        [
            "-n", "--no-cli", "--no-dtls",
            "--listening-ip", "127.0.0.1", "--listening-port", port.ToString(),
            "--relay-ip", "127.0.0.1",
            "--min-port", minRelayPort.ToString(), "--max-port", (minRelayPort + RelayRangeSize - 1).ToString(),
            "--lt-cred-mech", "--realm", options.Realm,
            "--userdb", Path.Combine(directory, "turndb.sqlite"),
            "--pidfile", Path.Combine(directory, "turnserver.pid"),
            "--allow-loopback-peers",
            "--log-file", "stdout", "--simple-log",
        ];
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var argument in options.AuthSecret is { } secret
            ? new[] { "--use-auth-secret", "--static-auth-secret", secret }
            : ["--user", $"{options.Username}:{options.Password}"])
            info.ArgumentList.Add(argument);
        if (options.Tls is { } tls)
            foreach (var argument in new[] { "--cert", tls.Certificate, "--pkey", tls.Key, "--tls-listening-port", tlsPort!.Value.ToString() })
                info.ArgumentList.Add(argument);
        else info.ArgumentList.Add("--no-tls");
        if (options.Verbose) info.ArgumentList.Add("-v");
        foreach (var argument in options.ExtraArguments ?? []) info.ArgumentList.Add(argument);

        var process = new Process { StartInfo = info };
        void Append(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
        }
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>A port free for both UDP and TCP on 127.0.0.1 right now (the server listens on both).</summary>
    private static int FindFreePort()
    {
        for (int i = 0; i < 50; i++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            try
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // taken for TCP: try another
            }
        }
        throw new InvalidOperationException("no free UDP+TCP port on 127.0.0.1");
    }

    /// <summary>Sends STUN Binding requests every 100 ms until one is answered (true) or the time is up or the process died.</summary>
    private async Task<bool> WaitUntilAnsweringAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var request = new byte[StunMessage.HeaderLength];
        var id = TransactionId.NewRandom();
        new StunMessageWriter(request, StunMethod.Binding, StunClass.Request, id);
        var buffer = new byte[1500];
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            await socket.SendToAsync(request, SocketFlags.None, EndPoint, cancellationToken).ConfigureAwait(false);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromMilliseconds(100));
            try
            {
                var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token).ConfigureAwait(false);
                if (StunMessage.TryParse(buffer.AsSpan(0, result.ReceivedBytes), out var response, out _) && response.TransactionId == id)
                    return true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // no answer yet
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false); // port unreachable: not listening yet
            }
        }
        return false;
    }

    /// <summary>True at once without TLS; else once the TLS port accepts a TCP connection.</summary>
    private async Task<bool> WaitUntilTlsAcceptsAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (TlsEndPoint is null) return true;
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(TlsEndPoint, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        finally
        {
            _process.Dispose();
            try { Directory.Delete(_directory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
