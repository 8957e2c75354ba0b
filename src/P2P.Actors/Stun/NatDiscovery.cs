using System.Net;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;
using P2P.Protocol.Nat;
using P2P.Protocol.Stun;

namespace P2P.Actors.Stun;

public static class NatDiscoveryProtocol
{
    /// <summary>Discovery ended: what it found (<paramref name="Report"/>, unknown parts left unknown), what it saw, and a sentence for each thing it could not tell.</summary>
    public sealed record NatDiscovered(IPEndPoint Server, NatReport Report, NatObservations Seen, IReadOnlyList<string> Notes);

    /// <summary>Discovery could not start: the server did not answer test I, refused it, or no socket could be opened.</summary>
    public sealed record NatDiscoveryFailed(IPEndPoint Server, string Reason);
}

/// <summary>The addresses behind a <see cref="NatReport"/>: the first socket's local and mapped address, the server's OTHER-ADDRESS, and the fresh sockets' ports.</summary>
public sealed record NatObservations(IPEndPoint Local, IPEndPoint Mapped, IPEndPoint? OtherAddress, IReadOnlyList<PortPair> Allocations);

/// <summary>
/// RFC 5780 NAT behaviour discovery against one server, through an <see cref="IUdpSocketFactory"/> (so it runs on real
/// sockets and on the virtual network alike). One test after the other:
/// <list type="number">
/// <item>§4.3 mapping: socket A asks the primary address (test I: mapped address M1, OTHER-ADDRESS); M1 equal to A's own
/// address is no NAT. Then the alternate address on the primary port (test II, M2; M2 = M1 is endpoint-independent),
/// then the alternate address and port (test III; M3 = M2 is address-dependent, else address-and-port-dependent).</item>
/// <item>§4.4 filtering, on a fresh socket B that has talked only to the primary address: an answer from the other
/// address and port (CHANGE-REQUEST IP and port) is endpoint-independent filtering; else an answer from the other port
/// is address-dependent; else address-and-port-dependent.</item>
/// <item>§4.5 hairpinning: A sends a request to M1; getting it back means the NAT hairpins.</item>
/// <item>RFC 4787 §4.2 port allocation: fresh sockets, one after the other, and their mappings
/// (<see cref="PortAllocationPattern"/>).</item>
/// <item>§4.6 mapping lifetime (when <see cref="NatDiscoverySettings.LifetimeProbe"/>): socket X is left idle; at growing
/// idle times socket Y asks the server to answer to X's mapping (RESPONSE-PORT, §7.5).</item>
/// </list>
/// Without OTHER-ADDRESS (a server without an alternate address) mapping and filtering stay unknown and the rest is
/// measured. Retransmissions come from <see cref="StunTransactions{TContext}"/> on the actor's timers, so TestKit's virtual
/// time runs it. It tells its owner <see cref="NatDiscoveryProtocol.NatDiscovered"/> or
/// <see cref="NatDiscoveryProtocol.NatDiscoveryFailed"/>, then stops with its sockets.
/// </summary>
public sealed class NatDiscovery : ReceiveActor, IWithTimers
{
    private sealed record Answer(IActorRef Via, IPEndPoint From, IPEndPoint? Mapped, IPEndPoint? Other, int ErrorCode, string ErrorText);

    private sealed record Pending(IActorRef Socket, IPEndPoint To, Action<Answer?> Then);

    private sealed record LifetimeCheck;

    private readonly NatDiscoverySettings _settings;
    private readonly IUdpSocketFactory _sockets;
    private readonly IPEndPoint _server;
    private readonly IPEndPoint _bind;
    private readonly IReadOnlyCollection<IPAddress> _localAddresses;
    private readonly IActorRef _owner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, Action<IActorRef, IPEndPoint>> _opening = [];
    private readonly List<string> _notes = [];
    private readonly List<PortPair> _allocations = [];
    private StunTransactions<Pending> _answered = null!, _silence = null!;
    private int _socketCount;
    private bool _finished;

    private IActorRef _a = ActorRefs.Nobody;
    private IPEndPoint _localA = null!, _m1 = null!;
    private IPEndPoint? _other;
    private MappingBehavior _mapping = MappingBehavior.Unknown;
    private FilteringBehavior _filtering = FilteringBehavior.Unknown;
    private bool? _hairpinning;
    private int _branches; // tests running side by side (filtering and hairpin) that have not ended yet
    private TimeSpan? _lifetime;

