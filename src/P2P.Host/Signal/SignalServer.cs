using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using P2P.Actors.Signaling;
using Serilog;

namespace P2P.Host.Signal;

/// <summary>
/// The signaling server's web side: Kestrel (ASP.NET Core's own server) with one WebSocket endpoint at "/", and the
/// browser chat page (<see cref="ChatPage"/>) for plain requests on the same port. Each
/// accepted WebSocket is handed to <see cref="SignalingConnections"/> in the given actor system, whose connections talk
/// to the rooms of <see cref="SignalingRooms"/>. Used by <c>p2p signal</c> and by tests (port 0 picks a free port).
/// The listening socket can be bound first (<see cref="Bind"/>), so that a port in use is known before anything else
/// starts; Kestrel then takes that socket over.
/// </summary>
public sealed class SignalServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IActorRef _connections;
    private readonly IActorRef? _ownedRooms;
    private int _disposed;

    private SignalServer(WebApplication app, Uri url, IActorRef connections, IActorRef? ownedRooms)
    {
        _app = app;
        Url = url;
        _connections = connections;
        _ownedRooms = ownedRooms;
    }

    /// <summary>The WebSocket URL with the port actually bound, e.g. ws://127.0.0.1:40123/.</summary>
    public Uri Url { get; }

    /// <summary>The chat page on the same port, e.g. http://127.0.0.1:40123/ (add ?room=lunch).</summary>
    public Uri PageUrl => new UriBuilder(Url) { Scheme = Uri.UriSchemeHttp }.Uri;

    /// <summary>The parent of the connection actors (answers <see cref="SignalingConnections.GetStats"/>).</summary>
    public IActorRef Connections => _connections;

    /// <summary>Starts a server with its own rooms actor (/user/signal-rooms) in <paramref name="system"/>.</summary>
    public static Task<SignalServer> StartAsync(ActorSystem system, IPEndPoint listen, SignalSettings? settings = null)
    {
        settings ??= SignalSettings.Default;
        var socket = Bind(listen);
        var rooms = system.ActorOf(SignalingRooms.Props(settings), SignalingRooms.Name);
        return StartAsync(system, rooms, socket, settings, ownsRooms: true);
    }

    /// <summary>Starts a server on <paramref name="listening"/> (from <see cref="Bind"/>, taken over) whose connections join the rooms of <paramref name="rooms"/>.</summary>
    public static Task<SignalServer> StartAsync(ActorSystem system, IActorRef rooms, Socket listening, SignalSettings settings) =>
        StartAsync(system, rooms, listening, settings, ownsRooms: false);

    /// <summary>Binds the server's listening socket (not yet listening); throws <see cref="SocketException"/> when it cannot (<see cref="Describe"/>).</summary>
    public static Socket Bind(IPEndPoint listen)
    {
        var socket = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (listen.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true; // as Kestrel does: [::] takes IPv4 too
            socket.Bind(listen);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Why <see cref="Bind"/> failed, as the end of a sentence.</summary>
    public static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => "the address is already in use",
        SocketError.AddressNotAvailable => "the address is not one of this machine's",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
        _ => e.Message.TrimEnd('.'),
    };

    private static async Task<SignalServer> StartAsync(ActorSystem system, IActorRef rooms, Socket listening, SignalSettings settings, bool ownsRooms)
    {
        var listen = (IPEndPoint)listening.LocalEndPoint!;
        var connections = system.ActorOf(SignalingConnections.Props(rooms, settings), SignalingConnections.Name);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseSockets(sockets => sockets.CreateBoundListenSocket = _ => listening); // Kestrel listens on it and closes it
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(listen));
        builder.Services.AddSingleton<IHostLifetime, CallerLifetime>(); // Ctrl+C belongs to the caller, not to this web host
        builder.Logging.ClearProviders();
        // Kestrel's warnings and errors into the same Serilog stream; its per-request chatter stays out
        // (AddSerilog replaces the logger factory, so the level is set on a Serilog sub-logger, not a MEL filter).
        var kestrelLog = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Logger(Log.Logger).CreateLogger();
        builder.Logging.AddSerilog(kestrelLog, dispose: true);

        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = settings.KeepAliveInterval });
        app.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await ServePageAsync(context);
                return;
            }
            if (context.Request.Path != "/")
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("p2p signal: connect with a WebSocket to /\n");
                return;
            }
            var socket = await context.WebSockets.AcceptWebSocketAsync();
            var remote = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            connections.Tell(new SignalingConnections.Accept(socket, remote, done));
            try { await done.Task.WaitAsync(context.RequestAborted); }
            catch (OperationCanceledException) { /* the client went away; its actor sees the socket closed */ }
        });

        try
        {
            await app.StartAsync();
        }
        catch
        {
            listening.Dispose();
            await connections.GracefulStop(TimeSpan.FromSeconds(5));
            if (ownsRooms) await rooms.GracefulStop(TimeSpan.FromSeconds(5));
            await app.DisposeAsync();
            throw;
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        int port = bound is not null && Uri.TryCreate(bound, UriKind.Absolute, out var address) ? address.Port : listen.Port;
        var host = listen.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{listen.Address}]" : listen.Address.ToString();
        var server = new SignalServer(app, new Uri($"ws://{host}:{port}/"), connections, ownsRooms ? rooms : null);
        // However the actor system goes down (Ctrl+C, SIGTERM through the CLR exit hook, a test ending), the
        // WebSockets are closed with Going Away first, while the connection actors can still do it.
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "close-signal-websockets", async () =>
        {
            await server.DisposeAsync();
            return Akka.Done.Instance;
        });
        return server;
    }

    /// <summary>
    /// A plain HTTP request: the chat page's files (<see cref="ChatPage"/>) for GET and HEAD, with their content type,
    /// a content security policy that keeps the page to this server, and no caching (a new p2p brings a new page);
    /// 404 for any other path, 405 for any other method.
    /// </summary>
    private static async Task ServePageAsync(HttpContext context)
    {
        var response = context.Response;
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }
        if (!ChatPage.Files.TryGetValue(context.Request.Path.Value ?? "/", out var file))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync("p2p signal: no such page; the chat is at / (/?room=<name> joins a room)\n");
            return;
        }
        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = ChatPage.ContentSecurityPolicy;
        response.Headers["Referrer-Policy"] = "no-referrer";
        if (HttpMethods.IsGet(context.Request.Method)) await response.Body.WriteAsync(file.Content, context.RequestAborted);
    }

    /// <summary>Closes every connection with 1001 Going Away (their rooms see them leave), then stops Kestrel. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { await _connections.GracefulStop(TimeSpan.FromSeconds(10), new SignalingConnections.CloseAll()); }
        catch (TaskCanceledException) { /* the actor system is already gone */ }
        if (_ownedRooms is not null)
        {
            try { await _ownedRooms.GracefulStop(TimeSpan.FromSeconds(10)); }
            catch (TaskCanceledException) { }
        }
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stopping.Token);
        await _app.DisposeAsync();
    }

    /// <summary>A host lifetime that waits for no signal: the process's Ctrl+C and SIGTERM are handled by the caller's host.</summary>
    private sealed class CallerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
