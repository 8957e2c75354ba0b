using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Serilog;

namespace P2P.Host.Operations;

/// <summary>
/// A node's operations endpoint on one HTTP port (<c>--metrics ip:port</c>): <c>/health</c> (200 while the node serves
/// and, in a fleet, is Up; 503 otherwise; a short JSON body), <c>/cluster</c> (JSON: this node, its role, the members
/// with status and roles, the unreachable ones) and <c>/metrics</c> (the Prometheus text format, from OpenTelemetry's
/// Prometheus exporter reading the node's <see cref="INodeMetrics"/>). Two <see cref="HttpListener"/>s share the port:
/// the exporter's with the prefix <c>/metrics/</c>, ours with <c>/health/</c> and <c>/cluster/</c>; the managed
/// HttpListener of Linux and macOS keeps one socket per address and port and hands each request to the listener with
/// the longest matching prefix. (Windows' HTTP.sys shares ports between listeners the same way.) The counters are read
/// from the actors every <see cref="OperationsSettings.StatsInterval"/>, off their paths.
/// </summary>
public sealed class OperationsEndpoint : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly MeterProvider _provider;
    private readonly INodeMetrics _metrics;
    private readonly NodeStatus _status;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving, _refreshing;

    /// <summary>The endpoint's base address, "http://127.0.0.1:9464/".</summary>
    public Uri Url { get; }

    private OperationsEndpoint(Uri url, HttpListener listener, MeterProvider provider, INodeMetrics metrics, NodeStatus status, TimeSpan interval)
    {
        Url = url;
        _listener = listener;
        _provider = provider;
        _metrics = metrics;
        _status = status;
        _serving = Task.Run(ServeAsync);
        _refreshing = Task.Run(() => RefreshAsync(interval));
    }

    /// <summary>
    /// Starts the endpoint at <see cref="OperationsSettings.Listen"/> (port 0: a free port). Throws
    /// <see cref="HttpListenerException"/> when the port cannot be taken. The endpoint owns <paramref name="metrics"/>.
    /// </summary>
    public static OperationsEndpoint Start(OperationsSettings settings, NodeStatus status, INodeMetrics metrics)
    {
        var listen = settings.Listen ?? throw new ArgumentException("the operations endpoint has no address", nameof(settings));
        int port = listen.Port == 0 ? FreePort(listen.Address) : listen.Port;
        string host = listen.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{listen.Address}]" : listen.Address.ToString();
        string root = $"http://{host}:{port}/";
        MeterProvider? provider = null;
        var listener = new HttpListener();
        try
        {
            provider = Sdk.CreateMeterProviderBuilder()
                .AddMeter(metrics.Meter.Name)
                .AddPrometheusHttpListener(o =>
                {
                    o.Host = listen.Address.ToString();
                    o.Port = port;
                    o.ScrapeEndpointPath = "/metrics";
                    o.ScrapeResponseCacheDurationMilliseconds = 0;
                    o.TargetInfoEnabled = false;
                    o.ConfigureHttpListener = (_, exporter) =>
                    {
                        exporter.Prefixes.Clear();
                        exporter.Prefixes.Add(root + "metrics/");
                    };
                })
                .Build();
            listener.Prefixes.Add(root + "health/");
            listener.Prefixes.Add(root + "cluster/");
            listener.Start();
        }
        catch
        {
            provider?.Dispose();
            listener.Close();
            metrics.Dispose();
            throw;
        }
        return new OperationsEndpoint(new Uri(root), listener, provider, metrics, status, settings.StatsInterval);
    }

    /// <summary>A TCP port free on <paramref name="address"/> right now (HttpListener needs a port number).</summary>
    private static int FreePort(IPAddress address)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try { await AnswerAsync(context); }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // the client went away mid-answer: nothing to do
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var response = context.Response;
        string path = context.Request.Url?.AbsolutePath.TrimEnd('/') ?? string.Empty;
        byte[] body;
        int code;
        switch (path)
        {
            case "/health":
                body = _status.HealthJson(out bool healthy);
                code = healthy ? 200 : 503;
                break;
            case "/cluster":
                body = _status.ClusterJson();
                code = 200;
                break;
            default:
                body = """{"error":"not found: try /health, /cluster or /metrics"}"""u8.ToArray();
                code = 404;
                break;
        }
        response.StatusCode = code;
        response.ContentType = "application/json";
        response.ContentLength64 = body.Length;
        if (context.Request.HttpMethod != "HEAD") await response.OutputStream.WriteAsync(body);
        response.Close();
    }

    private async Task RefreshAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        do
        {
            try { await _metrics.RefreshAsync(_stop.Token); }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { return; }
            catch (Exception e) when (e is AskTimeoutException or OperationCanceledException)
            {
                Log.Debug("operations: the {Role} node's counters did not come in time; /metrics keeps the previous ones", _status.Role);
            }
        }
        while (await WaitAsync(timer));
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try { return await timer.WaitForNextTickAsync(_stop.Token); }
        catch (OperationCanceledException) { return false; }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync();
        _listener.Close();
        await Task.WhenAll(_serving, _refreshing);
        _provider.Dispose();
        _metrics.Dispose();
        _stop.Dispose();
    }
}
