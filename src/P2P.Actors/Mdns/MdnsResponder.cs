using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Supervision;
using P2P.Protocol.Dns;

namespace P2P.Actors.Mdns;

/// <summary>
/// The one mDNS endpoint of an actor system (see <see cref="MdnsExtension"/>): it resolves ".local" names for the
/// sessions that ask, and answers queries for the names sessions publish, while those sessions live.
/// <para>
/// Resolving (RFC 6762 §5.1): one-shot queries for A and for AAAA from an ephemeral port to both groups, asked again after
/// <c>mdns-query-interval</c> and then at doubling intervals (§5.2), until an answer or <c>mdns-resolve-timeout</c>.
/// An answer is taken from either socket: unicast (a responder following §6.7) or multicast (one that answers every
/// query to the group). Several sessions asking for one name share its query; an answer is kept for its TTL. A name
/// this endpoint publishes itself (two sessions in one process) is answered at once, without the network.
/// </para>
/// <para>
/// Answering (§6): a question for a published name, A or AAAA or ANY, gets the records of that family at once (the
/// names are unique records: no delay, §6), to the groups, or by unicast for a QU question (§5.4), or as a legacy
/// unicast answer (id and question echoed, TTL at most 10 s, no cache-flush) to a query from a port other than 5353
/// (§6.7). Nothing else is answered: this is no general responder. The names are random UUIDs, so this endpoint
/// neither probes nor announces them (§8); the mDNS-ICE draft asks neither.
/// </para>
/// Malformed packets are counted and logged at most <c>mdns-bad-packet-log-per-minute</c> times a minute; nothing a
/// packet holds can make the actor throw.
/// </summary>
public sealed class MdnsResponder : ReceiveActor, IWithTimers
{
    private readonly MdnsSettings _settings;
    private readonly IMdnsSockets _sockets;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LogRateLimit _badPacketLog;
    private readonly Dictionary<string, Query> _queries = [];
    private readonly Dictionary<string, (IReadOnlyList<IPAddress> Addresses, DateTimeOffset Expires)> _answers = [];
    private readonly Dictionary<string, (DnsAddressRecord Record, IActorRef Owner)> _published = [];
    private readonly byte[] _buffer = new byte[9000];
    private IMdnsLink? _link;
    private bool _opened;
    private long _queriesSent, _resolved, _unresolved, _answersSent, _badPackets;

    private sealed class Query(string name)
    {
        public string Name { get; } = name;
        public List<IActorRef> Waiting { get; } = [];
        public TimeSpan NextInterval { get; set; }
    }

    private sealed record Ask(string Key);
    private sealed record GiveUp(string Key);

    public MdnsResponder(MdnsSettings settings, IMdnsSockets sockets)
    {
        _settings = settings;
        _sockets = sockets;
        _badPacketLog = new LogRateLimit(settings.BadPacketLogPerMinute, TimeSpan.FromMinutes(1));
        Receive<MdnsProtocol.Resolve>(OnResolve);
        Receive<Ask>(OnAsk);
        Receive<GiveUp>(OnGiveUp);
        Receive<MdnsProtocol.Publish>(OnPublish);
        Receive<MdnsProtocol.Unpublish>(m =>
        {
            foreach (var name in m.Names) _published.Remove(MdnsNames.Key(name));
        });
        Receive<Terminated>(m =>
        {
            foreach (var key in _published.Where(p => p.Value.Owner.Equals(m.ActorRef)).Select(p => p.Key).ToList()) _published.Remove(key);
        });
        Receive<MdnsProtocol.DatagramReceived>(OnDatagram);
        Receive<MdnsProtocol.GetStats>(_ => Sender.Tell(new MdnsProtocol.Stats(_queriesSent, _resolved, _unresolved, _answersSent, _badPackets, _published.Count)));
    }

    public static Props Props(MdnsSettings settings, IMdnsSockets sockets) => Akka.Actor.Props.Create(() => new MdnsResponder(settings, sockets));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PostStop() => _link?.Dispose();

    /// <summary>The sockets are opened on the first use, so that a process that never meets a ".local" name binds no 5353.</summary>
    private IMdnsLink? Link()
    {
        if (_opened) return _link;
        _opened = true;
        _link = _sockets.Open(Self, out var problems);
        foreach (var problem in problems) _log.Warning("mDNS: {0}", problem);
        return _link;
    }

    private void OnResolve(MdnsProtocol.Resolve m)
    {
        string key = MdnsNames.Key(m.Name);
        if (_published.TryGetValue(key, out var own))
        {
            Sender.Tell(new MdnsProtocol.Resolved(m.Name, [own.Record.Address]));
            return;
        }
        if (_answers.TryGetValue(key, out var known) && known.Expires > Context.System.Scheduler.Now)
        {
            Sender.Tell(new MdnsProtocol.Resolved(m.Name, known.Addresses));
            return;
        }
        if (_queries.TryGetValue(key, out var query))
        {
            query.Waiting.Add(Sender);
            return;
        }
        if (Link() is null)
        {
            _unresolved++;
            Sender.Tell(new MdnsProtocol.Unresolved(m.Name, "mDNS sockets could not be opened"));
            return;
        }
        query = new Query(m.Name) { NextInterval = _settings.QueryInterval };
        query.Waiting.Add(Sender);
        _queries[key] = query;
        Timers.StartSingleTimer("timeout-" + key, new GiveUp(key), _settings.ResolveTimeout);
        OnAsk(new Ask(key));
    }

