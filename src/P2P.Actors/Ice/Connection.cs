using Akka.Actor;
using Akka.Event;
using P2P.Actors.Dtls;
using P2P.Protocol;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Ice;

public static class ConnectionProtocol
{
    /// <summary>Send application data on the selected pair (payload owned by the message).</summary>
    public sealed record Send(ReadOnlyMemory<byte> Data);

    /// <summary>The agent selected a different pair (a better nomination or after an ICE restart).</summary>
    public sealed record SwitchPair(SelectedPair Pair);

    // to the parent (Session)
    public sealed record DataReceived(ReadOnlyMemory<byte> Data);

    public sealed record ConsentLost(string Reason);

    public sealed record GetInfo;

    /// <summary>An ICE restart began: consent is judged afresh from now (the new agent needs time to find a pair).</summary>
    public sealed record ResetConsent;

    /// <summary>The session is secure: DTLS records go to and come from this <see cref="DtlsTransport"/>, and nothing else is accepted as data.</summary>
    public sealed record AttachDtls(IActorRef Dtls);

    /// <param name="NotDtlsDropped">Datagrams dropped on a secure session because they were not DTLS (RFC 7983).</param>
    public sealed record Info(SelectedPair Pair, long BytesSent, long BytesReceived, long PacketsSent, long PacketsReceived, TimeSpan? RoundTrip, long NotDtlsDropped);
}

/// <summary>
/// The selected pair of a session in use: sends and receives application data on it, keeps consent fresh
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
    private IActorRef? _dtls;
    private readonly uint? _muxTag;
    private long _refused;
    private long _bytesSent, _bytesReceived, _packetsSent, _packetsReceived;

    /// <param name="muxTag">The remote session's tag when it multiplexes sessions on its socket (<see cref="SessionMux"/>):
    /// every datagram is then framed with it.</param>
    public Connection(IceSettings settings, string sessionId, SelectedPair pair, IActorRef transport, uint? muxTag = null)
    {
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
            case ConnectionProtocol.Send m:
                Transmit(m.Data);
                break;
            case DtlsProtocol.Outgoing m:
                Transmit(m.Datagram);
                break;
            case ConnectionProtocol.AttachDtls m:
                _dtls = m.Dtls;
                break;
            case Inbound m:
                _bytesReceived += m.Payload.Length;
                _packetsReceived++;
                if (_dtls is null) Context.Parent.Tell(new ConnectionProtocol.DataReceived(m.Payload));
                else if (PacketDemultiplexer.Classify(m.Payload.Span) == PacketKind.Dtls) _dtls.Tell(new DtlsProtocol.Incoming(m.Payload));
                else
                {
                    _refused++; // RFC 7983: on a secure session only DTLS (and STUN, handled by the agent) may arrive
                    _log.Debug("[{0}] dropped {1} bytes from {2} that are not DTLS", _sessionId, m.Payload.Length, m.From);
                }
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
                Sender.Tell(new ConnectionProtocol.Info(_pair, _bytesSent, _bytesReceived, _packetsSent, _packetsReceived, _roundTrip, _refused));
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

    public static Props Props(IceSettings settings, string sessionId, SelectedPair pair, IActorRef transport, uint? muxTag = null) =>
        Akka.Actor.Props.Create(() => new Connection(settings, sessionId, pair, transport, muxTag));

    protected override void PreStart()
    {
        _lastConsent = Context.System.Scheduler.Now;
        ScheduleConsent();
    }

    private void OnConsentTick()
    {
        if (_lost) return;
        var silent = Context.System.Scheduler.Now - _lastConsent;
        if (silent >= _settings.ConsentTimeout)
        {
            _lost = true;
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
