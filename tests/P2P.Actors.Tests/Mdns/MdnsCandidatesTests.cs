using System.Net;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using P2P.Actors.Mdns;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Mdns;

public sealed class MdnsCandidatesTests(ITestOutputHelper output) : TestKit("akka.loglevel = INFO", output)
{
    private const string NameA = "7a2f61b5-2e4a-4c1c-9b5d-0f1e2d3c4b5a.local", NameB = "0b9e3f3c-5a51-4d4e-8f0e-7a2c9d1e0f11.local";

    private static IceCandidate Candidate(string line)
    {
        Assert.True(IceCandidate.TryParse(line, out var c, out var error), error);
        return c;
    }

    private MdnsCandidates Make(MdnsMode mode) =>
        new(MdnsSettings.Default with { Mode = mode }, "s", () => TestActor, TestActor, Sys.Log);

    [Fact]
    public void End_of_candidates_waits_for_every_pending_name_and_no_longer()
    {
        var mdns = Make(MdnsMode.Resolve);
        var description = new IceDescription(IceCredentials.Generate(),
        [
            Candidate($"1 1 UDP 2130706431 {NameA} 5000 typ host"),
            Candidate($"2 1 UDP 2130706430 {NameA} 5001 typ host"),
            Candidate($"3 1 UDP 2130706429 {NameB} 5002 typ host"),
            Candidate("4 1 UDP 1694498815 198.51.100.7 61000 typ srflx raddr 0.0.0.0 rport 0"),
        ]) { EndOfCandidates = true };

        var stripped = mdns.Strip(description);
        Assert.Equal(["4"], stripped.Candidates.Select(c => c.Foundation));
        Assert.False(stripped.EndOfCandidates);
        // one query per name, however many candidates carry it
        Assert.Equal(NameA, ExpectMsg<MdnsProtocol.Resolve>().Name);
        Assert.Equal(NameB, ExpectMsg<MdnsProtocol.Resolve>().Name);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var (resolved, release) = mdns.OnResolved(new MdnsProtocol.Resolved(NameA.ToUpperInvariant(), [IPAddress.Parse("192.0.2.7"), IPAddress.Parse("fe80::1")]));
        Assert.False(release); // NameB still pending
        Assert.Equal(["1 1 UDP 2130706431 192.0.2.7 5000 typ host", "2 1 UDP 2130706430 192.0.2.7 5001 typ host"], resolved.Select(c => c.ToAttributeValue()));
        Assert.True(mdns.OnUnresolved(new MdnsProtocol.Unresolved(NameB, "no mDNS answer within 3 s")));
        Assert.Equal((2, 1), (mdns.Resolved, mdns.Dropped));
        Assert.False(mdns.HoldEndOfCandidates()); // nothing pending: a later end-of-candidates goes at once
    }

    [Fact]
    public void A_trickled_end_of_candidates_is_held_while_a_trickled_name_resolves()
    {
        var mdns = Make(MdnsMode.Resolve);
        Assert.False(mdns.Take(Candidate("1 1 UDP 2130706431 192.0.2.1 5000 typ host")));
        Assert.True(mdns.Take(Candidate($"2 1 UDP 2130706431 {NameA} 5000 typ host")));
        Assert.True(mdns.HoldEndOfCandidates());
        Assert.True(mdns.OnResolved(new MdnsProtocol.Resolved(NameA, [IPAddress.Parse("192.0.2.7")])).EndOfCandidates);
        // an answer nobody waits for (a second answer, or after the timeout) adds nothing
        Assert.Empty(mdns.OnResolved(new MdnsProtocol.Resolved(NameA, [IPAddress.Parse("192.0.2.8")])).Candidates);
    }

    [Fact]
    public void Publishing_names_each_host_address_once_and_hides_the_base_of_a_server_reflexive_candidate()
    {
        var mdns = Make(MdnsMode.Publish);
        var udp = Candidate("1 1 UDP 2130706431 192.0.2.1 5000 typ host");
        var tcp = Candidate("2 1 TCP 1518280447 192.0.2.1 9 typ host tcptype active");
        var srflx = Candidate("3 1 UDP 1694498815 198.51.100.7 61000 typ srflx raddr 192.0.2.1 rport 5000");
        var named = mdns.Publish([udp, tcp, srflx]);
        Assert.NotNull(named[0].HostName);
        Assert.Equal(named[0].HostName, named[1].HostName); // one name per address
        Assert.Equal(udp.Address, named[0].Address); // the checks still use the address
        Assert.Equal("3 1 UDP 1694498815 198.51.100.7 61000 typ srflx raddr 0.0.0.0 rport 0", named[2].ToAttributeValue()); // its base would give the host address away
        var published = Assert.Single(ExpectMsg<MdnsProtocol.Publish>().Records);
        Assert.Equal((named[0].HostName, IPAddress.Parse("192.0.2.1")), (published.Name, published.Address));
        // the same address later (an ICE restart, a TCP candidate gathered afterwards) keeps its name and publishes nothing new
        Assert.Equal(named[0].HostName, mdns.Publish([udp])[0].HostName);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Same(udp, Make(MdnsMode.Resolve).Publish([udp])[0]);
    }

    [Fact]
    public void Names_past_the_limit_of_a_session_are_dropped_and_logged_once()
    {
        var mdns = new MdnsCandidates(MdnsSettings.Default with { MaxNamesPerSession = 2 }, "s", () => TestActor, TestActor, Sys.Log);
        EventFilter.Warning(contains: "more than 2 mDNS names").ExpectOne(() =>
        {
            for (int i = 0; i < 5; i++) Assert.True(mdns.Take(Candidate($"{i} 1 UDP 2130706431 name{i}.local 5000 typ host")));
        });
        Assert.Equal(["name0.local", "name1.local"], new[] { ExpectMsg<MdnsProtocol.Resolve>().Name, ExpectMsg<MdnsProtocol.Resolve>().Name });
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(3, mdns.Dropped);
        // a name already asked for is not a new one: another candidate under it still waits for its answer
        Assert.True(mdns.Take(Candidate("9 1 UDP 2130706431 name1.local 5001 typ host")));
        Assert.Equal(2, mdns.OnResolved(new MdnsProtocol.Resolved("name1.local", [IPAddress.Parse("192.0.2.9")])).Candidates.Count);
    }

    [Theory]
    [InlineData("mdns = publish", MdnsMode.Publish)]
    [InlineData("mdns = OFF", MdnsMode.Off)]
    [InlineData("", MdnsMode.Resolve)]
    public void The_mode_is_read_from_the_ice_section(string hocon, MdnsMode mode)
    {
        Assert.Equal(mode, MdnsSettings.From(ConfigurationFactory.ParseString(hocon)).Mode);
    }

    [Fact]
    public void A_mode_that_does_not_exist_is_refused_with_the_choices()
    {
        var e = Assert.Throws<ConfigurationException>(() => MdnsSettings.From(ConfigurationFactory.ParseString("mdns = hide")));
        Assert.Equal("'p2p.ice.mdns' is 'hide': it must be resolve, publish or off", e.Message);
    }
}
