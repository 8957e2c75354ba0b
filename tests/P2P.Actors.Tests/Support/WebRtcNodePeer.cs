using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// A third-party WebRTC data-channel peer (<c>tests/interop/webrtc/peer.mjs</c>: libwebrtc through
/// <c>@roamhq/wrtc</c>, or <c>werift</c>) driven through its line-oriented JSON protocol
/// (see <c>tests/interop/webrtc/README.md</c>). It always runs through <c>run-isolated.sh</c>, in a
/// loopback-only network namespace, because both stacks try to reach the Internet.
/// <para>
/// Two separate namespaces cannot reach each other, so:
/// <list type="bullet">
/// <item><see cref="StartPairAsync"/> starts ONE isolated <c>pair.mjs</c> that runs two peers side by side
/// and multiplexes their stdio (a <c>"peer":"a"|"b"</c> field); the two returned objects are views on it.</item>
/// <item><see cref="StartAsync"/> starts one peer in a namespace of its own. It can only talk to something in
/// that same namespace: e.g. our own stack, when the whole test run is itself started through
/// <c>run-isolated.sh</c> (then the script sees it is already isolated and does not nest a new namespace).</item>
/// </list>
/// </para>
/// <see cref="ReadAsync(string, TimeSpan?)"/> returns the first not yet consumed event of a type (events of other
/// types stay queued for later reads); an <c>error</c> event or the end of the process fails the wait.
/// <c>setup.sh</c> (npm ci) runs once per test run before the first start. Disposing kills the process
/// (for a pair: once both views are disposed).
/// </summary>
public sealed class WebRtcNodePeer : IAsyncDisposable
{
    private static readonly Lazy<Task> SetUp = new(SetUpAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly JsonSerializerOptions CommandJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly NodeProcess _owner;
    private readonly string? _tag; // "a" / "b" inside a pair, null for a lone peer
    private readonly List<JsonElement> _backlog = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;
    private bool _disposed;

    private WebRtcNodePeer(NodeProcess owner, string? tag, IReadOnlyList<string> arguments)
    {
        _owner = owner;
        _tag = tag;
        Arguments = arguments;
    }

    /// <summary>The peer.mjs arguments it was started with.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>"a" or "b" for one side of a pair; null for a lone peer.</summary>
    public string? Tag => _tag;

    /// <summary>Everything the process printed so far (both peers of a pair), plus its command line.</summary>
    public string Transcript => _owner.Transcript;

    public static string HarnessDirectory => Path.Combine(NicePeer.RepositoryRoot, "tests", "interop", "webrtc");

    /// <summary>Runs setup.sh (npm ci when needed) once per test run.</summary>
    public static Task EnsureSetUpAsync() => SetUp.Value;

    private static async Task SetUpAsync()
    {
        var script = Path.Combine(HarnessDirectory, "setup.sh");
        var result = await Processes.Run(Processes.Program("bash", script), TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        if (result.TimedOut || result.ExitCode != 0)
            throw new InvalidOperationException($"tests/interop/webrtc/setup.sh failed (Node.js >= 20 and npm with a reachable registry are needed):\n{result}");
    }

    /// <summary>Starts one peer (<c>run-isolated.sh node peer.mjs arguments</c>) in a network namespace of its own.</summary>
    public static async Task<WebRtcNodePeer> StartAsync(params string[] arguments)
    {
        await EnsureSetUpAsync().ConfigureAwait(false);
        var owner = NodeProcess.Start(["peer.mjs", .. arguments]);
        var peer = new WebRtcNodePeer(owner, null, arguments);
        owner.Attach(null, peer);
        return peer;
    }

    /// <summary>
    /// Starts two peers in ONE loopback-only namespace (<c>run-isolated.sh node pair.mjs --a .. --b ..</c>), so they
    /// can connect to each other. Arguments are peer.mjs arguments (no spaces inside one argument).
    /// </summary>
    public static async Task<(WebRtcNodePeer A, WebRtcNodePeer B)> StartPairAsync(string[] a, string[] b)
    {
        if (a.Concat(b).Any(x => x.Length == 0 || x.Any(char.IsWhiteSpace)))
            throw new ArgumentException("pair.mjs splits its --a/--b on whitespace: no empty arguments or arguments with spaces");
        await EnsureSetUpAsync().ConfigureAwait(false);
        var owner = NodeProcess.Start(["pair.mjs", "--a", string.Join(' ', a), "--b", string.Join(' ', b)]);
        var pa = new WebRtcNodePeer(owner, "a", a);
        var pb = new WebRtcNodePeer(owner, "b", b);
        owner.Attach("a", pa);
        owner.Attach("b", pb);
        return (pa, pb);
    }

    /// <summary>The first not yet consumed event whose "type" is <paramref name="type"/>.</summary>
    public Task<JsonElement> ReadAsync(string type, TimeSpan? timeout = null) =>
        ReadAsync(type, e => e.TryGetProperty("type", out var t) && t.ValueEquals(type), timeout);

    /// <summary>The first not yet consumed event matching <paramref name="predicate"/> (<paramref name="what"/> names it in errors).</summary>
    public async Task<JsonElement> ReadAsync(string what, Func<JsonElement, bool> predicate, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Task changed;
            lock (_backlog)
            {
                int i = _backlog.FindIndex(e => predicate(e));
                if (i >= 0)
                {
                    var found = _backlog[i];
                    _backlog.RemoveAt(i);
                    return found;
                }
                var error = _backlog.FindIndex(e => e.TryGetProperty("type", out var t) && (t.ValueEquals("error") || t.ValueEquals("exit")));
                if (error >= 0)
                    throw new InvalidOperationException($"{Name} reported {_backlog[error].GetRawText()} while waiting for {what}:\n{Transcript}");
                if (_ended)
                    throw new InvalidOperationException($"{Name} ended (process exited: {_owner.HasExited}) while waiting for {what}:\n{Transcript}");
                changed = _changed.Task;
            }
            var left = limit - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"{Name}: no {what} within {limit}:\n{Transcript}");
            try { await changed.WaitAsync(left).ConfigureAwait(false); }
            catch (TimeoutException) { /* checked at the top of the loop */ }
        }
    }

