using System.Security.Cryptography;
using Akka.Actor;
using P2P.Protocol.Chat;

namespace P2P.Actors.Chat;

/// <summary>
/// What a <see cref="ChatSession"/> knows and shares with its peer, kept outside the actor instance so that a restart
/// after a fault starts a fresh instance with it: lines not yet acknowledged, the ids seen from the
/// peer, the files under way. Opaque outside this assembly; only the actor it was made for touches it (Akka runs one
/// instance at a time).
/// </summary>
public sealed class ChatMemory
{
    internal ChatMemory() { }

    /// <summary>Names this chat's line ids; a new chat (not a restarted one) counts from 1 under a new epoch.</summary>
    internal readonly string Epoch = RandomNumberGenerator.GetHexString(16, lowercase: true);

    internal IActorRef? Session;
    internal string SessionId = "";
    internal bool Controlling, ChatOpen, SessionGone;

    // chat lines out: ids from 1, kept until acknowledged
    internal long NextId = 1;
    internal readonly Queue<(long Id, string Text)> Unacked = new();
    /// <summary>The last <see cref="ChatProtocol.Say"/> that got its id: a fault in one that did not is told to the owner.</summary>
    internal ChatProtocol.Say? LastQueued;
    // chat lines in: shown in order once
    internal string? RemoteEpoch;
    internal long NextExpected = 1;
    internal readonly SortedDictionary<long, string> Early = [];
    // control frames waiting for "chat" to open
    internal readonly List<ChatFrame> Outbox = [];

    internal readonly Dictionary<string, OutgoingFile> Outgoing = [];
    internal readonly Dictionary<string, IncomingFile> Incoming = [];
    // the last answer given for a file that is over (rejected or done), repeated if the offer comes again
    internal readonly Dictionary<string, ChatFrame> Answers = [];

    internal long Sent, Received, Duplicates, BadFrames, Restarts;
    internal readonly HashSet<string> ChannelTrouble = [];
    /// <summary>Set by <see cref="Supervision.InjectFault.OnNextPeerInput"/>: the next message from the peer throws this.</summary>
    internal string? FaultOnNextPeerFrame;
    /// <summary>The recent faults (on <see cref="Environment.TickCount64"/>), for the per-minute budget.</summary>
    internal readonly Supervision.FaultWindow RecentFaults = new();

    /// <summary>Closes every open file handle (a restarting or stopping instance); the state says what to reopen.</summary>
    internal void CloseFiles()
    {
        foreach (var f in Outgoing.Values)
        {
            f.Handle?.Dispose();
            f.Handle = null;
        }
        foreach (var f in Incoming.Values) f.Close();
    }
}
