using System.Net;
using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Browser;

/// <summary>
/// A network namespace for Chromium (<c>page-&lt;hex&gt;</c>), joined to this machine by a veth pair with a /30 of
/// 10.213.0.0/16 and a default route through our end: Chromium gathers no candidates at all without a non-loopback
/// interface and a default route. The browser's address is <see cref="BrowserAddress"/>; ours (where the signaling
/// server and p2p listen) is <see cref="HostAddress"/>. Nothing leaves the machine: the namespace reaches only our end of
/// the pair, and the root namespace does not forward. Needs root; deleted (with its veth pair) on dispose.
/// </summary>
public sealed class BrowserNetwork : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(256);
    private readonly string _outside;

    private BrowserNetwork(string name, string outside, IPAddress host, IPAddress browser)
    {
        Name = name;
        _outside = outside;
        HostAddress = host;
        BrowserAddress = browser;
    }

    /// <summary>The namespace's name, for <c>ip netns exec</c>.</summary>
    public string Name { get; }

    /// <summary>Our end of the veth pair, in the root namespace.</summary>
    public IPAddress HostAddress { get; }

    /// <summary>The browser's end, inside the namespace.</summary>
    public IPAddress BrowserAddress { get; }

    public static async Task<BrowserNetwork> CreateAsync()
    {
        int slot = Interlocked.Increment(ref _next) % 16384; // 16,384 /30s in 10.213.0.0/16
        string id = Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next())).ToLowerInvariant()[..6];
        string name = $"page-{id}", outside = $"page-{id}o", inside = $"page-{id}i";
        var host = new IPAddress([10, 213, (byte)(slot >> 6), (byte)((slot & 63) * 4 + 1)]);
        var browser = new IPAddress([10, 213, (byte)(slot >> 6), (byte)((slot & 63) * 4 + 2)]);
        var network = new BrowserNetwork(name, outside, host, browser);
        try
        {
            await IpAsync("netns", "add", name);
            await IpAsync("link", "add", outside, "type", "veth", "peer", "name", inside);
            await IpAsync("link", "set", inside, "netns", name);
            await IpAsync("addr", "add", $"{host}/30", "dev", outside);
            await IpAsync("link", "set", outside, "up");
            await IpAsync("-n", name, "link", "set", "lo", "up");
            await IpAsync("-n", name, "addr", "add", $"{browser}/30", "dev", inside);
            await IpAsync("-n", name, "link", "set", inside, "up");
            await IpAsync("-n", name, "route", "add", "default", "via", host.ToString());
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    private static async Task IpAsync(params string[] args)
    {
        var result = await Processes.Run(Processes.Program("ip", args), TimeSpan.FromSeconds(10));
        if (result.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {result}");
    }

    public async ValueTask DisposeAsync()
    {
        // deleting the namespace takes its end of the pair, and with it ours
        await Processes.Run(Processes.Program("ip", "netns", "delete", Name), TimeSpan.FromSeconds(10));
        await Processes.Run(Processes.Program("ip", "link", "delete", _outside), TimeSpan.FromSeconds(10));
    }
}
