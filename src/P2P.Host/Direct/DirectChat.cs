using P2P.Host.Chat;
using P2P.Protocol.Dtls;

namespace P2P.Host.Direct;

/// <summary>
/// <c>p2p --no-ice</c>: direct TCP chat, on the wire exactly as the original C program
/// (libnice and plain TCP); <c>--secure</c> adds TLS 1.3 between two p2p programs. Prints what the original prints where it
/// prints it: "Connected", "Received: text" and "Connection closed by peer" on <c>output</c>, everything else on
/// <c>status</c>. Its story goes to <c>log</c> as structured events, each with <see cref="SessionId"/>.
/// </summary>
public static class DirectChat
{
    /// <summary>The session id on every log event of the one chat, the same as the ICE chat's.</summary>
    public const string SessionId = "chat";

    /// <summary>Runs the chat with <see cref="DirectSettings.Default"/> and no log.</summary>
    public static Task<int> RunAsync(ChatOptions options, TextReader input, TextWriter output, TextWriter status, CancellationToken cancel) =>
        RunAsync(options, DirectSettings.Default, Serilog.Core.Logger.None, input, output, status, cancel);

    /// <summary>Runs the chat until the user ends input or the peer closes; returns the process exit code.</summary>
    /// <param name="settings">Timeouts from <c>p2p.no-ice</c>.</param>
    /// <param name="logger">Where the chat's structured events go (--log, -v); they carry <see cref="SessionId"/>.</param>
    /// <param name="input">Lines the user types.</param>
    /// <param name="output">What the user reads: "Connected", "Received: text" lines, "Connection closed by peer".</param>
    /// <param name="status">Status and errors ("Listening on ...", certificates, one sentence when something fails).</param>
    public static async Task<int> RunAsync(ChatOptions options, DirectSettings settings, Serilog.ILogger logger, TextReader input, TextWriter output, TextWriter status,
        CancellationToken cancel)
    {
        var log = logger.ForContext("SessionId", SessionId);
        log.Information("No-ICE chat as {Role} over {Transport}, {Endpoint}", options.Server ? "server" : "client", options.Secure ? "TLS 1.3" : "plain TCP",
            options.Server ? $"port {options.Port}" : $"{options.Connect}:{options.Port}");
        try
        {
            CertificateFingerprint? expected = null;
            if (options.PeerFingerprint is { } text)
            {
                if (!CertificateFingerprint.TryParseTyped(text, out var parsed))
                    throw new DirectFailure($"--peer-fingerprint expects a SHA-256 fingerprint, 32 hex bytes (AB:CD:...), not '{text}'.", exitCode: 2);
                expected = parsed;
            }
            using var certificate = options.Secure ? MutualTls.CreateCertificate() : null;
            if (certificate is not null)
            {
                await status.WriteLineAsync($"Your certificate: sha-256 {CertificateFingerprint.ComputeSha256(certificate.RawData).Hex}").ConfigureAwait(false);
                await status.FlushAsync(cancel).ConfigureAwait(false);
            }

            using var socket = options.Server
                ? await Connector.AcceptOneAsync(options.Port, status, log, cancel).ConfigureAwait(false)
                : await Connector.ConnectAsync(options.Connect, options.Port, settings.ConnectTimeout, log, cancel).ConfigureAwait(false);
            socket.NoDelay = true;
            log.Information("TCP connected {LocalEndPoint} -> {RemoteEndPoint}", socket.LocalEndPoint, socket.RemoteEndPoint);
            Stream stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
            if (certificate is not null)
                stream = await MutualTls.AuthenticateAsync(stream, options.Server, certificate, expected, settings.TlsHandshakeTimeout, status, log, cancel).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                await output.WriteLineAsync("Connected").ConfigureAwait(false);
                await output.FlushAsync(cancel).ConfigureAwait(false);
                return await Conversation.RunAsync(socket, stream, input, output, status, log, cancel).ConfigureAwait(false);
            }
        }
        catch (DirectFailure failure)
        {
            log.Warning("No-ICE chat failed: {Reason}", failure.Message);
            await status.WriteLineAsync(failure.Message).ConfigureAwait(false);
            return failure.ExitCode;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            log.Information("No-ICE chat interrupted");
            return 130;
        }
    }
}