    private void OnAsk(Ask m)
    {
        if (!_queries.TryGetValue(m.Key, out var query) || _link is null) return;
        // One question per packet, without the QU bit (RFC 6762 §5.4), and id 0 (§18.1): Chromium's responder answers
        // neither a query with two questions nor a question asking for a unicast answer; it answers the others to the
        // group (even a one-shot query's, against §6.7), which the 5353 socket hears.
        foreach (ushort type in (ReadOnlySpan<ushort>)[DnsType.A, DnsType.Aaaa])
        {
            int length = DnsWriter.WriteQuery(_buffer, 0, query.Name, [type], unicastResponse: false);
            if (length == 0) continue;
            _link.Query(_buffer.AsSpan(0, length));
            _queriesSent++;
        }
        Timers.StartSingleTimer("ask-" + m.Key, m, query.NextInterval);
        query.NextInterval *= 2;
    }

    private void OnGiveUp(GiveUp m)
    {
        if (!_queries.Remove(m.Key, out var query)) return;
        Timers.Cancel("ask-" + m.Key);
        _unresolved++;
        var answer = new MdnsProtocol.Unresolved(query.Name, $"no mDNS answer within {_settings.ResolveTimeout.TotalSeconds:0.#} s");
        _log.Info("mDNS: {0}: {1}", query.Name, answer.Reason);
        foreach (var waiting in query.Waiting) waiting.Tell(answer);
    }

    private void OnPublish(MdnsProtocol.Publish m)
    {
        if (Link() is null) _log.Warning("mDNS: publishing {0} names that nobody can resolve (no mDNS socket)", m.Records.Count);
        Context.Watch(Sender);
        foreach (var record in m.Records) _published[MdnsNames.Key(record.Name)] = (record, Sender);
    }

    private void OnDatagram(MdnsProtocol.DatagramReceived m)
    {
        if (!DnsMessage.TryParse(m.Datagram, out var message, out var error))
        {
            _badPackets++;
            if (_badPacketLog.TryLog(Context.System.Scheduler.Now, out long leftOut))
                _log.Warning("mDNS: dropped a malformed packet from {0}: {1}{2}", m.From, DnsMessage.Describe(error), LogRateLimit.LeftOutNote(leftOut));
            return;
        }
        if (message.IsResponse) OnAnswer(message);
        else OnQuestion(message, m.From);
    }

    private void OnAnswer(DnsMessage message)
    {
        if (_queries.Count == 0) return;
        foreach (var group in message.Records.Where(r => r.Address is not null).GroupBy(r => MdnsNames.Key(r.Name)))
        {
            if (!_queries.Remove(group.Key, out var query)) continue;
            Timers.Cancel("ask-" + group.Key);
            Timers.Cancel("timeout-" + group.Key);
            var addresses = group.Select(r => r.Address!).Distinct().ToList();
            uint ttl = group.Min(r => r.Ttl);
            if (ttl > 0)
            {
                var now = Context.System.Scheduler.Now;
                foreach (var old in _answers.Where(a => a.Value.Expires <= now).Select(a => a.Key).ToList()) _answers.Remove(old); // every browser name is new: keep only live ones
                _answers[group.Key] = (addresses, now + TimeSpan.FromSeconds(ttl));
            }
            _resolved++;
            _log.Debug("mDNS: {0} is {1}", query.Name, string.Join(", ", addresses));
            var answer = new MdnsProtocol.Resolved(query.Name, addresses);
            foreach (var waiting in query.Waiting) waiting.Tell(answer);
        }
    }

    private void OnQuestion(DnsMessage message, IPEndPoint from)
    {
        if (_published.Count == 0 || _link is null) return;
        bool legacy = from.Port != MdnsNames.Port;
        foreach (var question in message.Questions)
        {
            if (!_published.TryGetValue(MdnsNames.Key(question.Name), out var entry)) continue;
            var family = entry.Record.Address.AddressFamily;
            bool wanted = question.Type == DnsType.Any
                || (question.Type == DnsType.A && family == AddressFamily.InterNetwork)
                || (question.Type == DnsType.Aaaa && family == AddressFamily.InterNetworkV6);
            if (!wanted) continue;
            var ttl = legacy && _settings.AnswerTtl > MdnsSettings.LegacyUnicastMaxTtl ? MdnsSettings.LegacyUnicastMaxTtl : _settings.AnswerTtl;
            int length = DnsWriter.WriteAnswer(_buffer, message.Id, legacy ? question : null, [entry.Record], (uint)ttl.TotalSeconds);
            if (length == 0) continue;
            if (legacy || question.UnicastResponse) _link.AnswerTo(_buffer.AsSpan(0, length), from);
            else _link.AnswerToGroups(_buffer.AsSpan(0, length));
            _answersSent++;
        }
    }
}
