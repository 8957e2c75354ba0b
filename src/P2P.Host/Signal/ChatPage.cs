using System.Reflection;

namespace P2P.Host.Signal;

/// <summary>
/// The browser chat page that <c>p2p signal</c> serves beside its WebSocket (<c>GET /</c>, <c>/?room=lunch</c>): plain
/// HTML, CSS and JavaScript embedded in the program (Signal/Page, no build step, nothing fetched from elsewhere). The
/// page is a peer like <c>p2p --signal</c>: it joins a room with the same JSON, trickles candidates, and speaks the
/// chat wire format (docs/CHAT-WIRE.md) on the same data channels.
/// </summary>
public static class ChatPage
{
    /// <summary>One file of the page: its bytes and the Content-Type it is served with.</summary>
    public sealed record PageFile(byte[] Content, string ContentType);

    private const string ResourcePrefix = "p2p.page.";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    /// <summary>
    /// What the page may load: its own files and a WebSocket to this server, nothing else (no inline script, no other
    /// origin); downloads of received files come from blob: URLs the page makes itself.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The page's files by request path ("/" is index.html).</summary>
    public static IReadOnlyDictionary<string, PageFile> Files { get; } = Load();

    private static Dictionary<string, PageFile> Load()
    {
        var assembly = typeof(ChatPage).Assembly;
        var files = new Dictionary<string, PageFile>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            string name = resource[ResourcePrefix.Length..];
            if (!ContentTypes.TryGetValue(Path.GetExtension(name), out var type)) continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = new PageFile(copy.ToArray(), type);
            files["/" + name] = file;
            if (name == "index.html") files["/"] = file;
        }
        return files;
    }
}
