using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using Spectre.Console;
using static P2P.Actors.Ice.StunProberProtocol;
using static P2P.Actors.Ice.TurnAllocatorProtocol;

namespace P2P.Host.Demo;

/// <summary>The demo could not go on; <see cref="Exception.Message"/> is the sentence for the user.</summary>
public sealed class DemoFailedException(string message) : Exception(message);

/// <summary>
/// The embedded default, everything on 127.0.0.1 in one process: a relay, a STUN query against it, a
/// TURN allocation, and messages to a peer through the relay (Send/Data indications, then ChannelData).
/// Each step is printed with its time. The console is the edge of the actor system, so it awaits
/// events here (through <see cref="EventSink"/>) and uses Ask only to reach the relay.
/// </summary>
public sealed class RelayDemo(ActorSystem system, Config config, int messages, IAnsiConsole console)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(45);
    private readonly Channel<object> _events = Channel.CreateUnbounded<object>();
    private readonly Table _steps = new Table().AddColumn("step").AddColumn("result").AddColumn(new TableColumn("ms").RightAligned());

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        var total = Stopwatch.StartNew();
        try
        {
            await RunStepsAsync(cancel);
            console.Write(_steps);
            console.MarkupLine($"[green]demo passed[/] in {total.ElapsedMilliseconds} ms: STUN, TURN allocation and {messages} relayed messages, all on 127.0.0.1");
            return 0;
        }
        catch (DemoFailedException e)
        {
            console.Write(_steps);
            console.MarkupLineInterpolated($"[red]demo failed:[/] {e.Message}");
            return 1;
        }
    }

    private async Task RunStepsAsync(CancellationToken cancel)
    {
        var sink = system.ActorOf(EventSink.Props(_events.Writer), "demo-events");
        var step = Stopwatch.StartNew();

        // 1. the relay, on a free port, with a one-time user
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var relaySettings = RelaySettings.From(config) with
        {
            Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
            Users = new Dictionary<string, string> { ["demo"] = password },
            AllowLoopback = true,
        };
        var relay = system.ActorOf(RelayServer.Props(relaySettings), "relay");
        var status = await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), StepTimeout, cancel);
        if (status is RelayServerProtocol.ListenFailed failed) throw new DemoFailedException($"the relay could not start: {failed.Reason}");
        var server = ((RelayServerProtocol.Listening)status).Udp[0];
        Done("relay started", $"p2p relay on udp {server} (realm {relaySettings.Realm})", step);

        // 2. a peer to reach through the relay, and the client
        system.ActorOf(EchoPeer.Props(sink), "peer");
        var peer = (await NextAsync<DemoProtocol.PeerReady>(cancel)).Local;
        var client = system.ActorOf(DemoClient.Props(server, StunSettings.From(config), TurnClientSettings.From(config),
            new TurnCredentials("demo", password), sink), "client");
        var local = (await NextAsync<DemoProtocol.ClientReady>(cancel)).Local;
        Done("sockets bound", $"client {local}, peer {peer}", step);

        // 3. STUN Binding: the client's address as the server sees it
        var mapped = await NextAsync<MappedAddressDiscovered>(cancel);
        if (!mapped.Mapped.Equals(local)) throw new DemoFailedException($"STUN reported {mapped.Mapped}, but the client socket is {local}");
        Done("STUN Binding", $"mapped address {mapped.Mapped}", step);

        // 4. TURN Allocate (401 challenge, then the long-term credential)
        client.Tell(new DemoProtocol.StartAllocation());
        var allocation = await NextAsync<AllocationSucceeded>(cancel);
        Done("TURN Allocate", $"relayed address {allocation.Relayed}, lifetime {allocation.Lifetime.TotalSeconds:0} s", step);

        client.Tell(new CreatePermission(peer.Address));
        await NextAsync<PermissionCreated>(cancel);
        Done("CreatePermission", $"peer {peer.Address} may send to the relayed address", step);

        // 5. one message in a Send indication, echoed back in a Data indication
        client.Tell(new SendToPeer(peer, Encoding.UTF8.GetBytes("hello through a Send indication")));
        var viaIndication = await NextAsync<PeerData>(cancel);
        string text = Encoding.UTF8.GetString(viaIndication.Data.Span);
        if (viaIndication.ViaChannel || text != "echo: hello through a Send indication")
            throw new DemoFailedException($"expected the echo in a Data indication, got '{text}' (via channel: {viaIndication.ViaChannel})");
        Done("Send/Data indication", $"'{text}'", step);

        // 6. a channel, then many messages in ChannelData, every one echoed once
        client.Tell(new BindChannel(peer));
        var bound = await NextAsync<ChannelBound>(cancel);
        Done("ChannelBind", $"channel 0x{bound.Channel:X4} to {peer}", step);

        var pending = new HashSet<string>();
        for (int i = 0; i < messages; i++)
        {
            string line = $"message {i}";
            pending.Add("echo: " + line);
            client.Tell(new SendToPeer(peer, Encoding.UTF8.GetBytes(line)));
        }
        int viaChannel = 0;
        while (pending.Count > 0)
        {
            var data = await NextAsync<PeerData>(cancel);
            string echoed = Encoding.UTF8.GetString(data.Data.Span);
            if (!pending.Remove(echoed)) throw new DemoFailedException($"unexpected or duplicated echo '{echoed}'");
            if (data.ViaChannel) viaChannel++;
        }
        Done("ChannelData", $"{messages}/{messages} echoed, {viaChannel} of them in ChannelData", step);

        // 7. release the allocation
        client.Tell(new Deallocate());
        await NextAsync<Deallocated>(cancel);
        // the allocation actor stops right after answering; give the server a moment to see it go
        RelayServerProtocol.Stats stats;
        var deadline = Stopwatch.StartNew();
        do
        {
            stats = await relay.Ask<RelayServerProtocol.Stats>(new RelayServerProtocol.GetStats(), StepTimeout, cancel);
            if (stats.Allocations == 0) break;
            await Task.Delay(10, cancel);
        } while (deadline.Elapsed < TimeSpan.FromSeconds(5));
        if (stats.Allocations != 0) throw new DemoFailedException($"the relay still holds {stats.Allocations} allocation(s) after the Refresh with lifetime 0");
        Done("Refresh lifetime 0", $"released: relay holds no allocation; it saw {stats.Received} packets, {stats.Malformed} malformed", step);
    }

    private void Done(string name, string result, Stopwatch step)
    {
        _steps.AddRow(Markup.Escape(name), Markup.Escape(result), step.Elapsed.TotalMilliseconds.ToString("0.0"));
        step.Restart();
    }

    /// <summary>Waits for the next event of type <typeparamref name="T"/>; a failure event or a timeout ends the demo with its reason.</summary>
    private async Task<T> NextAsync<T>(CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(StepTimeout);
        try
        {
            while (true)
            {
                var message = await _events.Reader.ReadAsync(timeout.Token);
                switch (message)
                {
                    case T wanted: return wanted;
                    case StunProbeFailed f: throw new DemoFailedException(f.Reason);
                    case AllocationFailed f: throw new DemoFailedException(f.Reason);
                    case AllocationLost f: throw new DemoFailedException(f.Reason);
                    case PermissionFailed f: throw new DemoFailedException(f.Reason);
                    case ChannelBindFailed f: throw new DemoFailedException(f.Reason);
                    case DemoProtocol.SocketFailed f: throw new DemoFailedException(f.Reason);
                }
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new DemoFailedException($"no {typeof(T).Name} within {StepTimeout.TotalSeconds:0} s");
        }
    }
}
