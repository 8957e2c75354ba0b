namespace P2P.Host.Chat;

/// <summary>
/// <c>p2p --no-ice</c>: direct TCP chat, on the wire exactly as the original program (FEATURES.md, "The original
/// on the wire"); <c>--secure</c> adds TLS 1.3 between two p2p programs. Prints what the original prints where it
/// prints it: "Connected", "Received: text" and "Connection closed by peer" on <c>output</c>, everything else on
/// <c>status</c>.
/// </summary>
public static class NoIceChat
{
    /// <summary>Runs the chat until the user ends input or the peer closes; returns the process exit code.</summary>
    /// <param name="input">Lines the user types.</param>
    /// <param name="output">What the user reads: "Connected", "Received: text" lines, "Connection closed by peer".</param>
    /// <param name="status">Status and errors ("Listening on ...", certificates, one sentence when something fails).</param>
    public static async Task<int> RunAsync(ChatOptions options, TextReader input, TextWriter output, TextWriter status, CancellationToken cancel)
    {
        try
        {
            NoIceFingerprint? expected = null;
            if (options.PeerFingerprint is { } text)
            {
                if (!NoIceFingerprint.TryParse(text, out var parsed))
                    throw new NoIceFailure($"--peer-fingerprint expects a SHA-256 fingerprint, 32 hex bytes (AB:CD:...), not '{text}'.", exitCode: 2);
                expected = parsed;
            }
            using var certificate = options.Secure ? NoIceTls.CreateCertificate() : null;
            if (certificate is not null)
            {
                await status.WriteLineAsync($"Your certificate: sha-256 {NoIceFingerprint.Of(certificate)}").ConfigureAwait(false);
                await status.FlushAsync(cancel).ConfigureAwait(false);
            }

            using var socket = options.Server
                ? await NoIceConnector.AcceptOneAsync(options.Port, status, cancel).ConfigureAwait(false)
                : await NoIceConnector.ConnectAsync(options.Connect, options.Port, cancel).ConfigureAwait(false);
            socket.NoDelay = true;
            Stream stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
            if (certificate is not null)
                stream = await NoIceTls.AuthenticateAsync(stream, options.Server, certificate, expected, status, cancel).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                await output.WriteLineAsync("Connected").ConfigureAwait(false);
                await output.FlushAsync(cancel).ConfigureAwait(false);
                return await NoIceSession.RunAsync(socket, stream, input, output, status, cancel).ConfigureAwait(false);
            }
        }
        catch (NoIceFailure failure)
        {
            await status.WriteLineAsync(failure.Message).ConfigureAwait(false);
            return failure.ExitCode;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return 130;
        }
    }
}
