using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Sessions;

public static class SessionProtocol
{
    // commands from the owner (console, signaling, tests)
    public sealed record SetRemoteDescription(IceDescription Description);

    public sealed record AddRemoteCandidate(IceCandidate Candidate);

    public sealed record RemoteEndOfCandidates;

    public sealed record Send(ReadOnlyMemory<byte> Data);

    public sealed record Close;

    /// <summary>Answered with <see cref="PairCheckerProtocol.PairTable"/>.</summary>
    public sealed record GetPairs;

    /// <summary>Answered with <see cref="ConnectionProtocol.Info"/>, or <see cref="NotConnected"/>.</summary>
    public sealed record GetConnectionInfo;

    public sealed record NotConnected(string SessionId);

    // events to the owner, each naming the session
    public sealed record Started(string SessionId, IActorRef Session, IceCredentials Credentials);

    /// <summary>A local candidate to trickle to the remote (RFC 8838).</summary>
    public sealed record LocalCandidate(string SessionId, IceCandidate Candidate);

    /// <summary>Gathering is over: the whole local description, for a manual copy-paste exchange.</summary>
    public sealed record LocalDescription(string SessionId, IceDescription Description);

    public sealed record Connected(string SessionId, SelectedPair Pair);

    public sealed record Failed(string SessionId, string Reason);

    public sealed record Disconnected(string SessionId, string Reason);

    public sealed record DataReceived(string SessionId, ReadOnlyMemory<byte> Data);

    public sealed record Closed(string SessionId);

    // from the Peer
    internal sealed record LocalCandidatesGathered(IReadOnlyList<IceCandidate> Candidates);

    internal sealed record LocalGatheringComplete;
}

/// <summary>
/// One conversation with one remote peer (DESIGN.md): its <see cref="IceAgent"/> ("ice") finds a pair, then
/// its <see cref="Connection"/> ("connection") carries data on it. Events go to the owner given at creation,
/// with the session id, so one session's story reads in order. Packets come and go through the Peer.
/// </summary>
public sealed class Session : ReceiveActor
{
    private readonly IceSettings _settings;
    private readonly string _sessionId;
    private readonly IActorRef _owner;
    private readonly IActorRef _peer;
    private readonly IActorRef _ice;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IceCredentials _credentials;
    private readonly List<IceCandidate> _localCandidates = [];
    private IActorRef? _connection;
    private SelectedPair? _pair;

    public Session(IceSettings settings, string sessionId, IceCredentials credentials, bool controlling, uint sessionTag, IActorRef peer, IActorRef owner)
    {
        _settings = settings;
        _sessionId = sessionId;
        _owner = owner;
        _peer = peer;
        _credentials = credentials;
        ulong tieBreaker = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _ice = Context.ActorOf(IceAgent.Props(settings, sessionId, credentials, controlling, tieBreaker, sessionTag, peer), "ice");

        Receive<SessionProtocol.LocalCandidatesGathered>(m =>
        {
            _localCandidates.AddRange(m.Candidates);
            _ice.Tell(new IceAgentProtocol.AddLocalCandidates(m.Candidates));
            foreach (var c in m.Candidates) _owner.Tell(new SessionProtocol.LocalCandidate(_sessionId, c));
        });
        Receive<SessionProtocol.LocalGatheringComplete>(_ =>
        {
            _ice.Tell(new IceAgentProtocol.LocalGatheringComplete());
            var description = new IceDescription(_credentials, _localCandidates.ToList()) { EndOfCandidates = true, Options = ["trickle"] };
            _owner.Tell(new SessionProtocol.LocalDescription(_sessionId, description));
        });
        Receive<SessionProtocol.SetRemoteDescription>(m => _ice.Tell(new IceAgentProtocol.SetRemoteDescription(m.Description)));
        Receive<SessionProtocol.AddRemoteCandidate>(m => _ice.Tell(new IceAgentProtocol.AddRemoteCandidate(m.Candidate)));
        Receive<SessionProtocol.RemoteEndOfCandidates>(_ => _ice.Tell(new IceAgentProtocol.RemoteGatheringComplete()));

        Receive<IceAgentProtocol.Connected>(OnConnected);
        Receive<IceAgentProtocol.Failed>(m =>
        {
            _log.Warning("[{0}] session failed: {1}", _sessionId, m.Reason);
            _owner.Tell(new SessionProtocol.Failed(_sessionId, m.Reason));
        });
        Receive<PairCheckerProtocol.ConsentConfirmed>(m => _connection?.Forward(m));
        Receive<ConnectionProtocol.ConsentLost>(m =>
        {
            _log.Warning("[{0}] {1}", _sessionId, m.Reason);
            _owner.Tell(new SessionProtocol.Disconnected(_sessionId, m.Reason));
        });
        Receive<ConnectionProtocol.DataReceived>(m => _owner.Tell(new SessionProtocol.DataReceived(_sessionId, m.Data)));

        // packets from the Peer: STUN to the agent, the rest to the connection
        Receive<Inbound>(m =>
        {
            if (m.Payload.Length > 0 && m.Payload.Span[0] < 4) _ice.Forward(m);
            else if (_connection is not null) _connection.Forward(m);
        });
        Receive<SessionProtocol.Send>(m =>
        {
            if (_connection is null) _log.Warning("[{0}] dropped {1} bytes to send: not connected", _sessionId, m.Data.Length);
            else _connection.Tell(new ConnectionProtocol.Send(m.Data));
        });
        Receive<SessionProtocol.GetPairs>(_ => _ice.Forward(new PairCheckerProtocol.GetPairs()));
        Receive<SessionProtocol.GetConnectionInfo>(_ =>
        {
            if (_connection is null) Sender.Tell(new SessionProtocol.NotConnected(_sessionId));
            else _connection.Forward(new ConnectionProtocol.GetInfo());
        });
        Receive<SessionProtocol.Close>(_ =>
        {
            _owner.Tell(new SessionProtocol.Closed(_sessionId));
            Context.Stop(Self);
        });
    }

    public static Props Props(IceSettings settings, string sessionId, IceCredentials credentials, bool controlling, uint sessionTag, IActorRef peer, IActorRef owner) =>
        Akka.Actor.Props.Create(() => new Session(settings, sessionId, credentials, controlling, sessionTag, peer, owner));

    protected override void PreStart() => _owner.Tell(new SessionProtocol.Started(_sessionId, Self, _credentials));

    private void OnConnected(IceAgentProtocol.Connected m)
    {
        if (_pair is not null && _connection is not null)
        {
            _pair = m.Pair;
            _connection.Tell(new ConnectionProtocol.SwitchPair(m.Pair));
        }
        else
        {
            _pair = m.Pair;
            _connection = Context.ActorOf(Connection.Props(_settings, _sessionId, m.Pair, _peer, _ice), "connection");
        }
        _peer.Tell(new PeerProtocol.DataPathSelected(m.Pair.Remote.Address));
        _log.Info("[{0}] connected over {1}", _sessionId, m.Pair);
        _owner.Tell(new SessionProtocol.Connected(_sessionId, m.Pair));
    }
}
