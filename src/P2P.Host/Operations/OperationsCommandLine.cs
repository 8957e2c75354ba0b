using System.CommandLine;
using System.Net;
using Akka.Actor;
using Akka.Configuration;

namespace P2P.Host.Operations;

/// <summary><c>--metrics ip:port</c> of <c>p2p signal</c> and <c>p2p relay</c>, and starting the endpoint it asks for.</summary>
public static class OperationsCommandLine
{
    public static Option<IPEndPoint?> MetricsOption() => new("--metrics")
    {
        HelpName = "ip:port",
        Description = "Serve /health, /cluster and /metrics (Prometheus) over HTTP on this address, as ip:port or [ipv6]:port (port 0 picks a free port; default off, p2p.operations.metrics).",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (OperationsSettings.TryParseEndPoint(text, out var endPoint)) return endPoint;
            result.AddError($"--metrics expects an address with a port such as 127.0.0.1:9464, not '{text}'");
            return null;
        },
    };

    /// <summary>
    /// Starts the endpoint when <c>--metrics</c> (<paramref name="option"/>) or <c>p2p.operations.metrics</c> asks for one,
    /// and says where on stdout; null when neither does. False after one sentence on stderr when it cannot start.
    /// </summary>
    public static bool TryStart(string command, Config config, IPEndPoint? option, NodeStatus status, Func<OperationsSettings, INodeMetrics> metrics,
        out OperationsEndpoint? endpoint)
    {
        endpoint = null;
        OperationsSettings settings;
        try { settings = OperationsSettings.From(config); }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine($"p2p {command}: {e.Message}.");
            return false;
        }
        if (option is not null) settings = settings with { Listen = option };
        if (settings.Listen is null) return true;
        try { endpoint = OperationsEndpoint.Start(settings, status, metrics(settings)); }
        catch (HttpListenerException e)
        {
            Console.Error.WriteLine($"p2p {command}: cannot serve /health, /cluster and /metrics on {settings.Listen}: {e.Message}.");
            return false;
        }
        Console.Out.WriteLine($"operations on {endpoint.Url} (/health, /cluster, /metrics)");
        Console.Out.Flush();
        return true;
    }
}
