using System.Net;
using System.Net.Sockets;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Turn;

namespace P2P.Host.Chat;

/// <summary>--stun and --turn as the engine wants them: addresses, resolved once at start.</summary>
public static class ServerAddresses
{
    /// <summary>Resolves --stun and --turn to addresses; null (after one sentence on status) when a name does not resolve.</summary>
    public static async Task<(IReadOnlyList<IPEndPoint> Stun, IReadOnlyList<TurnServer> Turn)?> ResolveAsync(string? stunHost, int stunPort, string? turnHost, int turnPort, string? turnUser, string? turnPass, TextWriter status, CancellationToken cancel,
        TurnTransport turnTransport = TurnTransport.Udp, P2P.Actors.Transport.Tls.TlsClientOptions? turnTls = null)
    {
        var stun = new List<IPEndPoint>();
        var turn = new List<TurnServer>();
        if (stunHost is not null)
        {
            var address = await ResolveHostAsync(stunHost, cancel);
            if (address is null)
            {
                await status.WriteLineAsync($"p2p: cannot resolve the STUN server '{stunHost}'. Give a reachable one with --stun <address> (or --stun none for host candidates only).");
                return null;
            }
            stun.Add(new IPEndPoint(address, stunPort));
        }
        if (turnHost is not null)
        {
            var address = await ResolveHostAsync(turnHost, cancel);
            if (address is null)
            {
                await status.WriteLineAsync($"p2p: cannot resolve the TURN server '{turnHost}'. Check --turn.");
                return null;
            }
            turn.Add(new TurnServer(new IPEndPoint(address, turnPort), new TurnCredentials(turnUser ?? string.Empty, turnPass ?? string.Empty),
                turnTransport, turnTls));
        }
        return (stun, turn);
    }

    public static async Task<IPAddress?> ResolveHostAsync(string host, CancellationToken cancel)
    {
        if (IPAddress.TryParse(host, out var literal)) return literal;
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, AddressFamily.InterNetwork, cancel);
            return addresses.FirstOrDefault();
        }
        catch (SocketException)
        {
            return null;
        }
    }

}
