using System.Net.Sockets;

namespace P2P.Actors.Transport;

/// <summary>
/// The loops and options every TCP actor of ours needs on a real socket: accepting, writing a whole buffer, and sharing a
/// local port between a listener and the connections made from it.
/// </summary>
internal static class TcpSockets
{
    private const int LinuxSolSocket = 1, LinuxSoReusePort = 15; // <asm-generic/socket.h>

    /// <summary>
    /// SO_REUSEADDR and, on Linux, SO_REUSEPORT, set before bind: a listener and the connections made from its address
    /// share the port (an ICE-TCP simultaneous-open candidate, RFC 6544; an RFC 6062 relayed address and its Connects).
    /// </summary>
    public static void ShareLocalPort(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (OperatingSystem.IsLinux()) socket.SetRawSocketOption(LinuxSolSocket, LinuxSoReusePort, BitConverter.GetBytes(1));
    }

    /// <summary>Sends all of <paramref name="bytes"/>: a stream socket may take them in several sends.</summary>
    public static async Task WriteAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken stop)
    {
        int sent = 0;
        while (sent < bytes.Length)
            sent += await socket.SendAsync(bytes[sent..], SocketFlags.None, stop).ConfigureAwait(false);
    }

    /// <summary>
    /// Accepts on <paramref name="listener"/> until <paramref name="stop"/>, handing each connection to
    /// <paramref name="accepted"/>. A connection the remote gave up before it was accepted is skipped. Any other failure
    /// goes to <paramref name="failed"/>: true waits 100 ms and accepts again (out of descriptors or buffers is no reason
    /// to stop listening, nor to spin), false ends the loop. A failure after <paramref name="stop"/> ends it silently.
    /// </summary>
    public static async Task AcceptLoopAsync(Socket listener, Action<Socket> accepted, Func<Exception, bool> failed, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue;
            }
            catch (Exception e)
            {
                if (stop.IsCancellationRequested || !failed(e)) return;
                try { await Task.Delay(100, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            accepted(socket);
        }
    }
}
