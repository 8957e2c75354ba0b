using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Relay;

/// <summary>One real `p2p relay` process shared by the tests of a class (started on a free port with --allow-loopback).</summary>
public class RelayProcessFixture : IAsyncLifetime
{
    public const string User = "turnuser";
    public const string Password = "turnpass";
    public RelayProcess Relay { get; private set; } = null!;

    /// <summary>Options past the user, realm and --allow-loopback (TLS listeners, for example).</summary>
    protected virtual string[] ExtraArguments => [];

    public virtual async Task InitializeAsync() =>
        Relay = await RelayProcess.Start(["--user", $"{User}:{Password}", "--realm", "p2p-test", "--allow-loopback", .. ExtraArguments]);

    public async Task DisposeAsync() => await Relay.DisposeAsync();
}

/// <summary>coturn's turnutils against `p2p relay` (installed at /usr/bin; test.sh installs coturn on CI).</summary>
public abstract class CoturnClientTestBase(RelayProcessFixture fixture, ITestOutputHelper output)
{
    protected RelayProcess Relay => fixture.Relay;

    /// <summary>The port turnutils_uclient talks to (-p): the relay's UDP and TCP port unless a test says otherwise.</summary>
    protected virtual int Port => Relay.UdpPort;

    /// <summary>An "error" line of turnutils_uclient's output that the test expects (none unless a test says so).</summary>
    protected virtual bool IsExpectedErrorLine(string line) => false;

    /// <summary>
    /// turnutils_uclient in client-to-client mode (-y): it allocates two relays on our server and sends
    /// <c>-n</c> messages each way through them, then prints totals. Only loopback is involved. With -c it
    /// allocates one relay per client; without it, its default, each client allocates an RTP/RTCP pair (EVEN-PORT
    /// with the R bit, then RESERVATION-TOKEN) and sends on both.
    /// </summary>
    protected Task AssertUclientRelaysWithoutLoss(params string[] flags) => AssertUclientRelaysWithoutLoss(rtcp: false, flags);

    protected async Task AssertUclientRelaysWithoutLoss(bool rtcp, params string[] flags)
    {
        var (lost, sent, received, text) = await TurnutilsUclient.RunAsync(Port, ["-u", RelayProcessFixture.User, "-w", RelayProcessFixture.Password],
            [.. flags, .. (rtcp ? Array.Empty<string>() : ["-c"])], output.WriteLine);
        Assert.Equal(0, lost);
        Assert.Equal(rtcp ? 400 : 200, sent); // -n 100 each way, two clients (-y), on RTP and RTCP without -c
        Assert.Equal(sent, received);
        Assert.DoesNotContain(text.Split('\n'), line => line.Contains("error", StringComparison.OrdinalIgnoreCase) && !IsExpectedErrorLine(line));
        output.WriteLine($"relay output:\n{Relay.Output}");
    }
}

public sealed class CoturnUdpClientTests(RelayProcessFixture fixture, ITestOutputHelper output)
    : CoturnClientTestBase(fixture, output), IClassFixture<RelayProcessFixture>
{
    private readonly ITestOutputHelper _output = output;

    [Fact]
    public async Task Turnutils_stunclient_gets_its_mapped_address_from_the_relay_process()
    {
        var result = await Processes.Run(Processes.Program("turnutils_stunclient", "-p", Relay.UdpPort.ToString(), "127.0.0.1"), TimeSpan.FromSeconds(30));
        _output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"UDP reflexive addr: 127\.0\.0\.1:\d+", result.Stdout + result.Stderr);
    }

    [Fact]
    public Task Turnutils_uclient_relays_through_channels_over_udp_without_loss() => AssertUclientRelaysWithoutLoss();

    [Fact]
    public Task Turnutils_uclient_with_its_default_rtp_and_rtcp_port_pair_relays_without_loss() => AssertUclientRelaysWithoutLoss(rtcp: true);
}

public sealed class CoturnTcpAndIndicationClientTests(RelayProcessFixture fixture, ITestOutputHelper output)
    : CoturnClientTestBase(fixture, output), IClassFixture<RelayProcessFixture>
{
    [Fact]
    public Task Turnutils_uclient_relays_over_tcp_to_the_server_without_loss() => AssertUclientRelaysWithoutLoss("-t");

    [Fact]
    public Task Turnutils_uclient_over_tcp_with_its_default_rtp_and_rtcp_port_pair_relays_without_loss() => AssertUclientRelaysWithoutLoss(rtcp: true, "-t");

    [Fact]
    public Task Turnutils_uclient_relays_through_rfc_6062_tcp_allocations_without_loss() => AssertUclientRelaysWithoutLoss("-T");

    [Fact]
    public Task Turnutils_uclient_relays_with_send_and_data_indications_without_loss() => AssertUclientRelaysWithoutLoss("-s");
}
