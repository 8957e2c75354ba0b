using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.Actor;
using P2P.Actors.Sctp;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sctp;

/// <summary>
/// Path MTU discovery (RFC 8899 §6.2.1) in virtual time: the association starts at the base packet size and probes
/// larger ones with HEARTBEAT + PAD; what the path carries is used, what it loses is given up after MAX_PROBES.
/// </summary>
public sealed class SctpPathMtuTests(ITestOutputHelper output) : SctpVirtualTimeTestKit(output)
{
    private static readonly SctpSettings Settings = SctpSettings.Default;

    private (SctpSide Client, SctpSide Server) Start(int maxPacketOnPath)
    {
        var pipe = Sys.ActorOf(SctpPipe.Props(7));
        pipe.Tell(new SctpPipe.Impair(0, MaxPacket: maxPacketOnPath));
        var clientEvents = new ConcurrentQueue<object>();
        var serverEvents = new ConcurrentQueue<object>();
        var client = Sys.ActorOf(SctpAssociation.Props(Settings, pipe, Sys.ActorOf(EventSink.Props(clientEvents)), isDtlsClient: true));
        var server = Sys.ActorOf(SctpAssociation.Props(Settings, pipe, Sys.ActorOf(EventSink.Props(serverEvents)), isDtlsClient: false));
        pipe.Tell(new SctpPipe.Wire(client, server));
        client.Tell(SctpProtocol.Associate.Instance);
        return (new SctpSide(client, clientEvents), new SctpSide(server, serverEvents));
    }



    /// <summary>A 200 KiB message from the client, delivered whole to the server.</summary>
    private void SendAndReceiveLargeMessage(SctpSide client, SctpSide server)
    {
        client.Tell(new SctpProtocol.OpenChannel("bulk"));
        Pump(() => client.Of<SctpProtocol.ChannelOpened>().Any() && server.Of<SctpProtocol.ChannelOpened>().Any(), TimeSpan.FromSeconds(30), what: "channel");
        var payload = RandomNumberGenerator.GetBytes(200 * 1024);
        client.Tell(new SctpProtocol.SendMessage(client.Of<SctpProtocol.ChannelOpened>().Single().StreamId, payload, Binary: true));
        Pump(() => server.Of<SctpProtocol.MessageReceived>().Any(), TimeSpan.FromSeconds(30), what: "the message");
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(server.Of<SctpProtocol.MessageReceived>().Single().Data.Span));
    }

    [Fact]
    public void On_a_path_that_carries_any_size_the_largest_probe_is_acknowledged_and_data_goes_in_packets_of_that_size()
    {
        var (client, server) = Start(maxPacketOnPath: int.MaxValue);
        Pump(() => StatsOf(client).PathMtu == Settings.PmtuProbeMax, TimeSpan.FromSeconds(5), what: "the largest probe acknowledged");
        SendAndReceiveLargeMessage(client, server);

        var stats = StatsOf(client);
        Assert.True(stats.DataChunksOut < 200 * 1024 / Settings.MaxPacketSize, $"{stats.DataChunksOut} DATA chunks for 200 KiB: not cut to the probed size");
        Assert.Equal(Settings.PmtuProbeMax, StatsOf(server).PathMtu);   // the server probed for itself too
    }

    [Fact]
    public void On_an_Ethernet_sized_path_the_large_probes_are_given_up_after_max_probes_and_the_size_that_fits_is_used()
    {
        var (client, server) = Start(maxPacketOnPath: 1500);
        Pump(() => StatsOf(client).PathMtu == 1408, TimeSpan.FromSeconds(5), step: TimeSpan.FromMilliseconds(5), what: "the 1408-byte probe acknowledged before its PROBE_TIMER");
        // the 8192- and 16384-byte probes are lost: each is sent MAX_PROBES times, PROBE_TIMER apart, then given up
        PumpFor(Settings.PmtuProbeTimeout * (Settings.PmtuMaxProbes + 3));
        Assert.Equal(1 + 2 * Settings.PmtuMaxProbes, StatsOf(client).ProbesSent);
        Assert.Equal(1, StatsOf(client).ProbesAcknowledged);
        SendAndReceiveLargeMessage(client, server);   // every DATA packet fits the path: none is lost to its size
        Assert.Equal(0, StatsOf(client).Retransmissions);
    }

    [Fact]
    public void An_association_on_a_small_path_writes_packets_of_its_own_size_beside_one_that_probed_16_KiB()
    {
        // associations write their packets into one buffer per thread: the one that grew it to 16 KiB must not make the
        // other bundle chunks into packets its path loses
        var (bigClient, _) = Start(maxPacketOnPath: int.MaxValue);
        Pump(() => StatsOf(bigClient).PathMtu == Settings.PmtuProbeMax, TimeSpan.FromSeconds(5), what: "the largest probe acknowledged");
        var (client, server) = Start(maxPacketOnPath: 1500);
        Pump(() => StatsOf(client).PathMtu == 1408, TimeSpan.FromSeconds(5), step: TimeSpan.FromMilliseconds(5), what: "the 1408-byte probe acknowledged");
        SendAndReceiveLargeMessage(client, server);
        Assert.Equal(0, StatsOf(client).Retransmissions);
    }
}
