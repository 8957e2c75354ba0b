using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// <c>p2p host</c> with an RFC 5780 server (<c>p2p relay --alt-ip 127.0.0.2</c>): each peer discovers its NAT in the
/// background, and the <c>sessions</c> table shows this side's report and the one the remote put in its description.
/// </summary>
public sealed class HostNatColumnTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_sessions_table_shows_both_sides_nat_once_discovery_ran()
    {
        await using var relay = await RelayProcess.Start("--alt-ip", "127.0.0.2");
        await using var host = P2pProcess.Start("host", "--local-address", "127.0.0.1", "--stun", "127.0.0.1", "--stun-port", relay.UdpPort.ToString());
        try
        {
            await host.WriteLineAsync("peer add alice");
            await host.WaitForLineAsync(l => l.StartsWith("peer alice bound", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("peer add bob");
            await host.WaitForLineAsync(l => l.StartsWith("peer bob bound", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("open alice bob");
            await host.WaitForLineAsync(l => l.StartsWith("[alice-bob-1] connected", StringComparison.Ordinal), Wait);

            // the first session was described before discovery ended: each side's report comes later, and goes to the
            // other side then (SessionProtocol.LocalNatReported, through the host's in-memory signaling)
            var deadline = DateTime.UtcNow + Wait;
            string row, other;
            do
            {
                await host.WriteLineAsync("sessions");
                row = await host.WaitForLineAsync(l => l.Contains("alice-bob-1", StringComparison.Ordinal), Wait);
                other = await host.WaitForLineAsync(l => l.Contains("bob-alice-1", StringComparison.Ordinal), Wait);
                if (row.Contains("no NAT / no NAT", StringComparison.Ordinal) && other.Contains("no NAT / no NAT", StringComparison.Ordinal)) break;
                await Task.Delay(300);
            } while (DateTime.UtcNow < deadline);
            Assert.Contains("no NAT / no NAT", row);
            Assert.Contains("no NAT / no NAT", other);

            // a session opened now carries both reports in its descriptions
            await host.WriteLineAsync("open bob alice");
            await host.WaitForLineAsync(l => l.StartsWith("[bob-alice-2] connected", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("sessions");
            row = await host.WaitForLineAsync(l => l.Contains("bob-alice-2", StringComparison.Ordinal), Wait);
            Assert.Contains("no NAT / no NAT", row);

            await host.WriteLineAsync("quit");
            await host.WaitForLineAsync(l => l == "bye", Wait);
        }
        finally
        {
            output.WriteLine(host.Transcript);
        }
    }
}
