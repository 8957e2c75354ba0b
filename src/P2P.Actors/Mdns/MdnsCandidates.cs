using System.Net;
using Akka.Actor;
using Akka.Event;
using P2P.Protocol.Dns;
using P2P.Protocol.Ice;

namespace P2P.Actors.Mdns;

/// <summary>
/// One session's mDNS candidates (draft-ietf-mmusic-mdns-ice-candidates), a plain class its Session owns and asks:
/// <list type="bullet">
/// <item>a remote candidate with a ".local" name is held back from the agent and resolved by the <see cref="MdnsResponder"/>
/// (one query per name, however many candidates carry it); its answer gives the candidate with each address found, an
/// ordinary remote candidate from then on. Without an answer within the timeout it is dropped, logged once. While a name
/// is pending the remote's end-of-candidates is held too, so that the agent cannot declare failure before the answer;
/// it goes on with the last answer or timeout, so never later than the timeout.</item>
/// <item>with <see cref="MdnsMode.Publish"/>, each host address of the session is signalled under its own fresh name
/// (per session, not per peer: two remotes cannot link their sessions through a shared name, and the names live exactly
/// as long as the session, which the responder watches). Server-reflexive and relayed candidates keep their addresses,
/// as the draft says, but a server-reflexive one's related address (its base, a host address) is written as 0.0.0.0
/// port 0, as Chromium does, so that the names hide what they stand for (nothing in the engine reads it).</item>
/// </list>
/// With <see cref="MdnsMode.Off"/> a ".local" candidate is dropped at once, with a log line.
/// </summary>
public sealed class MdnsCandidates(MdnsSettings settings, string sessionId, Func<IActorRef> responder, IActorRef session, ILoggingAdapter log)
{
    private readonly Dictionary<string, List<IceCandidate>> _pending = [];
    private readonly Dictionary<IPAddress, string> _names = [];
    private readonly HashSet<string> _asked = [];
    private bool _endOfCandidatesHeld, _tooManyLogged;

    /// <summary>Remote ".local" candidates that became addresses so far.</summary>
    public int Resolved { get; private set; }

    /// <summary>Remote ".local" candidates dropped (no answer, or mDNS off).</summary>
    public int Dropped { get; private set; }

    /// <summary>True when <paramref name="candidate"/> is a ".local" one: this class has it now (it resolves or drops it), the agent must not.</summary>
    public bool Take(IceCandidate candidate)
    {
        if (candidate.HostName is not { } name) return false;
        if (settings.Mode == MdnsMode.Off)
        {
            Dropped++;
            log.Info("[{0}] dropped the remote candidate {1}: p2p.ice.mdns is off", sessionId, candidate);
            return true;
        }
        string key = MdnsNames.Key(name);
        if (!_pending.TryGetValue(key, out var waiting))
        {
            if (!_asked.Contains(key) && _asked.Count >= settings.MaxNamesPerSession)
            {
                Dropped++;
                if (!_tooManyLogged) log.Warning("[{0}] dropped the remote candidate {1}: the remote offered more than {2} mDNS names (p2p.ice.mdns-max-names-per-session); further ones are dropped without a line", sessionId, candidate, settings.MaxNamesPerSession);
                _tooManyLogged = true;
                return true;
            }
            _asked.Add(key);
            _pending[key] = waiting = [];
            responder().Tell(new MdnsProtocol.Resolve(name), session);
        }
        waiting.Add(candidate);
        return true;
    }

    /// <summary>The description without its ".local" candidates (taken as by <see cref="Take"/>), and its end-of-candidates held while any is pending.</summary>
    public IceDescription Strip(IceDescription description)
    {
        if (!description.Candidates.Any(c => c.HostName is not null)) return description;
        var kept = description.Candidates.Where(c => !Take(c)).ToList();
        bool hold = description.EndOfCandidates && _pending.Count > 0;
        if (hold) _endOfCandidatesHeld = true;
        return description with { Candidates = kept, EndOfCandidates = description.EndOfCandidates && !hold };
    }

    /// <summary>True when the remote's end-of-candidates must wait for pending names (it is given back by <see cref="OnResolved"/>/<see cref="OnUnresolved"/>).</summary>
    public bool HoldEndOfCandidates()
    {
        if (_pending.Count == 0) return false;
        _endOfCandidatesHeld = true;
        return true;
    }

    /// <summary>The candidates the answer completes, one per usable address, and whether the held end-of-candidates may go now.</summary>
    public (IReadOnlyList<IceCandidate> Candidates, bool EndOfCandidates) OnResolved(MdnsProtocol.Resolved m)
    {
        if (!_pending.Remove(MdnsNames.Key(m.Name), out var waiting)) return ([], false);
        // an IPv6 link-local address has no scope the remote could tell us: no route to it
        var addresses = m.Addresses.Where(a => !a.IsIPv6LinkLocal).Select(IceGrammar.Normalize).Distinct().ToList();
        var resolved = waiting.SelectMany(c => addresses.Select(a => c with { Address = new IPEndPoint(a, c.Address.Port), HostName = null })).ToList();
        if (resolved.Count == 0) Dropped += waiting.Count;
        else Resolved += waiting.Count;
        log.Info("[{0}] {1} is {2}{3}", sessionId, m.Name, string.Join(", ", m.Addresses),
            resolved.Count == 0 ? ": no usable address, its candidates are dropped" : string.Empty);
        return (resolved, ReleaseEndOfCandidates());
    }

    /// <summary>The name's candidates are dropped; whether the held end-of-candidates may go now.</summary>
    public bool OnUnresolved(MdnsProtocol.Unresolved m)
    {
        if (!_pending.Remove(MdnsNames.Key(m.Name), out var waiting)) return false;
        Dropped += waiting.Count;
        log.Warning("[{0}] dropped {1} remote candidate(s) named {2}: {3}", sessionId, waiting.Count, m.Name, m.Reason);
        return ReleaseEndOfCandidates();
    }

    /// <summary>
    /// The candidates as the remote sees them: with <see cref="MdnsMode.Publish"/>, each host candidate under the name of
    /// its address (made and published at its first use); the others, and every candidate in the other modes, as they are.
    /// </summary>
    public IReadOnlyList<IceCandidate> Publish(IReadOnlyList<IceCandidate> candidates)
    {
        if (settings.Mode != MdnsMode.Publish) return candidates;
        var fresh = new List<DnsAddressRecord>();
        var named = candidates.Select(c =>
        {
            if (c is { Type: CandidateType.ServerReflexive, Related: { } related })
                return c with { Related = new IPEndPoint(related.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0) };
            if (c.Type != CandidateType.Host || c.HostName is not null) return c;
            var address = IceGrammar.Normalize(c.Address.Address);
            if (!_names.TryGetValue(address, out var name))
            {
                _names[address] = name = MdnsNames.NewName();
                fresh.Add(new DnsAddressRecord(name, address));
            }
            return c with { HostName = name };
        }).ToList();
        if (fresh.Count > 0)
        {
            responder().Tell(new MdnsProtocol.Publish(fresh), session);
            foreach (var r in fresh) log.Info("[{0}] publishes {1} as {2}", sessionId, r.Address, r.Name);
        }
        return named;
    }

    private bool ReleaseEndOfCandidates()
    {
        if (!_endOfCandidatesHeld || _pending.Count > 0) return false;
        _endOfCandidatesHeld = false;
        return true;
    }
}
