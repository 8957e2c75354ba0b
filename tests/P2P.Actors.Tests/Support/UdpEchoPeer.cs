using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// A plain UDP socket on 127.0.0.1 that sends every datagram back to where it came from, and remembers
/// who sent what (<see cref="Received"/>), so a test can check the source a relay used.
/// </summary>
public sealed class UdpEchoPeer : IDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();

    public UdpEchoPeer()
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _ = Task.Run(EchoLoop);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Every datagram echoed, with its source, in arrival order.</summary>
    public ConcurrentQueue<(IPEndPoint From, byte[] Data)> Received { get; } = new();

    private async Task EchoLoop()
    {
        var buffer = new byte[65_536];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                var from = (IPEndPoint)result.RemoteEndPoint;
                var data = buffer.AsSpan(0, result.ReceivedBytes).ToArray();
                Received.Enqueue((from, data));
                await _socket.SendToAsync(data, SocketFlags.None, from, _stop.Token);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { /* ICMP unreachable from an earlier send: keep echoing */ }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}
