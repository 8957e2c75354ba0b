using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Turn;

namespace P2P.Actors.Chat;

public static class ChatWarmUpProtocol
{
    /// <summary>Runs the warm-up; answered with <see cref="Done"/>, and with <see cref="Over"/> too when <paramref name="TellWhenOver"/>.</summary>
    public sealed record Run(bool TellWhenOver = false)
    {
        public static readonly Run Instance = new();
    }

    /// <summary>The warm-up stopped: <paramref name="Lines"/> lines went across and were acknowledged, or why it stopped early.</summary>
    public sealed record Over(int Lines, string? Problem = null);

    /// <summary>
    /// The session stack is warm: told once the first line went across (<paramref name="Lines"/> is 1; the rest follow
    /// in the background, paced), or when the warm-up ended without one, saying why. It says nothing of ICE's
    /// Connected: a secure session opens DTLS, SCTP and the chat on the first valid pair, so its first line can cross
    /// before the controlling agent's nomination selects that pair.
    /// </summary>
    public sealed record Done(int Lines, string? Problem = null);
}

/// <summary>
/// One throw-away secure chat between two peers of this process on 127.0.0.1, run to its end before (or while) the
/// real one connects: ICE, DTLS, SCTP, the chat channel and <c>lines</c> chat lines, each sent once the previous one
/// was acknowledged and the line interval passed (<see cref="ChatSettings.WarmUpLines"/>,
/// <see cref="ChatSettings.WarmUpLineInterval"/>). Nothing of it crosses the network or reaches the user. A process pays
/// for its first sessions and lines in the JIT as well as in packets: its first session compiles ~300 methods on its way (generic collections
/// over our value types, async state machines, log formatting), ~30 ms of CPU a side; and the runtime compiles a
/// method's optimised code only after ~30 calls, so a chat's first few dozen lines go through slower code (1.3-1.5 ms
/// one way on loopback where later lines take 0.8). Paid here, on both the sending and the receiving code of every
/// layer, neither the connect nor the user's first lines pay them. The lines are paced because the runtime starts
/// counting calls only once it has had no new method to compile for a while (~100 ms): lines sent all at once, while
/// the session is still new, would go uncounted. Its peers live in a host of their own, so no event of theirs reaches
/// the app; the actor answers <see cref="ChatWarmUpProtocol.Run"/> with <see cref="ChatWarmUpProtocol.Done"/> after the
/// first line, and stops after the last, its peers with it.
/// </summary>
public sealed class ChatWarmUp : ReceiveActor, IWithTimers
{
    private sealed record NextLine
    {
        public static readonly NextLine Instance = new();
    }

    private readonly IActorRef _host;
    private readonly ChatSettings _chat;
    private readonly int _lines;
    private IActorRef _replyTo = ActorRefs.Nobody;
    private IActorRef _tellWhenOver = ActorRefs.Nobody;
    private IActorRef _sender = ActorRefs.Nobody;
    private int _peersAdded, _sent, _delivered;
    private bool _connected, _done;
    private readonly long _started = Stopwatch.GetTimestamp();

    public ITimerScheduler Timers { get; set; } = null!;

    public ChatWarmUp(IceSettings ice, StunSettings stun, TurnClientSettings turn, ChatSettings chat)
    {
        // each line is acknowledged at once: the next one goes after the ack, and a delayed ack would stretch the warm-up
        _chat = chat with { LineAckDelay = TimeSpan.Zero };
        _lines = Math.Max(1, chat.WarmUpLines); // --signal runs it even with warm-up-lines = 0: its session is the point there
        // a lite agent sends no checks: two of them would never connect (and the real session's code is the full agent's)
        _host = Context.ActorOf(PeerHost.Props(ice with { Lite = false }, stun, turn), "peers");
        Receive<ChatWarmUpProtocol.Run>(m =>
        {
            if (_peersAdded > 0 || _done) return;
            _replyTo = Sender;
            if (m.TellWhenOver) _tellWhenOver = Sender;
            foreach (var name in new[] { "warm-up-a", "warm-up-b" })
                _host.Tell(new PeerHostProtocol.AddPeer(new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], [])));
        });
        Receive<PeerHostProtocol.PeerAdded>(_ =>
        {
            if (++_peersAdded < 2) return;
            // as in the real chat: session -> chat -> signaling -> here
            var signaling = Context.ActorOf(LocalSignaling.Props("a", "b", Self), "signaling");
            _sender = Context.ActorOf(ChatSession.Props(_chat, signaling), "chat-a");
            var receiver = Context.ActorOf(ChatSession.Props(_chat, signaling), "chat-b");
            _host.Tell(new PeerHostProtocol.OpenSession("warm-up-a", "a", Controlling: true, _sender, CandidatePolicy.All, Secure: true));
            _host.Tell(new PeerHostProtocol.OpenSession("warm-up-b", "b", Controlling: false, receiver, CandidatePolicy.All, Secure: true));
        });
        Receive<SessionProtocol.Connected>(_ => _connected = true);
        Receive<ChatProtocol.ChatOpened>(_ =>
        {
            if (Sender.Equals(_sender) && _sent == 0) SayNext();
        });
        Receive<ChatProtocol.MessageDelivered>(_ =>
        {
            if (!Sender.Equals(_sender)) return;
            if (++_delivered == 1) Report(null); // the session stack is warm: whoever waits for it can go on
            if (_delivered >= _lines) Finish(null);
            else if (_delivered == _sent) Timers.StartSingleTimer(NextLine.Instance, NextLine.Instance, _chat.WarmUpLineInterval);
        });
        Receive<NextLine>(_ => SayNext());
        Receive<PeerHostProtocol.PeerNotAdded>(m => Finish(m.Reason));
        Receive<PeerHostProtocol.SessionNotOpened>(m => Finish(m.Reason));
        Receive<SessionProtocol.Failed>(m => Finish(m.Reason));
        Receive<ChatProtocol.ChatStopped>(m => Finish(m.Reason));
        ReceiveAny(_ => { }); // candidates, descriptions, the lines as they arrive, channel notices of the throw-away chat
    }

    public static Props Props(IceSettings ice, StunSettings stun, TurnClientSettings turn, ChatSettings chat) =>
        Akka.Actor.Props.Create(() => new ChatWarmUp(ice, stun, turn, chat));

    private void SayNext() => _sender.Tell(new ChatProtocol.Say($"warm-up line {++_sent}"));

    /// <summary>Tells whoever asked, once: after the first line, or why there was none.</summary>
    private void Report(string? problem)
    {
        if (_replyTo.IsNobody()) return;
        _replyTo.Tell(new ChatWarmUpProtocol.Done(_delivered, problem));
        _replyTo = ActorRefs.Nobody;
    }

    private void Finish(string? problem)
    {
        if (_done) return;
        _done = true;
        Context.GetLogger().Debug("Chat warm-up over after {0:F0} ms: connected {1}, {2} lines{3}", Stopwatch.GetElapsedTime(_started).TotalMilliseconds,
            _connected, _delivered, problem is null ? "" : $"; {problem}");
        Report(problem);
        _tellWhenOver.Tell(new ChatWarmUpProtocol.Over(_delivered, problem));
        Context.Stop(Self); // the peers, their sockets, sessions and chats with it
    }
}