    /// <summary>
    /// Writes one command line: <paramref name="command"/> serialised to a JSON object (anonymous objects,
    /// records with camel-cased names, a <see cref="JsonElement"/> such as the other side's description event).
    /// </summary>
    public async Task WriteAsync(object command)
    {
        var node = command is JsonElement element ? JsonNode.Parse(element.GetRawText()) : JsonSerializer.SerializeToNode(command, CommandJson);
        if (node is not JsonObject obj)
            throw new ArgumentException("a command must serialise to a JSON object", nameof(command));
        obj.Remove("peer");
        if (_tag is not null) obj["peer"] = _tag;
        await _owner.WriteLineAsync(obj.ToJsonString()).ConfigureAwait(false);
    }

    /// <summary>Reads this peer's description event and writes it to <paramref name="remote"/>.</summary>
    public async Task<JsonElement> RelayDescriptionToAsync(WebRtcNodePeer remote, TimeSpan? timeout = null)
    {
        var description = await ReadAsync("description", timeout).ConfigureAwait(false);
        await remote.WriteAsync(description).ConfigureAwait(false);
        return description;
    }

    private string Name => _tag is null ? "peer.mjs" : $"peer {_tag} ({string.Join(' ', Arguments)})";

    internal void Deliver(JsonElement e)
    {
        TaskCompletionSource signal;
        lock (_backlog)
        {
            _backlog.Add(e);
            signal = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        signal.TrySetResult();
    }

    internal void End()
    {
        TaskCompletionSource signal;
        lock (_backlog)
        {
            _ended = true;
            signal = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        signal.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _owner.ReleaseAsync().ConfigureAwait(false);
    }

    /// <summary>The one node process behind one peer or a pair.</summary>
    private sealed class NodeProcess
    {
        private readonly Process _process;
        private readonly Dictionary<string, WebRtcNodePeer> _peers = [];
        private readonly StringBuilder _transcript = new();
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly string _commandLine;
        private int _references;

        private NodeProcess(Process process, string commandLine)
        {
            _process = process;
            _commandLine = commandLine;
            _ = PumpStdout(process.StandardOutput);
            _ = PumpStderr(process.StandardError);
        }

        public bool HasExited { get { try { return _process.HasExited; } catch (InvalidOperationException) { return true; } } }

        public string Transcript { get { lock (_transcript) return $"$ {_commandLine}\n{_transcript}"; } }

        public static NodeProcess Start(IReadOnlyList<string> nodeArguments)
        {
            var script = Path.Combine(HarnessDirectory, "run-isolated.sh");
            var info = new ProcessStartInfo("bash")
            {
                WorkingDirectory = HarnessDirectory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            info.ArgumentList.Add(script);
            info.ArgumentList.Add("node");
            foreach (var a in nodeArguments) info.ArgumentList.Add(a);
            var commandLine = $"run-isolated.sh node {string.Join(' ', nodeArguments.Select(a => a.Contains(' ') ? $"\"{a}\"" : a))}";
            var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {commandLine}");
            process.StandardInput.AutoFlush = false;
            return new NodeProcess(process, commandLine);
        }

        public void Attach(string? tag, WebRtcNodePeer peer)
        {
            lock (_peers) _peers[tag ?? ""] = peer;
            Interlocked.Increment(ref _references);
        }

        public async Task WriteLineAsync(string line)
        {
            lock (_transcript) _transcript.Append("in | ").AppendLine(Shorten(line));
            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await _process.StandardInput.WriteAsync(line + "\n").ConfigureAwait(false);
                await _process.StandardInput.FlushAsync().ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new InvalidOperationException($"cannot write to the node process (exited: {HasExited}): {e.Message}\n{Transcript}", e);
            }
            finally { _writeLock.Release(); }
        }

