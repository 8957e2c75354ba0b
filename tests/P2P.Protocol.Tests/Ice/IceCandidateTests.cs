using System.Net;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Protocol.Tests.Ice;

public class IceCandidateTests
{
    private static IceCandidate Parse(string text)
    {
        Assert.True(IceCandidate.TryParse(text, out var c, out var error), error);
        return c;
    }

    private static string Error(string text)
    {
        Assert.False(IceCandidate.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        return error;
    }

    [Fact]
    public void Host_candidate_parses_and_writes_back()
    {
        var c = Parse("1 1 UDP 2130706431 192.0.2.1 5000 typ host");
        Assert.Equal(new IceCandidate("1", 1, CandidateTransport.Udp, 2130706431, IceTestData.Ep("192.0.2.1", 5000), CandidateType.Host), c);
        Assert.Equal("1 1 UDP 2130706431 192.0.2.1 5000 typ host", c.ToAttributeValue());
        Assert.Equal("a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ host", c.ToSdpLine());
    }

    [Theory]
    [InlineData("a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ host")]
    [InlineData("candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ host")]
    [InlineData("  1 1 udp 2130706431 192.0.2.1 5000 typ host \r")]
    [InlineData("1  1\tUDP 2130706431 192.0.2.1 5000 typ HOST")]
    public void Prefixes_case_and_whitespace_are_tolerated(string text)
    {
        Assert.Equal("1 1 UDP 2130706431 192.0.2.1 5000 typ host", Parse(text).ToAttributeValue());
    }

    [Theory]
    [InlineData("2 1 UDP 1694498815 198.51.100.7 61000 typ srflx raddr 10.0.0.2 rport 5000")]
    [InlineData("3 1 UDP 16777215 203.0.113.9 49152 typ relay raddr 198.51.100.7 rport 61000")]
    [InlineData("4 1 UDP 1862270975 198.51.100.8 40000 typ prflx raddr 10.0.0.2 rport 5000")]
    [InlineData("5 1 UDP 2130706431 2001:db8::1 5000 typ host")]
    [InlineData("6 2 UDP 2130706430 fe80::1 5001 typ host")]
    [InlineData("7 1 UDP 1694498815 2001:db8::7 61000 typ srflx raddr 2001:db8::1 rport 5000")]
    [InlineData("2 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active")]
    [InlineData("3 1 TCP 1010827519 127.0.0.1 58723 typ host tcptype passive")]
    [InlineData("8 1 TCP 1010827519 127.0.0.1 58723 typ host tcptype so")]
    [InlineData("842163049 1 UDP 1677729535 198.51.100.7 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag EsAw network-id 1 network-cost 10")]
    [InlineData("a/+B 256 UDP 4294967295 0.0.0.0 65535 typ host x y")]
    public void Candidate_lines_round_trip(string line)
    {
        var c = Parse(line);
        Assert.Equal(line, c.ToAttributeValue());
        Assert.Equal(c, Parse(c.ToAttributeValue()));
    }

    [Fact]
    public void Related_address_tcptype_and_extensions_are_read()
    {
        var srflx = Parse("842163049 1 udp 1677729535 198.51.100.7 61000 typ srflx raddr 10.0.0.2 rport 5000 generation 0 ufrag EsAw");
        Assert.Equal(CandidateType.ServerReflexive, srflx.Type);
        Assert.Equal(IceTestData.Ep("10.0.0.2", 5000), srflx.Related);
        Assert.Equal([("generation", "0"), ("ufrag", "EsAw")], srflx.Extensions);

        var active = Parse("2 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active");
        Assert.Equal(CandidateTransport.Tcp, active.Transport);
        Assert.Equal(TcpCandidateType.Active, active.TcpType);
        Assert.Equal(9, active.Address.Port);

        var v6 = Parse("5 1 UDP 2130706431 2001:db8::1 5000 typ host");
        Assert.Equal(IPAddress.Parse("2001:db8::1"), v6.Address.Address);
    }

    [Fact]
    public void Equality_compares_extensions_by_value()
    {
        var a = Parse("1 1 UDP 1 192.0.2.1 1 typ host generation 0");
        var b = Parse("1 1 UDP 1 192.0.2.1 1 typ host generation 0");
        var c = Parse("1 1 UDP 1 192.0.2.1 1 typ host generation 1");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Ipv6_zone_is_not_written()
    {
        var c = new IceCandidate("1", 1, CandidateTransport.Udp, 1, new IPEndPoint(IPAddress.Parse("fe80::1%3"), 5000), CandidateType.Host);
        Assert.Equal("1 1 UDP 1 fe80::1 5000 typ host", c.ToAttributeValue());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("1 1 UDP x 192.0.2.1 5000 typ host", "bad priority 'x'")]
    [InlineData("1 1 UDP 42949672960 192.0.2.1 5000 typ host", "bad priority")]
    [InlineData("1 1 UDP -1 192.0.2.1 5000 typ host", "bad priority")]
    [InlineData("1 1 UDP 2130706431 192.0.2.1 5000 host", "missing 'typ'")]
    [InlineData("1 1 UDP 2130706431 192.0.2.1 5000", "missing 'typ'")]
    [InlineData("1 1 UDP 2130706431 192.0.2.1 5000 typ", "missing candidate type")]
    [InlineData("1 1 UDP 2130706431 192.0.2.1 5000 typ nat", "unknown candidate type 'nat'")]
    [InlineData("1 1 UDP 2130706431 192.0.2.1 70000 typ host", "bad port '70000'")]
    [InlineData("1 1 UDP 2130706431 192.0.2.1 -1 typ host", "bad port")]
    [InlineData("1 1 UDP 2130706431 192.0.2.1 abc typ host", "bad port")]
    [InlineData("1 1 UDP 2130706431 300.0.2.1 5000 typ host", "bad IP address '300.0.2.1'")]
    [InlineData("1 1 UDP 2130706431 127.1 5000 typ host", "bad IP address '127.1'")]
    [InlineData("1 1 UDP 2130706431 [::1] 5000 typ host", "bad IP address")]
    [InlineData("1 1 UDP 2130706431 fe80::1%eth0 5000 typ host", "bad IP address")]
    [InlineData("1 1 UDP 2130706431 example.com 5000 typ host", "host name 'example.com' is not supported (only IP addresses and mDNS '.local' names)")]
    [InlineData("1 1 UDP 2130706431 printer.lan 5000 typ host", "host name 'printer.lan' is not supported")]
    [InlineData("1 1 UDP 2130706431 .local 5000 typ host", "host name '.local' is not supported")]
    [InlineData("1 1 UDP 2130706431 a..local 5000 typ host", "host name 'a..local' is not supported")]
    [InlineData("1 1 UDP 2130706431 a_b.local 5000 typ host", "bad IP address 'a_b.local'")]
    [InlineData("1 0 UDP 2130706431 192.0.2.1 5000 typ host", "bad component id")]
    [InlineData("1 257 UDP 2130706431 192.0.2.1 5000 typ host", "bad component id")]
    [InlineData("1 1 SCTP 2130706431 192.0.2.1 5000 typ host", "unsupported transport 'SCTP'")]
    [InlineData("f:o 1 UDP 2130706431 192.0.2.1 5000 typ host", "bad foundation")]
    [InlineData("123456789012345678901234567890123 1 UDP 1 192.0.2.1 5000 typ host", "bad foundation")]
    [InlineData("1 1 UDP 1 192.0.2.1 5000 typ srflx raddr", "'raddr' has no value")]
    [InlineData("1 1 UDP 1 192.0.2.1 5000 typ srflx raddr 10.0.0.1 generation 0", "'raddr' without 'rport'")]
    [InlineData("1 1 UDP 1 192.0.2.1 5000 typ srflx rport 5", "'rport' without 'raddr'")]
    [InlineData("1 1 UDP 1 192.0.2.1 5000 typ srflx raddr foo.local rport 5", "raddr: host name")]
    [InlineData("1 1 UDP 1 192.0.2.1 5000 typ srflx raddr 10.0.0.1 rport 99999", "bad rport")]
    [InlineData("1 1 UDP 1 192.0.2.1 5000 typ host tcptype active", "'tcptype' on a UDP candidate")]
    [InlineData("1 1 TCP 1 192.0.2.1 5000 typ host tcptype sideways", "bad tcptype 'sideways'")]
    [InlineData("1 1 TCP 1 192.0.2.1 5000 typ host tcptype active tcptype passive", "given twice")]
    public void Bad_lines_say_what_is_wrong(string line, string reason)
    {
        Assert.Contains(reason, Error(line));
    }

    [Theory]
    [InlineData("candidate:1 1 udp 2113937151 1a2b3c4d-0000-1111-2222-333344445555.local 54321 typ host generation 0 network-cost 999")]
    [InlineData("a=candidate:1 1 UDP 2113937151 1A2B3C4D-0000-1111-2222-333344445555.local. 54321 typ host")]
    [InlineData("1 1 TCP 1518280447 host-1.local 9 typ host tcptype active")]
    public void An_mdns_name_parses_with_no_address_and_writes_back_as_read(string line)
    {
        var c = Parse(line);
        string name = line.Split(' ')[4];
        Assert.Equal(name, c.HostName);
        Assert.Equal(IPAddress.Any, c.Address.Address); // not an address to pair with: it must be resolved first
        Assert.Equal(CandidateType.Host, c.Type);
        Assert.Contains($" {name} ", c.ToAttributeValue());
        Assert.Equal(c, Parse(c.ToAttributeValue()));
    }

    [Fact]
    public void A_named_candidate_differs_from_the_same_candidate_with_an_address_and_from_another_name()
    {
        var named = Parse("1 1 UDP 2113937151 a.local 5000 typ host");
        Assert.NotEqual(named, Parse("1 1 UDP 2113937151 b.local 5000 typ host"));
        Assert.NotEqual(named, named with { HostName = null });
        var published = Parse("1 1 UDP 2113937151 192.0.2.1 5000 typ host") with { HostName = "c.local" };
        Assert.Equal("1 1 UDP 2113937151 c.local 5000 typ host", published.ToAttributeValue());
        Assert.Equal(IceTestData.Ep("192.0.2.1", 5000), published.Address); // a published candidate keeps its address for the checks
    }
}
