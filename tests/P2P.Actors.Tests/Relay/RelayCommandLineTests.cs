using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;
using Xunit.Abstractions;

using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Relay;

/// <summary>The `p2p relay` command line as a user meets it.</summary>
public sealed class RelayCommandLineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Relay_help_explains_the_options()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--help"), Timeout);
        output.WriteLine(result.ToString());
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--listen", "--relay-ip", "--min-port", "--max-port", "--realm", "--user", "--allow-loopback", "--allow-private",
                     "--max-allocations", "--user-quota", "--lifetime-max", "--nonce-lifetime", "--config", "--verbose" })
            Assert.Contains(option, result.Stdout);
    }

    [Fact]
    public async Task A_bad_option_gives_one_sentence_on_stderr_and_a_nonzero_exit()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--listen", "not-an-address"), Timeout);
        output.WriteLine(result.ToString());
        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("not-an-address", line);

        var number = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--min-port", "x"), Timeout);
        Assert.NotEqual(0, number.ExitCode);
        Assert.Contains("--min-port", Assert.Single(number.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task A_port_in_use_gives_one_sentence_on_stderr_and_a_nonzero_exit()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endpoint = (IPEndPoint)taken.LocalEndPoint!;
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--listen", endpoint.ToString(), "--user", "a:b"), Timeout);
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"p2p relay: UDP port {endpoint.Port} on 127.0.0.1 is already in use.", result.Stderr);
    }

    [Fact]
    public async Task Relay_without_users_warns_serves_binding_and_stops_on_sigterm()
    {
        var relay = await RelayProcess.Start();
        await using var _ = relay;
        Assert.Contains("(realm p2p, no users: STUN only)", relay.Output);
        // the warning is a log event written by another thread than the "listening" line: it may trail it a little
        for (int i = 0; i < 100 && !relay.Output.Contains("No TURN user is configured"); i++) await Task.Delay(50);
        Assert.Contains("No TURN user is configured", relay.Output);

        await using var client = TurnTestClient.Udp(new IPEndPoint(IPAddress.Loopback, relay.UdpPort));
        Assert.True((await client.Request(P2P.Protocol.Stun.StunMethod.Binding)).IsSuccess);

        using var kill = Process.Start("kill", ["-TERM", relay.Process.Id.ToString()])!;
        await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await relay.Process.WaitForExitAsync(cts.Token);
        output.WriteLine(relay.Output);
        Assert.Equal(0, relay.Process.ExitCode);
    }
}

/// <summary>How options, the --config file and akka.hocon combine (in-process, through the command's own code).</summary>
public sealed class RelayCommandSettingsTests
{
    private static System.CommandLine.ParseResult Parse(params string[] args)
    {
        var root = new System.CommandLine.RootCommand { P2P.Host.Commands.RelayCommand.Create() };
        var result = root.Parse(["relay", .. args]);
        Assert.Empty(result.Errors);
        return result;
    }

    [Fact]
    public void Options_override_the_config_file_which_overrides_akka_hocon()
    {
        var file = Path.Combine(Path.GetTempPath(), $"p2p-relay-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(file, "p2p.relay { users = [\"carol:pw\"], realm = from-file, user-quota = 3, max-port = 60000 }");
        try
        {
            var p = Parse("--config", file, "--listen", "[::1]:5000", "--listen", "127.0.0.1:0", "--user", "dave:pw2", "--max-allocations", "5",
                "--lifetime-max", "60", "--nonce-lifetime", "30", "--allow-private", "--min-port", "50000", "--relay-ip", "127.0.0.1");
            var config = P2P.Host.Hosting.P2PHostBuilder.LoadConfig(new FileInfo(file));
            var s = P2P.Host.Commands.RelayCommand.BuildSettings(p, config);
            Assert.Equal([new IPEndPoint(IPAddress.IPv6Loopback, 5000), new IPEndPoint(IPAddress.Loopback, 0)], s.Listen);
            Assert.Equal("from-file", s.Realm);
            Assert.Equal(new[] { "carol", "dave" }, s.Users.Keys.Order().ToArray());
            Assert.Equal(3, s.UserQuota);
            Assert.Equal(5, s.MaxAllocations);
            Assert.Equal(TimeSpan.FromSeconds(60), s.MaxLifetime);
            Assert.Equal(TimeSpan.FromSeconds(60), s.DefaultLifetime); // the default is capped by the maximum
            Assert.Equal(TimeSpan.FromSeconds(30), s.NonceLifetime);
            Assert.True(s.AllowPrivate);
            Assert.False(s.AllowLoopback);
            Assert.Equal((50000, 60000), (s.MinPort, s.MaxPort));
            Assert.Equal(IPAddress.Loopback, Assert.Single(s.RelayAddresses));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Inconsistent_options_are_refused_with_a_sentence()
    {
        var config = P2P.Host.Hosting.P2PHostBuilder.LoadConfig(null);
        var e = Assert.Throws<ArgumentException>(() => P2P.Host.Commands.RelayCommand.BuildSettings(Parse("--min-port", "6000", "--max-port", "5000"), config));
        Assert.Contains("6000-5000", e.Message);
        Assert.Throws<ArgumentException>(() => P2P.Host.Commands.RelayCommand.BuildSettings(Parse("--user", "nopassword"), config));
        Assert.Throws<ArgumentException>(() => P2P.Host.Commands.RelayCommand.BuildSettings(Parse("--relay-ip", "0.0.0.0"), config));
    }
}