        private static string Shorten(string line) => line.Length <= 400 ? line : line[..400] + $"... ({line.Length} chars)";

        private async Task PumpStdout(StreamReader reader)
        {
            try
            {
                while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
                {
                    JsonElement e;
                    try { e = JsonDocument.Parse(line).RootElement.Clone(); }
                    catch (JsonException)
                    {
                        lock (_transcript) _transcript.Append("out?| ").AppendLine(Shorten(line));
                        continue;
                    }
                    bool chatty = e.TryGetProperty("type", out var t) && (t.ValueEquals("message") || t.ValueEquals("binary"));
                    if (!chatty) lock (_transcript) _transcript.Append("out| ").AppendLine(Shorten(line));
                    string key = e.TryGetProperty("peer", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
                    WebRtcNodePeer? target;
                    lock (_peers) _peers.TryGetValue(key, out target);
                    if (target is not null) target.Deliver(e);
                    else if (key.Length == 0) // pair.mjs's own errors concern both sides
                        lock (_peers) foreach (var peer in _peers.Values) peer.Deliver(e);
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
            finally
            {
                lock (_peers) foreach (var peer in _peers.Values) peer.End();
            }
        }

        private async Task PumpStderr(StreamReader reader)
        {
            try
            {
                while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
                    lock (_transcript) _transcript.Append("err| ").AppendLine(Shorten(line));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        }

        public async Task ReleaseAsync()
        {
            if (Interlocked.Decrement(ref _references) > 0) return;
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { }
                }
            }
            catch (InvalidOperationException) { /* already reaped */ }
            finally
            {
                _process.Dispose();
            }
        }
    }
}
