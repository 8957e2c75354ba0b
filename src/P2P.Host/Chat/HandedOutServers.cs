using System.Net;
using P2P.Actors.Signaling;
using P2P.Actors.Transport.Tls;
using P2P.Actors.Turn;
using P2P.Protocol.Turn;

namespace P2P.Host.Chat;

/// <summary>
/// The TURN servers a signaling server handed this peer in its joined message (<see cref="SignalingProtocol.Joined.IceServers"/>,
/// WebRTC's RTCIceServer list with time-limited credentials), as the engine wants them: resolved once, each turn: or
/// turns: URL with its entry's username and credential. STUN URLs are left out (a TURN allocation already tells the
/// peer its server-reflexive address). A URL that cannot be used is a sentence in the problems, not a failure.
/// </summary>
public static class HandedOutServers
{
    public static async Task<(IReadOnlyList<TurnServer> Turn, IReadOnlyList<string> Problems)> ResolveAsync(IReadOnlyList<SignalIceServer>? servers, CancellationToken cancel)
    {
        var turn = new List<TurnServer>();
        var problems = new List<string>();
        foreach (var server in servers ?? [])
        {
            foreach (var url in server.Urls.Where(SignalIceServer.IsTurnUrl))
            {
                if (!TurnUri.TryParse(url, out var uri, out var error))
                {
                    problems.Add($"the signaling server handed out a TURN server that cannot be used: {error}");
                    continue;
                }
                if (await ServerAddresses.ResolveHostAsync(uri.Host, cancel) is not { } address)
                {
                    problems.Add($"cannot resolve the TURN server '{uri.Host}' the signaling server handed out");
                    continue;
                }
                var transport = uri.Secure ? TurnTransport.Tls : uri.Tcp ? TurnTransport.Tcp : TurnTransport.Udp;
                turn.Add(new TurnServer(new IPEndPoint(address, uri.Port), new TurnCredentials(server.Username ?? string.Empty, server.Credential ?? string.Empty),
                    transport, uri.Secure ? new TlsClientOptions(uri.Host) : null));
            }
        }
        return (turn, problems);
    }
}
