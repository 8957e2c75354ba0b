using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;
using P2P.Protocol;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Ice;

/// <summary>
/// Messages of <see cref="Connection"/> besides the datagram contract it speaks with the layer above
/// (<see cref="DatagramProtocol"/>: it takes Send and Attach, and hands up Received, to the attached layer or else to its parent).
/// </summary>
public static class ConnectionProtocol
{
    /// <summary>The agent selected a different pair (a better nomination or after an ICE restart).</summary>
    public sealed record SwitchPair(SelectedPair Pair);

    // to the parent (Session)
    public sealed record ConsentLost(string Reason);

    public sealed record GetInfo;

    /// <summary>An ICE restart began: consent is judged afresh from now (the new agent needs time to find a pair).</summary>
    public sealed record ResetConsent;

    /// <param name="NotDtlsDropped">Datagrams dropped because the attached layer does not take their kind (RFC 7983: on a secure session, anything but DTLS).</param>
    public sealed record Info(SelectedPair Pair, long BytesSent, long BytesReceived, long PacketsSent, long PacketsReceived, TimeSpan? RoundTrip, long NotDtlsDropped);
}

/// <summary>
/// The selected pair of a session in use: the lowest layer of the datagram contract (<see cref="DatagramProtocol"/>),
/// which sends and receives datagrams on it (directly from and to other threads through its <see cref="ConnectionPath"/>
/// where the pair allows), keeps consent fresh
/// (RFC 7675: a check every ~5 s, randomized, asked of the session's current ICE agent) and reports
/// <see cref="ConnectionProtocol.ConsentLost"/> when no check succeeded for the consent timeout (30 s).
/// Time comes from the actor scheduler, so tests run it in virtual time.
/// </summary>
public sealed class Connection : UntypedActor, IWithTimers
{
    private sealed record ConsentTick
    {
        public static readonly ConsentTick Instance = new();
    }

    private readonly IceSettings _settings;
    private readonly string _sessionId;
    private readonly IActorRef _transport;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Random _random = new();
    private SelectedPair _pair;
    private DateTimeOffset _lastConsent;
    private TimeSpan? _roundTrip;
    private bool _lost;
    private readonly ConnectionPath _path; // also holds the attached layer above
    private readonly uint? _muxTag;
    private long _refused;
    private long _bytesSent, _bytesReceived, _packetsSent, _packetsReceived;

    /// <param name="muxTag">The remote session's tag when it multiplexes sessions on its socket (<see cref="SessionMux"/>):
    /// every datagram is then framed with it.</param>
    /// <param name="path">The direct paths this connection publishes; none when null.</param>
    public Connection(IceSettings settings, string sessionId, SelectedPair pair, IActorRef transport, uint? muxTag = null, ConnectionPath? path = null)
    {
        _path = path ?? ConnectionPath.None();
        _muxTag = muxTag;
        _settings = settings;
        _sessionId = sessionId;
        _pair = pair;
        _transport = transport;
        _roundTrip = pair.RoundTrip;
    }

    // One OnReceive instead of a Receive<T> per message type: a host has one connection per session, thousands of
    // them, and ReceiveActor keeps a delegate and matcher objects per handler per instance (~1 KiB here).
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case DatagramProtocol.Send m:
                Transmit(m.Datagram);
                break;
            case DatagramProtocol.Attach m:
                _path.Attach(m.Upper);
                break;
            case Inbound m:
                _bytesReceived += m.Payload.Length;
                _packetsReceived++;
                if (!_path.UpperTakes(m.Payload.Span))
                {
                    _refused++; // RFC 7983: on a secure session only DTLS (and STUN, handled by the agent) may arrive
                    _log.Debug("[{0}] dropped {1} bytes from {2}: not a kind the layer above takes", _sessionId, m.Payload.Length, m.From);
                }
                else (_path.Upper ?? Context.Parent).Tell(new DatagramProtocol.Received(m.Payload));
                break;
            case ConnectionProtocol.SwitchPair m:
                _log.Info("[{0}] path switched to {1}", _sessionId, m.Pair);
                _pair = m.Pair;
                _roundTrip = m.Pair.RoundTrip;
                _lastConsent = Context.System.Scheduler.Now;
                if (_lost)
                {
                    _lost = false;
                    ScheduleConsent();
                }
                _path.Use(_pair, _muxTag);
                break;
            case PairCheckerProtocol.ConsentConfirmed m:
                _lastConsent = Context.System.Scheduler.Now;
                _roundTrip = m.RoundTrip;
                break;
            case ConsentTick:
                OnConsentTick();
                break;
            case ConnectionProtocol.ResetConsent:
                _lastConsent = Context.System.Scheduler.Now;
                break;
            case Supervision.InjectFault m:
                throw new Supervision.InjectedFaultException(m.Reason);
            case ConnectionProtocol.GetInfo:
                var direct = _path.Counts;
                Sender.Tell(new ConnectionProtocol.Info(_pair, _bytesSent + direct.BytesOut, _bytesReceived + direct.BytesIn, _packetsSent + direct.PacketsOut,
                    _packetsReceived + direct.PacketsIn, _roundTrip, _refused));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private void Transmit(ReadOnlyMemory<byte> data)
    {
        if (_lost) return;
        _transport.Tell(new Transmit(_pair.Local, _pair.Remote.Address, _muxTag is { } tag ? SessionMux.Frame(tag, data.Span) : data));
        _bytesSent += data.Length;
        _packetsSent++;
    }

    public static Props Props(IceSettings settings, string sessionId, SelectedPair pair, IActorRef transport, uint? muxTag = null, ConnectionPath? path = null) =>
        Akka.Actor.Props.Create(() => new Connection(settings, sessionId, pair, transport, muxTag, path));

    protected override void PreStart()
    {
        _lastConsent = Context.System.Scheduler.Now;
        ScheduleConsent();
        _path.Use(_pair, _muxTag);
    }

    protected override void PostStop() => _path.Use(null, null);

    private void OnConsentTick()
    {
        if (_lost) return;
        var silent = Context.System.Scheduler.Now - _lastConsent;
        if (silent >= _settings.ConsentTimeout)
        {
            _lost = true;
            _path.Use(null, null);
            Context.Parent.Tell(new ConnectionProtocol.ConsentLost(
                $"consent lost: no answer on {_pair} for {silent.TotalSeconds:0} s (RFC 7675)"));
            return;
        }
        Context.Parent.Tell(new PairCheckerProtocol.CheckConsent());
        ScheduleConsent();
    }

    /// <summary>
    /// RFC 7675 §5.1: the interval is randomized to 0.8-1.2 of its nominal value, on the grid all sessions share
    /// (<see cref="IceSettings.ConsentGrid"/>), so that the checks due at one point go out in one wake-up.
    /// </summary>
    private void ScheduleConsent()
    {
        var now = Context.System.Scheduler.Now;
        var due = CoalescedDeadline.Pick(now + _settings.ConsentInterval * 0.8, now + _settings.ConsentInterval * 1.2, _settings.ConsentGrid, _random.NextDouble());
        Timers.StartSingleTimer(ConsentTick.Instance, ConsentTick.Instance, due - now);
    }
}
