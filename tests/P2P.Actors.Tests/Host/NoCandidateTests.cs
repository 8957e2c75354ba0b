using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// A description without a single candidate gives the other side nothing to connect to: the ICE chat says so, and
/// what to do, instead of printing an empty block and waiting for a paste that can never connect.
/// </summary>
public sealed class NoCandidateTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_machine_with_only_loopback_and_no_local_address_is_told_to_pass_one()
    {
        // a network namespace of its own, with nothing but a loopback interface
        await using var p2p = P2pProcess.StartThrough("unshare", ["-n", "--"], ["-s", "--stun", "none"]);
        try
        {
            Assert.Equal(1, await p2p.WaitForExitAsync(Wait));
            Assert.Contains("err| p2p: no candidate to offer: this machine has no network address besides loopback", p2p.Transcript);
            Assert.Contains("--local-address 127.0.0.1", p2p.Transcript);
            Assert.DoesNotContain("out| c=IN IP4 0.0.0.0", p2p.Transcript);
            Assert.DoesNotContain("Paste the remote description", p2p.Transcript);
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }

    [Fact]
    public async Task Relay_only_with_refused_TURN_credentials_says_there_is_no_relay_candidate_instead_of_an_empty_block()
    {
        await using var relay = await RelayProcess.Start("--user", "alice:secret", "--allow-loopback");
        await using var p2p = P2pProcess.Start("-s", "--relay-only", "--local-address", "127.0.0.1", "--stun", "none",
            "--turn", "127.0.0.1", "--turn-port", relay.UdpPort.ToString(), "--turn-user", "alice", "--turn-pass", "wrong");
        try
        {
            Assert.Equal(1, await p2p.WaitForExitAsync(Wait));
            Assert.Contains($"err| p2p: no relay candidate: the TURN server 127.0.0.1:{relay.UdpPort} gave no allocation", p2p.Transcript);
            Assert.Contains("refused credentials for user 'alice'", p2p.Transcript);
            Assert.DoesNotContain("out| m=", p2p.Transcript);
            Assert.DoesNotContain("Paste the remote description", p2p.Transcript);
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }
}
