using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Configuration;
using P2P.Host.Chat;
using P2P.Host.Direct;
using P2P.Protocol.Dtls;
using Xunit;

namespace P2P.Actors.Tests.Host;

/// <summary>The pieces of <c>p2p --no-ice</c> on their own: line cutting, received text, fingerprints, cancellation.</summary>
public sealed class DirectChatUnitTests
{
    [Fact]
    public void No_ice_settings_agree_with_akka_hocon_and_refuse_a_timeout_that_is_not_positive()
    {
        var hocon = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "akka.hocon")));
        Assert.Equal(DirectSettings.Default, DirectSettings.From(hocon));
        var overlay = ConfigurationFactory.ParseString("p2p.no-ice.tls-handshake-timeout = 3s").WithFallback(hocon);
        Assert.Equal(DirectSettings.Default with { TlsHandshakeTimeout = TimeSpan.FromSeconds(3) }, DirectSettings.From(overlay));
        var zero = ConfigurationFactory.ParseString("p2p.no-ice.connect-timeout = 0s").WithFallback(hocon);
        Assert.Contains("p2p.no-ice.connect-timeout", Assert.Throws<ConfigurationException>(() => DirectSettings.From(zero)).Message);
    }

    [Fact]
    public void Typed_text_goes_out_line_by_line_with_its_newline_and_the_rest_at_end_of_input()
    {
        var splitter = new LineSplitter();
        Assert.Empty(splitter.Append("hel"));
        Assert.Equal(["hello\n", "crlf kept\r\n"], splitter.Append("lo\ncrlf kept\r\nlast"));
        Assert.Empty(splitter.Append(" words"));
        Assert.Equal("last words", splitter.TakeRest());
        Assert.Null(splitter.TakeRest());
        Assert.Equal(["\n"], splitter.Append("\n"));
    }

    [Fact]
    public void Each_received_line_is_shown_once_and_a_chunk_without_newline_too()
    {
        var text = new ReceivedText();
        Assert.Equal(["Received: one", "Received: two", "Received: par"], text.Lines("one\ntwo\r\npar"u8));
        Assert.Equal(["Received: tial"], text.Lines("tial\n"u8));
        Assert.Equal(["Received: "], text.Lines("\n"u8));
    }

    [Fact]
    public void A_character_split_across_two_chunks_is_shown_whole()
    {
        var text = new ReceivedText();
        var bytes = Encoding.UTF8.GetBytes("é\n");
        Assert.Empty(text.Lines(bytes.AsSpan(0, 1)));
        Assert.Equal(["Received: é"], text.Lines(bytes.AsSpan(1)));
    }

    [Fact]
    public void A_certificate_fingerprint_is_sha256_in_colon_hex_and_reads_back_in_any_case_with_or_without_colons()
    {
        using var certificate = MutualTls.CreateCertificate();
        Assert.True(certificate.HasPrivateKey);
        var fingerprint = CertificateFingerprint.ComputeSha256(certificate.RawData);
        var shown = fingerprint.Hex;
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", shown);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.RawData)), shown.Replace(":", ""));

        foreach (var typed in new[] { shown, shown.ToLowerInvariant(), shown.Replace(":", ""), $"sha-256 {shown}", $"  SHA-256 {shown.ToLowerInvariant()} " })
        {
            Assert.True(CertificateFingerprint.TryParseTyped(typed, out var parsed), typed);
            Assert.True(fingerprint.Matches(parsed), typed);
        }
        Assert.True(CertificateFingerprint.TryParseTyped(new string('0', 64), out var other));
        Assert.False(fingerprint.Matches(other));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AB:CD")]
    [InlineData("sha-1 AB:CD:EF")]
    [InlineData("ZZ112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF")]
    [InlineData("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00")]
    public void A_malformed_fingerprint_is_not_read(string? typed) => Assert.False(CertificateFingerprint.TryParseTyped(typed, out _));

    [Fact]
    public void Only_a_tls_handshake_record_looks_like_tls()
    {
        Assert.True(SniffingStream.LooksLikeTls([0x16, 0x03, 0x01, 0x00]));
        Assert.False(SniffingStream.LooksLikeTls("hello\n"u8));
        Assert.False(SniffingStream.LooksLikeTls([0x16]));
    }

    [Fact]
    public async Task A_waiting_server_stops_on_cancellation_with_exit_code_130()
    {
        int port = FreePort();
        var status = new StringWriter();
        using var cancel = new CancellationTokenSource();
        var run = DirectChat.RunAsync(new ChatOptions { Server = true, NoIce = true, Port = port }, new StringReader(""), new StringWriter(), status, cancel.Token);
        await WaitUntil(() => status.ToString().Contains($"Listening on 0.0.0.0:{port}"));
        await cancel.CancelAsync();
        Assert.Equal(130, await run.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Input_that_ends_sends_what_was_typed_then_closes_and_exits_0()
    {
        int port = FreePort();
        var output = new StringWriter();
        var server = DirectChat.RunAsync(new ChatOptions { Server = true, NoIce = true, Port = port }, new BlockingReader(), output, new StringWriter(), CancellationToken.None);
        var client = DirectChat.RunAsync(new ChatOptions { NoIce = true, Port = port }, new StringReader("one\ntwo without newline"), new StringWriter(), new StringWriter(), CancellationToken.None);
        // The server may start listening after the client tried: retry the client until it connects.
        while (await client.WaitAsync(TimeSpan.FromSeconds(30)) != 0)
            client = DirectChat.RunAsync(new ChatOptions { NoIce = true, Port = port }, new StringReader("one\ntwo without newline"), new StringWriter(), new StringWriter(), CancellationToken.None);
        Assert.Equal(0, await server.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(["Connected", "Received: one", "Received: two without newline", "Connection closed by peer"],
            output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(20);
        }
    }

    /// <summary>A user who never types (nor ends input).</summary>
    private sealed class BlockingReader : TextReader
    {
        public override int Read(char[] buffer, int index, int count)
        {
            Thread.Sleep(Timeout.Infinite);
            return 0;
        }
    }
}
