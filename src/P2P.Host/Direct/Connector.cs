using System.Net;
using System.Net.Sockets;

namespace P2P.Host.Direct;

/// <summary>
/// The TCP connection of <c>p2p --no-ice</c>, as the original makes it: the server listens on 0.0.0.0:port and
/// accepts ONE connection, the client connects to <c>-c</c>:port (IPv4 first, like the original's AF_INET lookup).
/// Failures are <see cref="DirectFailure"/>s whose sentence says what failed and what to try.
/// </summary>
public static class Connector
{
    /// <summary>Listens on 0.0.0.0:<paramref name="port"/>, says so on <paramref name="status"/>, accepts one connection.</summary>
    public static async Task<Socket> AcceptOneAsync(int port, TextWriter status, Serilog.ILogger log, CancellationToken cancel)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Any, port));
            listener.Listen(1);
        }
        catch (SocketException e)
        {
            throw new DirectFailure(e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => $"Cannot listen on port {port}: address already in use. Choose another with -p.",
                SocketError.AccessDenied => $"Cannot listen on port {port}: permission denied (ports below 1024 need administrator rights). Choose another with -p.",
                _ => $"Cannot listen on port {port}: {Describe(e)}. Choose another with -p.",
            });
        }
        int bound = ((IPEndPoint)listener.LocalEndPoint!).Port;
        log.Information("Listening on {LocalEndPoint} for one connection", listener.LocalEndPoint);
        await status.WriteLineAsync($"Listening on 0.0.0.0:{bound}").ConfigureAwait(false);
        await status.FlushAsync(cancel).ConfigureAwait(false);
        try
        {
            return await listener.AcceptAsync(cancel).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new DirectFailure($"Could not accept a connection on port {bound}: {Describe(e)}.");
        }
    }

    /// <summary>
    /// Resolves <paramref name="host"/> and connects to it at <paramref name="port"/>, giving up after
    /// <paramref name="connectTimeout"/>.
    /// </summary>
    public static async Task<Socket> ConnectAsync(string host, int port, TimeSpan connectTimeout, Serilog.ILogger log, CancellationToken cancel)
    {
        var addresses = await ResolveAsync(host, cancel).ConfigureAwait(false);
        log.Debug("Resolved {Host} to {Addresses}", host, addresses);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(connectTimeout);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            log.Debug("Connecting to {RemoteEndPoint}", new IPEndPoint(address, port));
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), timeout.Token).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                log.Debug("Connecting to {RemoteEndPoint} failed: {SocketError}", new IPEndPoint(address, port), e.SocketErrorCode);
                last = e;
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                if (cancel.IsCancellationRequested) throw;
                throw new DirectFailure($"Cannot connect to {host}:{port}: no answer within {connectTimeout.TotalSeconds:0.###} s. Check the address given with -c and that no firewall is in the way.");
            }
        }
        throw new DirectFailure(last!.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => $"Cannot connect to {host}:{port}: connection refused. Is the server (p2p -s --no-ice) running?",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => $"Cannot connect to {host}:{port}: no route to it. Check the address given with -c.",
            SocketError.TimedOut => $"Cannot connect to {host}:{port}: no answer. Check the address given with -c and that no firewall is in the way.",
            _ => $"Cannot connect to {host}:{port}: {Describe(last)}. Is the server (p2p -s --no-ice) running?",
        });
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancel)
    {
        if (IPAddress.TryParse(host, out var literal)) return [literal];
        // Refused before any lookup: a name that cannot be a host name is a typing mistake, not a DNS question.
        if (Uri.CheckHostName(host) != UriHostNameType.Dns)
            throw new DirectFailure($"'{host}' is neither an IP address nor a host name. Check the address given with -c.");
        IPAddress[] found;
        try
        {
            found = await Dns.GetHostAddressesAsync(host, cancel).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            found = [];
        }
        if (found.Length == 0) throw new DirectFailure($"Cannot resolve '{host}': no such host. Check the address given with -c.");
        return [.. found.OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1)];
    }

    /// <summary>The socket error in words, lower case, without a final period ("network is unreachable").</summary>
    private static string Describe(SocketException e)
    {
        var text = e.Message.TrimEnd('.');
        return text.Length > 0 ? char.ToLowerInvariant(text[0]) + text[1..] : e.SocketErrorCode.ToString();
    }
}
