using System.Net;
using System.Net.Sockets;
using Akka.TestKit.Xunit2;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Actors.Transport;
using P2P.Protocol.Nat;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Stun.NatDiscoveryProtocol;

namespace P2P.Actors.Tests.Interop;

/// <summary>
/// RFC 5780 both ways on loopback, where there is no NAT between 127.0.0.1 and 127.0.0.2: our discovery against coturn
/// listening on both addresses (its RFC 5780 mode), and coturn's turnutils_natdiscovery against <c>p2p relay --alt-ip</c>.
/// </summary>
public sealed class Rfc5780InteropTests : TestKit
{
    private static readonly IPAddress Alternate = IPAddress.Parse("127.0.0.2");
    private readonly ITestOutputHelper _output;

    public Rfc5780InteropTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output) => _output = output;

    /// <summary>A UDP and TCP port free on both loopback addresses right now (coturn's alternate port).</summary>
    private static int FreeOnBoth()
    {
        for (int i = 0; i < 50; i++)
        {
            using var first = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            first.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)first.LocalEndPoint!).Port;
            try
            {
                using var second = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                second.Bind(new IPEndPoint(Alternate, port));
                using var tcp1 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp1.Bind(new IPEndPoint(IPAddress.Loopback, port));
                using var tcp2 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp2.Bind(new IPEndPoint(Alternate, port));
                return port;
            }
            catch (SocketException)
            {
                // taken somewhere: another
            }
        }
        throw new InvalidOperationException("no port free on both 127.0.0.1 and 127.0.0.2");
    }

    /// <summary>turnutils_natdiscovery with <paramref name="flags"/> against a fresh <c>p2p relay --alt-ip 127.0.0.2</c>: what it printed.</summary>
    private async Task<string> NatDiscoveryAgainstOurRelay(params string[] flags)
    {
        await using var relay = await RelayProcess.Start("--alt-ip", "127.0.0.2");
        var result = await Processes.Run(Processes.Program("turnutils_natdiscovery", [.. flags, "-p", relay.UdpPort.ToString(), "127.0.0.1"]),
            TimeSpan.FromSeconds(60));
        _output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        return result.Stdout + result.Stderr;
    }

    [Fact]
    public async Task Our_discovery_against_coturn_in_rfc5780_mode_finds_no_nat_and_its_alternate_address()
    {
        int altPort = FreeOnBoth();
        await using var coturn = await CoturnServer.StartAsync(new CoturnOptions(ExtraArguments: ["--listening-ip", "127.0.0.2", "--alt-listening-port", altPort.ToString()]));
        var settings = NatDiscoverySettings.From(TurnClientSettingsTests.RepoHocon()) with
        {
            LifetimeProbe = true, LifetimeFirstCheck = TimeSpan.FromMilliseconds(500), LifetimeMax = TimeSpan.FromSeconds(1),
        };
        var owner = CreateTestProbe();
        Sys.ActorOf(NatDiscovery.Props(settings, RealUdpSockets.Instance, coturn.EndPoint, new IPEndPoint(IPAddress.Loopback, 0), owner: owner.Ref));
        var outcome = owner.ReceiveOne(TimeSpan.FromSeconds(40));
        var found = Assert.IsType<NatDiscovered>(outcome);
        _output.WriteLine($"{found.Report}; notes: {string.Join(" | ", found.Notes)}");
        Assert.Equal(new IPEndPoint(Alternate, altPort), found.Seen.OtherAddress);
        Assert.Equal(MappingBehavior.NoNat, found.Report.Mapping);
        Assert.Equal(FilteringBehavior.EndpointIndependent, found.Report.Filtering);
        Assert.Equal(PortAllocation.Preserving, found.Report.Allocation);
        // coturn honours RESPONSE-PORT (RFC 5780 §7.5): the lifetime checks reach the idle socket
        Assert.Equal(TimeSpan.FromSeconds(1), found.Report.MappingLifetime);
        Assert.Empty(found.Notes);
    }

    [Fact]
    public async Task Turnutils_natdiscovery_against_our_relay_finds_endpoint_independent_mapping_and_filtering_and_hairpinning()
    {
        var text = await NatDiscoveryAgainstOurRelay("-m", "-f", "-H");
        Assert.Contains("NAT with Endpoint Independent Mapping!", text);
        Assert.Contains("NAT with Endpoint Independent Filtering!", text);
        Assert.Contains("Received a request (maybe a successful hairpinning)", text);
        Assert.Contains("Other addr: : 127.0.0.2:", text);
    }

    [Fact]
    public async Task Turnutils_natdiscovery_lifetime_probe_is_answered_through_response_port()
    {
        // the second answer goes to the first, idle socket only when the server honours RESPONSE-PORT
        Assert.Contains("RFC 5780 response 2", await NatDiscoveryAgainstOurRelay("-t", "-T", "1"));
    }
}