    // the lifetime probe
    private IActorRef _x = ActorRefs.Nobody, _y = ActorRefs.Nobody;
    private IPEndPoint _mx = null!;
    private TimeSpan _idle;

    public NatDiscovery(NatDiscoverySettings settings, IUdpSocketFactory sockets, IPEndPoint server, IPEndPoint bind,
        IReadOnlyCollection<IPAddress>? localAddresses, IActorRef? owner)
    {
        _settings = settings;
        _sockets = sockets;
        _server = server;
        _bind = bind;
        _localAddresses = localAddresses ?? [];
        _owner = owner ?? Context.Parent;

        Receive<UdpSocketProtocol.Bound>(b =>
        {
            if (_opening.Remove(Sender, out var then)) then(Sender, b.LocalEndPoint);
        });
        Receive<UdpSocketProtocol.BindFailed>(f => Fail($"cannot open a UDP socket on {f.Requested}: {f.Reason}"));
        Receive<UdpSocketProtocol.Received>(OnReceived);
        Receive<StunTransactionTimer>(OnTimer);
        Receive<LifetimeCheck>(_ => CheckLifetime());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="settings">Timeouts, retries and limits (<c>p2p.stun.nat-discovery</c>).</param>
    /// <param name="sockets">Where the test sockets come from.</param>
    /// <param name="server">The server's primary address (RFC 5780 §4.3 test I).</param>
    /// <param name="bind">Where the test sockets are bound (port 0 is used for each; the address says which interface).</param>
    /// <param name="localAddresses">This host's addresses, to tell "no NAT" when <paramref name="bind"/> is a wildcard.</param>
    /// <param name="owner">Who hears the outcome (the parent when null).</param>
    public static Props Props(NatDiscoverySettings settings, IUdpSocketFactory sockets, IPEndPoint server, IPEndPoint bind,
        IReadOnlyCollection<IPAddress>? localAddresses = null, IActorRef? owner = null) =>
        Akka.Actor.Props.Create(() => new NatDiscovery(settings, sockets, server, bind, localAddresses, owner));

    protected override void PreStart()
    {
        _answered = new StunTransactions<Pending>(_settings.Answered, reliable: false, Timers, Transmit);
        _silence = new StunTransactions<Pending>(_settings.Silence, reliable: false, Timers, Transmit);
        Open((socket, local) =>
        {
            _a = socket;
            _localA = local;
            Request(_a, _server, silence: false, then: TestI);
        });
    }

    private void Transmit(ReadOnlyMemory<byte> bytes, Pending pending) => pending.Socket.Tell(new UdpSocketProtocol.Send(pending.To, bytes), Self);

    // ------------------------------------------------------------------ §4.3 mapping

    private void TestI(Answer? answer)
    {
        if (answer is null)
        {
            var total = _settings.Answered.TotalTimeout(reliable: false);
            Fail($"STUN server {_server} did not answer ({_settings.Answered.Rc} requests over {total.TotalSeconds:0.##} s); check the address and that UDP is not blocked");
            return;
        }
        if (answer.ErrorCode != 0 || answer.Mapped is null)
        {
            Fail(answer.ErrorCode != 0
                ? $"STUN server {_server} refused the Binding request ({answer.ErrorCode} {answer.ErrorText})"
                : $"STUN server {_server} answered without a mapped address");
            return;
        }
        _m1 = answer.Mapped;
        _other = answer.Other;
        bool noNat = IsLocal(_m1, _localA);
        if (noNat) _mapping = MappingBehavior.NoNat;
        if (_other is null)
        {
            _notes.Add($"the server {_server} has no alternate address (no OTHER-ADDRESS in its answer), so mapping and filtering cannot be told apart; " +
                "run it with a second address (p2p relay --alt-ip, or coturn with two listening IPs)");
            _branches = 1;
            Hairpin();
            return;
        }
        if (noNat)
        {
            FilteringAndHairpin();
            return;
        }
        Request(_a, new IPEndPoint(_other.Address, _server.Port), silence: false, then: TestII);
    }

    private void TestII(Answer? answer)
    {
        if (answer?.Mapped is not { } m2)
        {
            _notes.Add($"the alternate address {_other!.Address}:{_server.Port} did not answer mapping test II, so the mapping behaviour is unknown");
            FilteringAndHairpin();
            return;
        }
        if (m2.Equals(_m1))
        {
            _mapping = MappingBehavior.EndpointIndependent;
            FilteringAndHairpin();
            return;
        }
        Request(_a, _other!, silence: false, then: m3 =>
        {
            if (m3?.Mapped is null) _notes.Add($"the alternate address {_other} did not answer mapping test III, so the mapping behaviour is unknown");
            else _mapping = m3.Mapped.Equals(m2) ? MappingBehavior.AddressDependent : MappingBehavior.AddressAndPortDependent;
            FilteringAndHairpin();
        });
    }

    // ------------------------------------------------------------------ §4.4 filtering

    /// <summary>
    /// The filtering tests and the hairpin test wait for silence (1.75 s each with the defaults behind a filtering NAT),
    /// on sockets of their own, so they run side by side; port allocation comes after both, since the flows they open
    /// would take ports from a NAT that hands them out in sequence.
    /// </summary>
    private void FilteringAndHairpin()
    {
        _branches = 2;
        Filtering();
        Hairpin();
    }

    /// <summary>One of the side-by-side tests ended; port allocation starts after the last.</summary>
    private void Joined()
    {
        if (--_branches == 0) Allocation();
    }

    private void Filtering() => Open((b, _) => Request(b, _server, silence: false, then: first =>
    {
        if (first?.Mapped is null)
        {
            _notes.Add("the server did not answer a second socket, so the filtering behaviour is unknown");
            Joined();
            return;
        }
        // test II (answer from the other address and port) and test III (from the other port) at once: each is a
        // silence to wait out behind a filtering NAT
        Answer? fromOther = null, fromOtherPort = null;
        int left = 2;
        Request(b, _server, silence: true, change: (true, true), then: answer => { fromOther = answer; Decide(); });
        Request(b, _server, silence: true, change: (false, true), then: answer => { fromOtherPort = answer; Decide(); });
        void Decide()
        {
            if (--left > 0) return;
            if ((fromOther ?? fromOtherPort) is { ErrorCode: not 0 } refused)
                _notes.Add($"the server refused CHANGE-REQUEST ({refused.ErrorCode} {refused.ErrorText}), so the filtering behaviour is unknown");
            else if (fromOther is not null) _filtering = FilteringBehavior.EndpointIndependent;
            else _filtering = fromOtherPort is not null ? FilteringBehavior.AddressDependent : FilteringBehavior.AddressAndPortDependent;
            Joined();
        }
    }));

    // ------------------------------------------------------------------ §4.5 hairpinning

    private void Hairpin()
    {
        if (_mapping == MappingBehavior.NoNat)
        {
            Joined();
            return;
        }
        Request(_a, _m1, silence: true, then: own =>
        {
            _hairpinning = own is not null;
            Joined();
        });
    }

    // ------------------------------------------------------------------ RFC 4787 §4.2 port allocation

    private void Allocation()
    {
        if (_allocations.Count >= _settings.AllocationSockets)
        {
            Lifetime();
            return;
        }
        Open((socket, local) => Request(socket, _server, silence: false, then: answer =>
        {
            Context.Stop(socket);
            if (answer?.Mapped is not { } mapped)
            {
                _notes.Add("the server did not answer a fresh socket, so how the NAT picks ports is unknown");
                _allocations.Clear();
                Lifetime();
                return;
            }
            _allocations.Add(new PortPair(local.Port, mapped.Port));
            Allocation();
        }));
    }

    // ------------------------------------------------------------------ §4.6 mapping lifetime

    private void Lifetime()
    {
        if (!_settings.LifetimeProbe || _other is null)
        {
            Finish();
            return;
        }
        Open((x, _) => Request(x, _server, silence: false, then: answer =>
        {
            if (answer?.Mapped is null)
            {
                _notes.Add("the server did not answer the lifetime probe's socket, so the mapping lifetime is unknown");
                Finish();
                return;
            }
            _x = x;
            _mx = answer.Mapped;
            Open((y, _) =>
            {
                _y = y;
                _idle = _settings.LifetimeFirstCheck;
                Timers.StartSingleTimer("lifetime", new LifetimeCheck(), _idle);
            });
        }));
    }

    private void CheckLifetime() => Request(_y, _server, silence: true, responsePort: _mx.Port, then: answer =>
    {
        if (answer is not null && !Equals(answer.Via, _x))
        {
            _notes.Add("the server answered the lifetime probe to the asking socket (it ignores RESPONSE-PORT), so the mapping lifetime is unknown");
            Finish();
            return;
        }
        if (answer is null)
        {
            if (_lifetime is null) _notes.Add($"an idle mapping was gone after {_idle.TotalSeconds:0.#} s, the shortest idle time checked");
            Finish();
            return;
        }
        _lifetime = _idle;
        if (_idle * 2 > _settings.LifetimeMax)
        {
            Finish();
            return;
        }
        var wait = _idle;
        _idle *= 2;
        Timers.StartSingleTimer("lifetime", new LifetimeCheck(), wait);
    });

    // ------------------------------------------------------------------ plumbing

    private void Open(Action<IActorRef, IPEndPoint> then)
    {
        var socket = Context.ActorOf(_sockets.Create(new IPEndPoint(_bind.Address, 0), Self), $"socket-{++_socketCount}");
        _opening[socket] = then;
    }

    private void Request(IActorRef socket, IPEndPoint to, bool silence, Action<Answer?> then, (bool Ip, bool Port)? change = null, int? responsePort = null)
    {
        var w = new StunMessageWriter(new byte[128], StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        if (change is { } c) w.AddChangeRequest(c.Ip, c.Port);
        if (responsePort is { } port) w.AddUInt32(StunAttributeType.ResponsePort, (uint)port << 16); // RFC 5780 §7.5: port, then 2 bytes of padding
        if (_settings.Software.Length > 0) w.AddString(StunAttributeType.Software, _settings.Software);
        w.AddFingerprint();
        (silence ? _silence : _answered).Start(w.ToArray(), new Pending(socket, to, then));
    }

    private void OnReceived(UdpSocketProtocol.Received received)
    {
        if (!StunMessage.TryParse(received.Payload.Span, out var msg, out _) || msg.Method != StunMethod.Binding) return;
        var id = msg.TransactionId;
        var transactions = _answered.IsPending(id) ? _answered : _silence.IsPending(id) ? _silence : null;
        if (transactions is null || !transactions.TryComplete(id, out var pending))
        {
            _log.Debug("NAT discovery ignored a packet from {0}: not an answer it waits for", received.From);
            return;
        }
        int code = 0;
        string text = string.Empty;
        if (msg.Class == StunClass.ErrorResponse)
        {
            code = msg.TryGetErrorCode(out int c, out string reason) ? c : 400;
            text = reason.TrimEnd('\0');
        }
        IPEndPoint? mapped = msg.Class == StunClass.SuccessResponse
            && (msg.TryGetAddress(StunAttributeType.XorMappedAddress, out var m) || msg.TryGetAddress(StunAttributeType.MappedAddress, out m))
            ? m.ToEndPoint() : null;
        IPEndPoint? other = msg.TryGetAddress(StunAttributeType.OtherAddress, out var o) ? o.ToEndPoint() : null;
        pending.Then(new Answer(Sender, received.From, mapped, other, code, text));
    }

    private void OnTimer(StunTransactionTimer timer)
    {
        var transactions = _answered.IsPending(timer.Id) ? _answered : _silence.IsPending(timer.Id) ? _silence : null;
        if (transactions?.OnTimer(timer, out var pending, out _) == StunTransactionTimerResult.TimedOut) pending.Then(null);
    }

    private bool IsLocal(IPEndPoint mapped, IPEndPoint local) =>
        mapped.Equals(local)
        || (mapped.Port == local.Port && (local.Address.Equals(IPAddress.Any) || local.Address.Equals(IPAddress.IPv6Any)) && _localAddresses.Contains(mapped.Address));

    private void Finish()
    {
        if (_finished) return;
        var allocation = PortAllocationPattern.Classify(_allocations, _settings.MaxSequentialStep, out int? step);
        var report = new NatReport(_mapping, _filtering, allocation)
        {
            PortStep = step,
            Hairpinning = _hairpinning,
            MappingLifetime = _lifetime,
            PublicAddress = _m1.Address,
            PortPrediction = _settings.PortPrediction,
        };
        _log.Info("NAT discovery with {0}: mapping {1}, filtering {2}, ports {3}{4}", _server, report.Mapping, report.Filtering, report.Allocation,
            _notes.Count > 0 ? "; " + string.Join("; ", _notes) : string.Empty);
        End(new NatDiscoveryProtocol.NatDiscovered(_server, report, new NatObservations(_localA, _m1, _other, _allocations.ToList()), _notes.ToList()));
    }

    private void Fail(string reason)
    {
        if (_finished) return;
        _log.Info("NAT discovery with {0} failed: {1}", _server, reason);
        End(new NatDiscoveryProtocol.NatDiscoveryFailed(_server, reason));
    }

    private void End(object outcome)
    {
        _finished = true;
        _owner.Tell(outcome, Self);
        _answered.CancelAll();
        _silence.CancelAll();
        Timers.CancelAll();
        Context.Stop(Self);
    }
}
