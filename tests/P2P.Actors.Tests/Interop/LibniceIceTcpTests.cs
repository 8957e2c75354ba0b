using System.Security.Cryptography;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Interop;

/// <summary>
/// ICE-TCP (RFC 6544) against libnice: <c>p2p --plain</c> and the libnice stand-in of the original program run in a
/// network namespace of this test's own whose nftables drop every UDP packet on arrival, so no UDP check or datagram
/// crosses; they connect over a TCP pair (libnice offers active and passive host TCP candidates by default, as we do)
/// in both roles, and chat lines cross both ways. Only loopback in that namespace: nothing leaves it.
/// </summary>
public sealed class LibniceIceTcpTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string[] Loopback = ["--stun", "none", "--local-address", "127.0.0.1"];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task With_udp_dropped_p2p_and_libnice_connect_over_ice_tcp_and_lines_cross(bool p2pControlling)
    {
        await using var ns = await UdpDroppingNamespace.CreateAsync();
        await using var p2p = P2pProcess.StartThrough("ip", ["netns", "exec", ns.Name], [.. p2pControlling ? new[] { "-s" } : [], "--plain", .. Loopback]);
        await using var nice = await NicePeer.StartThroughAsync("ip", ["netns", "exec", ns.Name],
            [.. p2pControlling ? Array.Empty<string>() : ["-s"], "--local-address", "127.0.0.1", "--timeout", "60"]);
        try
        {
            var ours = await p2p.ReadLocalDescriptionAsync(Wait);
            var theirs = await nice.ReadLocalDescriptionAsync(Wait);
            Assert.Contains("tcptype passive", ours);
            Assert.Contains("tcptype active", theirs);
            await p2p.WriteRemoteDescriptionAsync(theirs);
            await nice.WriteRemoteDescriptionAsync(ours);
            await p2p.WaitForLineAsync(l => l == "Connected", Wait);
            await nice.WaitForLineAsync(l => l == "Connected", Wait);

            await p2p.WriteLineAsync("hello libnice, over TCP");
            await nice.WaitForLineAsync(l => l == "Received: hello libnice, over TCP", Wait);
            await nice.WriteLineAsync("hello p2p, over TCP");
            await p2p.WaitForLineAsync(l => l == "Received: hello p2p, over TCP", Wait);

            // the lines went over TCP: UDP is dropped, and the two hold an established TCP connection between them
            Assert.True(ns.UdpDropped() > 0, "no UDP was dropped: the test would prove nothing");
            Assert.NotEmpty(await ns.EstablishedTcpAsync());
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
            output.WriteLine(nice.Transcript);
        }
    }

    /// <summary>A network namespace (named itcp-…, never a lab name) with loopback up and an nftables rule dropping every UDP packet that arrives; deleted on dispose.</summary>
    private sealed class UdpDroppingNamespace : IAsyncDisposable
    {
        private UdpDroppingNamespace(string name) => Name = name;

        public string Name { get; }

        public static async Task<UdpDroppingNamespace> CreateAsync()
        {
            var ns = new UdpDroppingNamespace("itcp-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant());
            await Run("ip", "netns", "add", ns.Name);
            try
            {
                await Run("ip", "-n", ns.Name, "link", "set", "lo", "up");
                await Run("ip", "netns", "exec", ns.Name, "nft", "add table inet itcp { chain input { type filter hook input priority 0; meta l4proto udp counter drop; }; }");
            }
            catch
            {
                await ns.DisposeAsync();
                throw;
            }
            return ns;
        }

        /// <summary>UDP packets the rule dropped so far.</summary>
        public long UdpDropped()
        {
            var listing = Run("ip", "netns", "exec", Name, "nft", "list chain inet itcp input").GetAwaiter().GetResult();
            var match = System.Text.RegularExpressions.Regex.Match(listing, @"counter packets (\d+)");
            return match.Success ? long.Parse(match.Groups[1].Value) : 0;
        }

        /// <summary>The established TCP connections in the namespace, one line each.</summary>
        public async Task<IReadOnlyList<string>> EstablishedTcpAsync() =>
            (await Run("ip", "netns", "exec", Name, "ss", "-tnH", "state", "established")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public async ValueTask DisposeAsync() => await Processes.Run(Processes.Program("ip", "netns", "del", Name), TimeSpan.FromSeconds(10));

        private static async Task<string> Run(string file, params string[] args)
        {
            var result = await Processes.Run(Processes.Program(file, args), TimeSpan.FromSeconds(10));
            if (result.TimedOut || result.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {result}");
            return result.Stdout;
        }
    }
}
