using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace P2P.Actors.Tests.Signaling;

/// <summary>A raw WebSocket client for the signaling tests: sends JSON text, reads JSON objects with a timeout.</summary>
public sealed class SignalTestSocket : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly WebSocket _socket;

    private SignalTestSocket(WebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<SignalTestSocket> ConnectAsync(Uri url)
    {
        var socket = new ClientWebSocket();
        using var cts = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(url, cts.Token);
        return new SignalTestSocket(socket);
    }

    /// <summary>
    /// Connects over a TCP socket whose kernel receive buffer is <paramref name="receiveBufferBytes"/> (no autotuning),
    /// doing the RFC 6455 §4.1 handshake by hand: a peer that stops reading then blocks the server quickly.
    /// </summary>
    public static async Task<SignalTestSocket> ConnectWithSmallBufferAsync(Uri url, int receiveBufferBytes)
    {
        var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = receiveBufferBytes };
        using var cts = new CancellationTokenSource(Timeout);
        await tcp.ConnectAsync(url.Host, url.Port, cts.Token);
        var stream = new NetworkStream(tcp, ownsSocket: true);
        var request = $"GET {url.AbsolutePath} HTTP/1.1\r\nHost: {url.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Key: {Convert.ToBase64String(Guid.NewGuid().ToByteArray())}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token);
        var response = new StringBuilder();
        var one = new byte[1];
        while (!response.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, cts.Token) == 0) throw new IOException($"the server closed during the handshake: {response}");
            response.Append((char)one[0]);
        }
        if (!response.ToString().StartsWith("HTTP/1.1 101", StringComparison.Ordinal)) throw new IOException($"no upgrade: {response}");
        return new SignalTestSocket(WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false }));
    }

    /// <summary>Connects and joins <paramref name="room"/> as <paramref name="name"/>, returning the "joined" answer.</summary>
    public static async Task<(SignalTestSocket Socket, JsonElement Joined)> JoinAsync(Uri url, string room, string name)
    {
        var client = await ConnectAsync(url);
        return (client, await client.JoinAsync(room, name));
    }

    /// <summary>Joins <paramref name="room"/> as <paramref name="name"/>, returning the "joined" answer.</summary>
    public async Task<JsonElement> JoinAsync(string room, string name)
    {
        await SendAsync(new { type = "join", room, name });
        return await ExpectAsync("joined");
    }

    public Task SendAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    public async Task SendTextAsync(string text)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cts.Token);
    }

    public async Task SendBinaryAsync(byte[] data)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await _socket.SendAsync(data, WebSocketMessageType.Binary, true, cts.Token);
    }

    /// <summary>The next message as a JSON object; null when the server closed the connection instead (the close is answered).</summary>
    public async Task<JsonElement?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        var buffer = new byte[128 * 1024];
        int length = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(length), cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token); // as real clients answer
                return null;
            }
            length += result.Count;
            if (result.EndOfMessage) break;
        }
        using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
        return document.RootElement.Clone();
    }

    /// <summary>The next message, which must be of <paramref name="type"/>.</summary>
    public async Task<JsonElement> ExpectAsync(string type)
    {
        var message = await ReceiveAsync() ?? throw new InvalidOperationException($"the server closed the connection; expected \"{type}\"");
        if (message.GetProperty("type").GetString() != type)
            throw new InvalidOperationException($"expected a \"{type}\" message, got {message}");
        return message;
    }

    public async Task CloseAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
    }

    public void Abort() => _socket.Abort();

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
