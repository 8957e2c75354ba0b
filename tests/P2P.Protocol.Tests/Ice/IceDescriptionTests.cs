using System.Net;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Protocol.Tests.Ice;

public class IceDescriptionTests
{
    /// <summary>libnice's nice_agent_generate_local_sdp output, exactly as the original program prints it.</summary>
    public const string LibniceBlock =
        "m=- 58723 ICE/SDP\n" +
        "c=IN IP4 127.0.0.1\n" +
        "a=ice-ufrag:G6op\n" +
        "a=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\n" +
        "a=candidate:1 1 UDP 2015363327 127.0.0.1 37268 typ host\n" +
        "a=candidate:2 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active\n" +
        "a=candidate:3 1 TCP 1010827519 127.0.0.1 58723 typ host tcptype passive\n";

    private static IceDescription Parse(string text)
    {
        Assert.True(IceDescription.TryParse(text, out var d, out var error), error.ToString());
        return d;
    }

    private static IceDescriptionError Error(string text)
    {
        Assert.False(IceDescription.TryParse(text, out _, out var error));
        return error;
    }

    [Fact]
    public void Libnice_block_parses()
    {
        var d = Parse(LibniceBlock);
        Assert.Equal(new IceCredentials("G6op", "zQ15Lb+Fx4X6zn1lTGq24x"), d.Credentials);
        Assert.Equal(3, d.Candidates.Count);
        Assert.Equal(new IceCandidate("1", 1, CandidateTransport.Udp, 2015363327, IceTestData.Ep("127.0.0.1", 37268), CandidateType.Host), d.Candidates[0]);
        Assert.Equal(new IceCandidate("2", 1, CandidateTransport.Tcp, 1015021823, IceTestData.Ep("127.0.0.1", 9), CandidateType.Host, TcpType: TcpCandidateType.Active), d.Candidates[1]);
        Assert.Equal(new IceCandidate("3", 1, CandidateTransport.Tcp, 1010827519, IceTestData.Ep("127.0.0.1", 58723), CandidateType.Host, TcpType: TcpCandidateType.Passive), d.Candidates[2]);
        Assert.False(d.EndOfCandidates);
        Assert.False(d.IceLite);
        Assert.Empty(d.Options);
        Assert.Null(d.Fingerprint);
        Assert.Null(d.Setup);
    }

    [Fact]
    public void Libnice_block_pasted_with_CRLF_indentation_and_blank_lines_parses()
    {
        string pasted = "\r\n  " + LibniceBlock.Replace("\n", "\r\n   ") + "\r\n\r\n";
        Assert.Equal(Parse(LibniceBlock), Parse(pasted));
    }

    [Fact]
    public void Our_libnice_layout_reproduces_libnice_block()
    {
        var d = Parse(LibniceBlock);
        Assert.Equal(LibniceBlock.Replace("58723 ICE/SDP", "37268 ICE/SDP") + "\n", d.Write(IceDescriptionFormat.Libnice));
        Assert.Equal(d, Parse(d.Write(IceDescriptionFormat.Libnice)));
        Assert.Equal(d, Parse(d.Write()));
    }

    [Fact]
    public void Libnice_layout_starts_with_m_and_c_lines_of_the_default_candidate_and_ends_with_an_empty_line()
    {
        var d = new IceDescription(new IceCredentials("abcd", "0123456789012345678901"),
        [
            IceTestData.Relay("203.0.113.9", 49152, "198.51.100.7", 61000),
            IceTestData.Tcp("2001:db8::2", 5001, TcpCandidateType.Passive),
            IceTestData.Host("2001:db8::2", 5000),
        ]);
        string text = d.Write(IceDescriptionFormat.Libnice);
        string[] lines = text.Split('\n');
        Assert.Equal("m=- 5000 ICE/SDP", lines[0]);
        Assert.Equal("c=IN IP6 2001:db8::2", lines[1]);
        Assert.EndsWith("\n\n", text);
        Assert.DoesNotContain("\n\n", text[..^2]);

        var empty = new IceDescription(new IceCredentials("abcd", "0123456789012345678901"), []);
        Assert.StartsWith("m=- 9 ICE/SDP\nc=IN IP4 0.0.0.0\n", empty.Write(IceDescriptionFormat.Libnice));
        Assert.Equal("a=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\n", empty.Write());
    }

    [Fact]
    public void Full_description_with_every_attribute_round_trips()
    {
        var d = new IceDescription(IceCredentials.Generate(),
        [
            IceTestData.Host("10.0.0.2", 5000),
            IceTestData.Srflx("198.51.100.7", 61000, "10.0.0.2", 5000) with { Extensions = [("generation", "0"), ("network-id", "1")] },
        ])
        {
            EndOfCandidates = true,
            Options = ["trickle", "ice2"],
            IceLite = true,
            FingerprintAlgorithm = "sha-256",
            Fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
            Setup = "actpass",
        };
        string text = d.Write();
        Assert.Contains("a=ice-options:trickle ice2\n", text);
        Assert.Contains("a=ice-lite\n", text);
        Assert.Contains("a=fingerprint:sha-256 AB:CD:", text);
        Assert.Contains("a=setup:actpass\n", text);
        Assert.EndsWith("a=end-of-candidates\n", text);
        Assert.Equal(d, Parse(text));
        Assert.Equal(d, Parse(d.Write(IceDescriptionFormat.Libnice)));
    }

