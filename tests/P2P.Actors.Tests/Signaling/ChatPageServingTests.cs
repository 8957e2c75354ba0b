using System.Net;
using System.Text;
using Akka.TestKit.Xunit2;
using P2P.Host.Signal;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>
/// The browser chat page served by the signaling server on its WebSocket port (in-process, 127.0.0.1, a free port):
/// the right files with the right content types, nothing that lets the page load from elsewhere, and the WebSocket
/// at "/" unchanged beside it.
/// </summary>
public sealed class ChatPageServingTests(ITestOutputHelper output) : TestKit(string.Empty, output), IAsyncLifetime
{
    private SignalServer _server = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync() => _server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0));

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private Uri At(string pathAndQuery) => new(_server.PageUrl, pathAndQuery);

    [Theory]
    [InlineData("/", "text/html")]
    [InlineData("/?room=lunch", "text/html")]
    [InlineData("/page.js", "text/javascript")]
    [InlineData("/page.css", "text/css")]
    public async Task The_page_and_its_files_are_served_with_their_content_type_and_a_policy_that_keeps_them_to_this_server(string path, string mediaType)
    {
        using var response = await _http.GetAsync(At(path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Equal("nosniff", string.Join(',', response.Headers.GetValues("X-Content-Type-Options")));
        var policy = string.Join(';', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", policy);
        Assert.Contains("connect-src 'self'", policy);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(response.Content.Headers.ContentLength, body.Length);
        Assert.True(body.Length > 100);
    }

    [Fact]
    public async Task The_page_loads_nothing_from_another_origin()
    {
        foreach (var path in new[] { "/", "/page.js", "/page.css" })
        {
            var text = await _http.GetStringAsync(At(path));
            // no absolute URL to fetch: scripts, styles and the WebSocket all come from the page's own origin
            Assert.DoesNotContain("src=\"http", text);
            Assert.DoesNotContain("href=\"http", text);
            Assert.DoesNotContain("@import", text);
            Assert.DoesNotContain("stun:", text);
        }
        var html = await _http.GetStringAsync(At("/"));
        Assert.Contains("<script src=\"/page.js\"", html);
        Assert.Contains("<link rel=\"stylesheet\" href=\"/page.css\">", html);
    }

    [Fact]
    public async Task Another_path_is_404_and_another_method_405()
    {
        using var missing = await _http.GetAsync(At("/secret.txt"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("the chat is at /", await missing.Content.ReadAsStringAsync());

        using var posted = await _http.PostAsync(At("/"), new StringContent("x", Encoding.UTF8));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, posted.StatusCode);
        Assert.Contains("GET", string.Join(',', posted.Content.Headers.Allow));

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, At("/")));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("text/html", head.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_WebSocket_at_slash_still_joins_rooms_beside_the_page()
    {
        Assert.Equal("http", _server.PageUrl.Scheme);
        Assert.Equal(_server.Url.Port, _server.PageUrl.Port);
        await using var socket = (await SignalTestSocket.JoinAsync(_server.Url, "lunch", "alice")).Socket;
        using var page = await _http.GetAsync(At("/?room=lunch"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }
}