    [Fact]
    public void Browser_style_offer_parses_and_other_lines_are_ignored()
    {
        const string offer = """
            v=0
            o=- 4611731400430051336 2 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=group:BUNDLE 0
            a=extmap-allow-mixed
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            c=IN IP4 0.0.0.0
            a=ice-ufrag:EsAw
            a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
            a=ice-options:trickle
            a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F
            a=setup:actpass
            a=mid:0
            a=sctp-port:5000
            a=rtcp-mux
            a=candidate:842163049 1 udp 1677729535 198.51.100.7 61000 typ srflx raddr 10.0.0.2 rport 5000 generation 0 network-cost 999
            a=end-of-candidates
            """;
        var d = Parse(offer);
        Assert.Equal("EsAw", d.Credentials.Ufrag);
        Assert.Equal(["trickle"], d.Options);
        Assert.Equal("sha-256", d.FingerprintAlgorithm);
        Assert.StartsWith("D2:FA", d.Fingerprint);
        Assert.Equal("actpass", d.Setup);
        Assert.True(d.EndOfCandidates);
        Assert.Equal(CandidateType.ServerReflexive, Assert.Single(d.Candidates).Type);
    }

    [Fact]
    public void Bad_candidate_line_gives_its_number_text_and_reason()
    {
        string text = "a=ice-ufrag:G6op\na=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\n\na=candidate:1 1 UDP x 127.0.0.1 37268 typ host\n";
        var error = Error(text);
        Assert.Equal(4, error.LineNumber);
        Assert.Equal("a=candidate:1 1 UDP x 127.0.0.1 37268 typ host", error.Line);
        Assert.Equal("bad priority 'x'", error.Reason);
        Assert.Equal("line 4 'a=candidate:1 1 UDP x 127.0.0.1 37268 typ host' : bad priority 'x'", error.ToString());
    }

    [Theory]
    [InlineData("a=candidate:1 1 UDP 2015363327 127.0.0.1 37268 host", 5, "missing 'typ'")]
    [InlineData("a=candidate:1 1 UDP 2015363327 127.0.0.1 99999 typ host", 5, "bad port '99999'")]
    [InlineData("a=candidate:1 1 UDP 2015363327 127.0.0.300 37268 typ host", 5, "bad IP address '127.0.0.300'")]
    [InlineData("a=candidate:1 1 UDP 2015363327 printer.example 37268 typ host", 5, "is not supported")]
    [InlineData("a=ice-ufrag:G6", 5, "bad ice-ufrag 'G6'")]
    [InlineData("a=ice-pwd:short", 5, "bad ice-pwd")]
    [InlineData("a=ice-ufrag:Other", 5, "a second, different ice-ufrag")]
    [InlineData("a=fingerprint:sha-256", 5, "bad fingerprint")]
    [InlineData("a=fingerprint:sha-256 XY:00", 5, "bad fingerprint")]
    [InlineData("a=setup:sideways", 5, "bad setup 'sideways'")]
    public void Bad_lines_in_a_block_are_located(string badLine, int expectedLine, string reason)
    {
        string text = "m=- 58723 ICE/SDP\nc=IN IP4 127.0.0.1\na=ice-ufrag:G6op\na=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\n" + badLine + "\n";
        var error = Error(text);
        Assert.Equal(expectedLine, error.LineNumber);
        Assert.Equal(badLine, error.Line);
        Assert.Contains(reason, error.Reason);
    }

    [Theory]
    [InlineData("a=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\na=candidate:1 1 UDP 1 127.0.0.1 1 typ host", "missing a=ice-ufrag:")]
    [InlineData("a=ice-ufrag:G6op\n", "missing a=ice-pwd:")]
    [InlineData("", "missing a=ice-ufrag and a=ice-pwd")]
    [InlineData("hello, this is not a description", "missing a=ice-ufrag and a=ice-pwd")]
    public void Missing_credentials_are_named(string text, string reason)
    {
        var error = Error(text);
        Assert.Equal(0, error.LineNumber);
        Assert.Equal("", error.Line);
        Assert.StartsWith(reason, error.Reason);
        Assert.StartsWith(reason, error.ToString());
    }

    [Fact]
    public void A_published_host_candidate_leaves_no_address_in_the_libnice_lines()
    {
        Assert.True(IceCandidate.TryParse("1 1 UDP 2130706431 192.0.2.1 5000 typ host", out var host, out _));
        var text = new IceDescription(new IceCredentials("G6op", "zQ15Lb+Fx4X6zn1lTGq24x"), [host with { HostName = "7a2f61b5-2e4a-4c1c-9b5d-0f1e2d3c4b5a.local" }])
            .Write(IceDescriptionFormat.Libnice);
        Assert.StartsWith("m=- 9 ICE/SDP\nc=IN IP4 0.0.0.0\n", text);
        Assert.DoesNotContain("192.0.2.1", text);
        Assert.Contains("a=candidate:1 1 UDP 2130706431 7a2f61b5-2e4a-4c1c-9b5d-0f1e2d3c4b5a.local 5000 typ host\n", text);
    }

    [Fact]
    public void A_browser_description_with_only_mdns_host_candidates_parses()
    {
        string text = "a=ice-ufrag:G6op\na=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\n" +
                      "a=candidate:1 1 udp 2113937151 7a2f61b5-2e4a-4c1c-9b5d-0f1e2d3c4b5a.local 54321 typ host generation 0\n" +
                      "a=candidate:2 1 udp 2113939711 0b9e3f3c-5a51-4d4e-8f0e-7a2c9d1e0f11.local 54322 typ host generation 0\n" +
                      "a=end-of-candidates\n";
        Assert.True(IceDescription.TryParse(text, out var d, out var error), error.ToString());
        Assert.Equal(["7a2f61b5-2e4a-4c1c-9b5d-0f1e2d3c4b5a.local", "0b9e3f3c-5a51-4d4e-8f0e-7a2c9d1e0f11.local"], d.Candidates.Select(c => c.HostName));
        Assert.True(d.EndOfCandidates);
    }

    [Fact]
    public void Host_name_candidates_can_be_skipped_on_request()
    {
        string text = "a=ice-ufrag:G6op\na=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\n" +
                      "a=candidate:1 1 udp 2113937151 printer.example 54321 typ host\n" +
                      "a=candidate:2 1 udp 1677729535 198.51.100.7 61000 typ srflx raddr 0.0.0.0 rport 0\n";
        Assert.False(IceDescription.TryParse(text, out _, out var strict));
        Assert.Equal(3, strict.LineNumber);
        Assert.True(IceDescription.TryParse(text, skipHostNameCandidates: true, out var d, out _, out var skipped));
        Assert.Equal("2", Assert.Single(d.Candidates).Foundation);
        Assert.Equal(3, Assert.Single(skipped).LineNumber);
        Assert.Contains("host name", skipped[0].Reason);
        // Other errors still fail.
        Assert.False(IceDescription.TryParse(text + "a=candidate:3 1 udp x 1.2.3.4 1 typ host\n", true, out _, out var e, out _));
        Assert.Equal(5, e.LineNumber);
    }

    [Fact]
    public void Repeated_identical_credentials_are_accepted_and_options_deduplicated()
    {
        var d = Parse("a=ice-ufrag:G6op\na=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\na=ice-ufrag:G6op\na=ice-options:trickle\na=ice-options:trickle ice2\n");
        Assert.Equal(["trickle", "ice2"], d.Options);
    }

    [Fact]
    public void A_session_tag_is_written_read_back_and_left_out_of_the_libnice_block()
    {
        var d = new IceDescription(new IceCredentials("G6op", "zQ15Lb+Fx4X6zn1lTGq24x"), []) { SessionTag = 0x0a0b0c0d };
        string text = d.Write();
        Assert.Contains("a=x-p2p-session:0a0b0c0d\n", text);
        Assert.Equal(d, Parse(text));
        Assert.DoesNotContain("x-p2p-session", d.Write(IceDescriptionFormat.Libnice));
        Assert.Null(Parse(LibniceBlock).SessionTag);
        Assert.NotEqual(d, d with { SessionTag = 1 });
    }

    [Theory]
    [InlineData("")]
    [InlineData("123456789")]
    [InlineData("xyz")]
    [InlineData("-1")]
    public void A_bad_session_tag_names_its_line(string value)
    {
        var error = Error($"a=ice-ufrag:G6op\na=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x\na=x-p2p-session:{value}\n");
        Assert.Equal(3, error.LineNumber);
        Assert.Contains("x-p2p-session", error.Reason);
    }
}

public class SessionMuxTests
{
    [Fact]
    public void A_frame_carries_the_tag_then_the_datagram_and_is_unassigned_in_rfc_7983()
    {
        byte[] dtls = [22, 254, 253, 0, 1];
        var framed = SessionMux.Frame(0xdeadbeef, dtls);
        Assert.Equal(SessionMux.HeaderLength + dtls.Length, framed.Length);
        Assert.True(SessionMux.TryReadTag(framed, out uint tag));
        Assert.Equal(0xdeadbeefu, tag);
        Assert.Equal(dtls, framed[SessionMux.HeaderLength..]);
        Assert.Equal(PacketKind.Unknown, PacketDemultiplexer.Classify(framed));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x0E, 1, 2, 3 })]          // shorter than the header
    [InlineData(new byte[] { 22, 254, 253, 0, 1, 2 })] // DTLS
    [InlineData(new byte[] { 0, 1, 0, 0, 0x21, 0x12 })] // STUN
    public void Anything_else_is_not_a_frame(byte[] datagram) => Assert.False(SessionMux.TryReadTag(datagram, out _));
}
