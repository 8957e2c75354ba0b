using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Microsoft.Win32.SafeHandles;
using P2P.Actors.Sessions;
using P2P.Protocol.Chat;
using static P2P.Actors.Chat.ChatProtocol;

namespace P2P.Actors.Chat;

/// <summary>
/// Chat and file transfer on the data channels of one secure <see cref="Session"/>, whose owner
/// it is. Session events it does not use itself go on to its own owner unchanged, so signaling works through it.
/// What it says to the peer, frame by frame, is specified in docs/CHAT-WIRE.md (the frames: <see cref="ChatFrame"/>).
/// <para>
/// Channels, one rule: the side whose session is controlling (its description offers a=setup:actpass) opens "chat",
/// and opens it again <see cref="ChatSettings.ReopenDelay"/> after it closed; each file gets its own channel
/// "file-&lt;id&gt;", opened by the sender once the receiver accepted the offer (again after it closed). All are
/// ordered and reliable. Chat lines carry a per-chat-session id (from 1) and the sender's epoch; the receiver shows
/// each once and in order (duplicates dropped by id) and acknowledges cumulatively; lines not yet acknowledged are
/// sent again whenever "chat" opens or the session reports Connected (after a path switch or an ICE restart), and
/// when a new session adopts this chat (a new <see cref="SessionProtocol.Started"/> from another session, after the
/// old one failed or closed).
/// </para>
/// <para>
/// Files: offer {id, name, size, sha256} on "chat"; accept or reject; on "file-&lt;id&gt;" opening, the receiver says
/// "ready" with the bytes its &lt;name&gt;.part holds and the sender sends from there (a resume when above 0), at most
/// <see cref="ChatSettings.Window"/> chunks unacknowledged. The receiver checks the SHA-256 and renames the .part.
/// File reads and writes are one chunk at a time; whole-file hashing runs off the actor and comes back as a message.
/// </para>
/// <para>
/// A fault (an exception while handling a message) restarts the actor with its <see cref="ChatMemory"/>, which
/// resynchronises with the peer (<see cref="PostRestart"/>); the user loses neither lines nor files.
/// </para>
/// </summary>
public sealed class ChatSession : ReceiveActor, IWithTimers
{
    public const string ChatLabel = "chat";
    public const string FileLabelPrefix = "file-";

    private readonly ChatSettings _settings;
    private readonly IActorRef _owner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ChatMemory _m;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="memory">Outlives the instance: a restarted instance (after a fault) gets the same one.</param>
    public ChatSession(ChatSettings settings, IActorRef owner, ChatMemory memory)
    {
        _settings = settings;
        _owner = owner;
        _m = memory;

        Receive<SessionProtocol.Started>(OnStarted);
        Receive<SessionProtocol.Connected>(m =>
        {
            _owner.Forward(m);
            if (Sender.Equals(_m.Session) && _m.ChatOpen) ResendUnacknowledged();
        });
        Receive<SessionProtocol.Failed>(m => OnSessionGone(m, m.SessionId));
        Receive<SessionProtocol.Closed>(m => OnSessionGone(m, m.SessionId));
        Receive<SessionProtocol.ChannelOpened>(m => IsOurs(m.Label), OnChannelOpened);
        Receive<SessionProtocol.ChannelMessage>(m => IsOurs(m.Label), OnChannelMessage);
        Receive<SessionProtocol.ChannelClosed>(m => IsOurs(m.Label), OnChannelClosed);
        Receive<SessionProtocol.ChannelError>(m => IsOurs(m.Label), m =>
        {
            // once per label until it opens again: a closing channel refuses every message sent meanwhile
            if (_m.ChannelTrouble.Add(m.Label)) _log.Warning("[{0}] channel {1}: {2} (what it did not carry is sent again when it opens)", m.SessionId, m.Label, m.Reason);
            if (m.Label == ChatLabel && !_m.ChatOpen && _m.Controlling && !m.Reason.Contains("already open")) ScheduleReopen(ChatLabel);
            // chunks for a channel that closed before this side knew (a "ready" crossed the close): open it again
            if (m.Label.StartsWith(FileLabelPrefix, StringComparison.Ordinal) && m.Reason.StartsWith("no channel", StringComparison.Ordinal)
                && _m.Outgoing.TryGetValue(m.Label[FileLabelPrefix.Length..], out var f) && f.ChannelOpen)
            {
                f.ChannelOpen = false;
                ScheduleReopen(m.Label);
            }
        });
        Receive<ReopenChannel>(m => Reopen(m.Label));
        Receive<AcknowledgeLines>(_ => AcknowledgeLinesNow());

        Receive<Say>(OnSay);
        Receive<SendFile>(OnSendFile);
        Receive<FileHashed>(OnFileHashed);
        Receive<AcceptFile>(OnAcceptFile);
        Receive<RejectFile>(m =>
        {
            if (!_m.Incoming.Remove(m.Id, out var file) || file.State is not (IncomingFile.Stage.Offered or IncomingFile.Stage.Confirming)) return;
            Answer(m.Id, new FileReject(m.Id, "the peer declined the file"));
        });
        Receive<PartHashed>(OnPartHashed);
        Receive<AckWritten>(m =>
        {
            if (_m.Incoming.TryGetValue(m.Id, out var file) && file.Acks?.MarkerBack() == true && file.State == IncomingFile.Stage.Receiving) AcknowledgeWritten(file);
        });
        Receive<GetStats>(_ => Sender.Tell(new Stats(_m.Sent, _m.Received, _m.Unacked.Count, _m.Duplicates, _m.BadFrames, _m.Outgoing.Count + _m.Incoming.Count, _m.Restarts)));
        Receive<Supervision.InjectFault>(m =>
        {
            // the chat's own fault injection: at once, or on the next frame from the peer, which the fault then drops
            if (!m.OnNextPeerInput) throw new Supervision.InjectedFaultException(m.Reason);
            _m.FaultOnNextPeerFrame = m.Reason;
        });

        ReceiveAny(m => _owner.Forward(m));
    }

    /// <summary>A new chat, with memory of its own that its restarts keep.</summary>
    public static Props Props(ChatSettings settings, IActorRef owner)
    {
        var memory = new ChatMemory();
        return Akka.Actor.Props.Create(() => new ChatSession(settings, owner, memory));
    }

    /// <summary>The frame codec's first use is paid now, while the session connects, not by the first line (<see cref="ChatFrame.StartWarmUp"/>).</summary>
    protected override void PreStart() => ChatFrame.StartWarmUp();

    protected override void PostStop() => _m.CloseFiles();

    // ---- restarts ------------------------------------------------------------------------

    /// <summary>
    /// Called on the failed instance. The files are closed (the new instance opens what is under way again); a line
    /// whose <see cref="Say"/> threw before it got its id is given back to the owner, so that no typed line vanishes.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _m.CloseFiles();
        if (message is Say say && !ReferenceEquals(say, _m.LastQueued))
            _owner.Tell(new MessageRefused(say.Text, $"the chat hit an internal error before the line got an id ({reason.Message}); type it again"));
    }

    /// <summary>
    /// Called on the new instance, which has the memory but none of the timers or open files: within the fault
    /// budget it logs the fault and resynchronises with the session and the peer (<see cref="Resync"/>); past it
    /// the chat stops and tells its owner why, with what it leaves undelivered.
    /// </summary>
    protected override void PostRestart(Exception reason)
    {
        _m.Restarts++;
        int recent = _m.RecentFaults.Record(Environment.TickCount64);   // monotonic: a clock set back must not look like a burst of faults
        if (recent > _settings.FaultsPerMinute)
        {
            string why = $"the chat failed {recent} times within a minute (last: {reason.Message}); " +
                $"{_m.Unacked.Count} lines were not delivered and {_m.Outgoing.Count + _m.Incoming.Count} file transfers stopped";
            _log.Error(reason, "[{0}] {1}", _m.SessionId, why);
            _owner.Tell(new ChatStopped(why));
            Context.Stop(Self);
            return;
        }
        _log.Warning(reason, "[{0}] the chat threw ({1}); restarted with its memory: {2} lines unacknowledged, {3} transfers (fault {4} in the last minute)",
            _m.SessionId, reason.Message, _m.Unacked.Count, _m.Outgoing.Count + _m.Incoming.Count, recent);
        Resync();
    }

    /// <summary>
    /// After a restart: files under way are opened again at the state the memory has (a receiver takes the length of
    /// its .part as the truth and asks the sender to go on from there); with "chat" open the peer is asked to send
    /// again what this side has not acknowledged (the message that threw may have been one of its lines), and this
    /// side sends its own unacknowledged lines and pending frames; channels closed meanwhile are opened again.
    /// </summary>
    private void Resync()
    {
        foreach (var f in _m.Outgoing.Values.ToList())
        {
            if (f.State is OutgoingFile.Stage.Hashing) continue;   // its hash comes back as a message with the handle
            try
            {
                f.Handle = File.OpenHandle(f.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                FailOutgoing(f, $"cannot read '{f.Path}' again after a restart: {e.Message}");
            }
        }
        foreach (var f in _m.Incoming.Values.ToList())
        {
            if (f.State != IncomingFile.Stage.Receiving) continue;
            try
            {
                f.Handle = File.OpenHandle(f.PartPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
                f.Written = Math.Min(RandomAccess.GetLength(f.Handle), f.Size);
                f.Acks = null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                FailIncoming(f, $"cannot write '{f.PartPath}' again after a restart: {e.Message}");
            }
        }
        foreach (var f in _m.Incoming.Values.ToList())   // whole already, or its check was under way: check it (again)
            if (f.State == IncomingFile.Stage.Verifying || f.State == IncomingFile.Stage.Receiving && f.Written == f.Size) Verify(f);
        if (_m.Session is null || _m.SessionGone) return;   // the next session's Started and ChannelOpened do the rest

        // file channels that are open go on whether "chat" is open or not ("ready" waits in the outbox if need be)
        foreach (var f in _m.Outgoing.Values.ToList())
            if (f.State == OutgoingFile.Stage.Sending && f.ChannelOpen) Pump(f);
        SayReady();
        if (!_m.ChatOpen)
        {
            if (_m.Controlling) _m.Session.Tell(new SessionProtocol.OpenChannel(ChatLabel));   // its opening sends everything
            return;
        }
        SendFrame(new ChatSync());
        CatchUp(afterFault: true);
    }

    /// <summary>
    /// With "chat" open (again, or after a fault): the frames that waited for it, the lines not yet acknowledged,
    /// offers not yet answered, and file channels to open. After a fault every offer goes again, whatever came of it:
    /// the receiver repeats its answer (accept, reject or done) if that was what the fault dropped, and ignores it otherwise.
    /// </summary>
    private void CatchUp(bool afterFault)
    {
        foreach (var frame in _m.Outbox) SendFrame(frame);
        _m.Outbox.Clear();
        ResendUnacknowledged();
        foreach (var f in _m.Outgoing.Values)
        {
            if (f.State == OutgoingFile.Stage.Offered || afterFault && f.State != OutgoingFile.Stage.Hashing) SendFrame(f.Offer);
            if (f.State is OutgoingFile.Stage.Accepted or OutgoingFile.Stage.Sending && !f.ChannelOpen) OpenFileChannel(f);
        }
    }

    /// <summary>
    /// The peer restarted after a fault that may have dropped any frame of ours: lines it has not acknowledged, offers
    /// it has not answered and "ready" for each file coming in on an open channel (its acknowledgement may be what it
    /// lost) go again. What it has already is dropped there as a duplicate.
    /// </summary>
    private void OnSync()
    {
        ResendUnacknowledged();
        foreach (var f in _m.Outgoing.Values)
            if (f.State == OutgoingFile.Stage.Offered) SendFrame(f.Offer);
        SayReady();
    }

    /// <summary>"ready" with what the .part holds, for each file coming in on an open channel: the sender goes on from there.</summary>
    private void SayReady()
    {
        foreach (var f in _m.Incoming.Values)   // a closed channel: its opening says "ready" anyway
            if (f.State == IncomingFile.Stage.Receiving && f.ChannelOpen && f.Written < f.Size)
                SendControl(new FileReady(f.Id, f.Written));
    }

    private static bool IsOurs(string label) => label == ChatLabel || label.StartsWith(FileLabelPrefix, StringComparison.Ordinal);

    private sealed record ReopenChannel(string Label);

    private sealed record FileHashed(string Id, SafeFileHandle? Handle, long Size, string? Sha256, string? Error);

    private sealed record PartHashed(string Id, string? Sha256, string? Error);

    /// <summary>Told to itself after a chunk was written: the chunks queued before it are written too (<see cref="ChunkAcks"/>).</summary>
    private sealed record AckWritten(string Id);

    // ---- the session -----------------------------------------------------------------------------------

    /// <summary>A session (the first, or a new one after the last failed or closed) is now the one this chat rides on.</summary>
    private void OnStarted(SessionProtocol.Started m)
    {
        _owner.Forward(m);
        if (_m.Session is not null && !_m.Session.Equals(m.Session))
            _log.Info("[{0}] chat moves to session {0} ({1} lines unacknowledged, {2} files under way)", m.SessionId, _m.Unacked.Count, _m.Outgoing.Count + _m.Incoming.Count);
        _m.Session = m.Session;
        _m.SessionId = m.SessionId;
        _m.SessionGone = false;
        _m.ChatOpen = false;
        foreach (var f in _m.Outgoing.Values) f.ChannelOpen = false;
        foreach (var f in _m.Incoming.Values) f.ChannelOpen = false;
        if (m.Description?.Fingerprint is null)
        {
            _log.Warning("[{0}] the session is plain: chat and files need a secure session (data channels)", m.SessionId);
            return;
        }
        _m.Controlling = m.Description.Setup == "actpass";
        if (_m.Controlling) _m.Session.Tell(new SessionProtocol.OpenChannel(ChatLabel));
    }

    private void OnSessionGone(object m, string sessionId)
    {
        if (Sender.Equals(_m.Session) && !_m.SessionGone) TellTransfersStopped(m);
        _owner.Forward(m);
        if (!Sender.Equals(_m.Session)) return;
        _m.SessionGone = true;
        _m.ChatOpen = false;
        foreach (var f in _m.Outgoing.Values) f.ChannelOpen = false;
        foreach (var f in _m.Incoming.Values) f.ChannelOpen = false;
        _log.Info("[{0}] session over: {1} lines unacknowledged and {2} files wait for a new session", sessionId, _m.Unacked.Count, _m.Outgoing.Count + _m.Incoming.Count);
    }

    /// <summary>
    /// The session ended with files under way: each is told as <see cref="FileInterrupted"/>, saying how far it got and
    /// why it stopped (the peer left, or the session was closed here), and that a received part is kept for a resume.
    /// </summary>
    private void TellTransfersStopped(object ended)
    {
        string why = ended switch
        {
            SessionProtocol.Closed { PeerReason: not null } => "the peer left",
            SessionProtocol.Closed => "the session was closed",
            SessionProtocol.Failed f => $"the session failed ({f.Reason.TrimEnd('.')})",
            _ => "the session ended",
        };
        foreach (var f in _m.Outgoing.Values)
        {
            string how = f.State is OutgoingFile.Stage.Hashing or OutgoingFile.Stage.Offered
                ? "was offered but not taken"
                : $"stopped after {Percent(f.Acked, f.Size)} ({f.Acked} of {f.Size} bytes delivered)";
            _owner.Tell(new FileInterrupted(f.Id, $"'{f.Name}' {how}: {why}"));
        }
        foreach (var f in _m.Incoming.Values)
        {
            string how = f.State is IncomingFile.Stage.Offered or IncomingFile.Stage.Confirming
                ? "was offered but not taken"
                : $"stopped after {Percent(f.Written, f.Size)} ({f.Written} of {f.Size} bytes received; {System.IO.Path.GetFileName(f.PartPath)} is kept, so the same offer resumes it)";
            _owner.Tell(new FileInterrupted(f.Id, $"'{f.Name}' {how}: {why}"));
        }
    }

    private static string Percent(long done, long total) => total <= 0 ? "100%" : $"{Math.Clamp(done * 100 / total, 0, 100)}%";

    private void OnChannelOpened(SessionProtocol.ChannelOpened m)
    {
        if (!Sender.Equals(_m.Session)) return;
        _m.ChannelTrouble.Remove(m.Label);
        if (m.Label == ChatLabel)
        {
            _m.ChatOpen = true;
            _owner.Tell(ChatOpened.Instance);
            CatchUp(afterFault: false);
            return;
        }
        string id = m.Label[FileLabelPrefix.Length..];
        if (_m.Outgoing.TryGetValue(id, out var outgoing)) outgoing.ChannelOpen = true; // the receiver's "ready" starts the data
        else if (_m.Incoming.TryGetValue(id, out var incoming))
        {
            incoming.ChannelOpen = true;
            if (incoming.State != IncomingFile.Stage.Receiving) return;
            SendControl(new FileReady(id, incoming.Written));
            if (incoming.Written == incoming.Size) Verify(incoming);
        }
    }

    private void OnChannelClosed(SessionProtocol.ChannelClosed m)
    {
        if (!Sender.Equals(_m.Session)) return;
        if (m.Label == ChatLabel)
        {
            _m.ChatOpen = false;
            if (_m.Controlling) ScheduleReopen(ChatLabel);
            return;
        }
        if (_m.Incoming.TryGetValue(m.Label[FileLabelPrefix.Length..], out var incoming)) incoming.ChannelOpen = false;   // its sender opens it again
        if (_m.Outgoing.TryGetValue(m.Label[FileLabelPrefix.Length..], out var f))
        {
            _log.Info("[{0}] channel {1} closed while sending '{2}' ({3} of {4} bytes acknowledged); opening it again in {5} ms",
                m.SessionId, m.Label, f.Name, f.Acked, f.Size, _settings.ReopenDelay.TotalMilliseconds);
            f.ChannelOpen = false;
            ScheduleReopen(m.Label);
        }
    }

    private void ScheduleReopen(string label) => Timers.StartSingleTimer("reopen " + label, new ReopenChannel(label), _settings.ReopenDelay);

    private void Reopen(string label)
    {
        if (_m.Session is null || _m.SessionGone) return;
        if (label == ChatLabel)
        {
            if (!_m.ChatOpen && _m.Controlling) _m.Session.Tell(new SessionProtocol.OpenChannel(ChatLabel));
        }
        else if (_m.Outgoing.TryGetValue(label[FileLabelPrefix.Length..], out var f))
        {
            if (_m.ChatOpen && !f.ChannelOpen && f.State != OutgoingFile.Stage.Hashing) OpenFileChannel(f);
            else _log.Info("[{0}] channel {1} not opened again now (chat open: {2}, channel open: {3}, {4})", _m.SessionId, label, _m.ChatOpen, f.ChannelOpen, f.State);
        }
    }

    private void OnChannelMessage(SessionProtocol.ChannelMessage m)
    {
        if (!Sender.Equals(_m.Session)) return;
        if (_m.FaultOnNextPeerFrame is { } fault)
        {
            _m.FaultOnNextPeerFrame = null;
            throw new Supervision.InjectedFaultException(fault);
        }
        if (m.Label == ChatLabel)
        {
            if (ChatFrame.TryParse(m.Data.Span, out var frame, out var error)) OnFrame(frame);
            else BadFrame(error.Message);
            return;
        }
        string id = m.Label[FileLabelPrefix.Length..];
        if (_m.Outgoing.TryGetValue(id, out var outgoing))
        {
            if (FileChunk.TryDecodeAck(m.Data.Span, out long written)) OnChunkAcknowledged(outgoing, written);
            else BadFrame($"a {m.Data.Length}-byte message on {m.Label} is not an acknowledgement");
        }
        else if (_m.Incoming.TryGetValue(id, out var incoming) && incoming.State == IncomingFile.Stage.Receiving)
        {
            if (FileChunk.TryDecode(m.Data, out long offset, out var data)) OnChunk(incoming, offset, data);
            else BadFrame($"a {m.Data.Length}-byte message on {m.Label} is not a chunk");
        }
    }

    private void BadFrame(string why)
    {
        _m.BadFrames++;
        _log.Warning("[{0}] dropped a bad frame from the peer ({1} so far): {2}", _m.SessionId, _m.BadFrames, why);
    }

    private void SendFrame(ChatFrame frame) => _m.Session!.Tell(new SessionProtocol.SendOnChannel(ChatLabel, frame.ToBytes(), Binary: false));

    /// <summary>A frame that must reach the peer: now when "chat" is open, else when it opens.</summary>
    private void SendControl(ChatFrame frame)
    {
        if (_m.ChatOpen && _m.Session is not null) SendFrame(frame);
        else _m.Outbox.Add(frame);
    }

    private void OnFrame(ChatFrame frame)
    {
        switch (frame)
        {
            case ChatLine line: OnLine(line.Epoch, line.Number, line.Text); break;
            case ChatAck ack: OnAck(ack.Epoch, ack.UpTo); break;
            case FileOffer offer: OnOffer(offer); break;
            case FileAccept accept: OnAccepted(accept.Id); break;
            case FileReject reject: EndOutgoing(reject.Id, null, $"the peer refused the file: {reject.Reason ?? "no reason given"}"); break;
            case FileReady ready: OnReady(ready.Id, ready.Offset); break;
            case FileDone done: EndOutgoing(done.Id, done.Ok ? done.Sha256 ?? "" : null, $"the peer could not take the file: {done.Reason ?? "no reason given"}"); break;
            case FileCancel cancel: OnCancelled(cancel.Id, cancel.Reason ?? "no reason given"); break;
            case ChatSync: OnSync(); break;
        }
    }

    // ---- chat lines ------------------------------------------------------------------------------------

    /// <summary>Longest line in UTF-8 bytes: with its JSON around it, it stays within <see cref="ChatFrame.MaxLength"/>.</summary>
    public const int MaxLineBytes = ChatFrame.MaxLength / 2;

    /// <summary>Lines held back while an earlier one is missing, at most; beyond that they are dropped and come again with the resend.</summary>
    private const int MaxEarlyLines = 4096;

    private void OnSay(Say m)
    {
        if (Encoding.UTF8.GetByteCount(m.Text) > MaxLineBytes)
        {
            _owner.Tell(new MessageRefused(m.Text, $"a line can have at most {MaxLineBytes} bytes; send longer text as a file"));
            return;
        }
        long id = _m.NextId++;
        _m.Unacked.Enqueue((id, m.Text));
        _m.LastQueued = m;
        _m.Sent++;
        if (_m.ChatOpen) SendFrame(Line(id, m.Text)); // first the line, then the console's bookkeeping: the line is what the peer waits for
        _owner.Tell(new MessageQueued(id, m.Text));
    }

    private ChatLine Line(long id, string text) => new(_m.Epoch, id, text);

    private void ResendUnacknowledged()
    {
        if (_m.Unacked.Count > 0) _log.Info("[{0}] sending {1} unacknowledged lines again, from {2}", _m.SessionId, _m.Unacked.Count, _m.Unacked.Peek().Id);
        foreach (var (id, text) in _m.Unacked) SendFrame(Line(id, text));
    }

    private void OnLine(string epoch, long id, string text)
    {
        if (epoch != _m.RemoteEpoch)
        {
            // a new chat session on the other side counts from 1 again
            _m.RemoteEpoch = epoch;
            _m.NextExpected = 1;
            _m.Early.Clear();
        }
        if (id < _m.NextExpected || _m.Early.ContainsKey(id)) _m.Duplicates++;
        else if (id > _m.NextExpected)
        {
            // a resend overtook an earlier line: hold it until the gap is filled
            if (_m.Early.Count < MaxEarlyLines) _m.Early[id] = text;
        }
        else
        {
            Show(id, text);
            while (_m.Early.Remove(_m.NextExpected, out var next)) Show(_m.NextExpected, next);
            // a new line in order: acknowledged with whatever else comes within the delay
            if (_settings.LineAckDelay > TimeSpan.Zero)
            {
                if (!Timers.IsTimerActive(LineAckKey)) Timers.StartSingleTimer(LineAckKey, AcknowledgeLines.Instance, _settings.LineAckDelay);
                return;
            }
        }
        // a resend (a duplicate, or a line after a gap) is answered at once: the sender is catching up
        AcknowledgeLinesNow();
    }

    private const string LineAckKey = "line ack";

    /// <summary>Told to itself <see cref="ChatSettings.LineAckDelay"/> after the first line shown and not yet acknowledged.</summary>
    private sealed record AcknowledgeLines
    {
        public static readonly AcknowledgeLines Instance = new();
    }

    /// <summary>One cumulative ack for every line of the peer's epoch shown so far (a pending delayed one is part of it).</summary>
    private void AcknowledgeLinesNow()
    {
        Timers.Cancel(LineAckKey);
        if (_m.RemoteEpoch is { } epoch) SendControl(new ChatAck(epoch, _m.NextExpected - 1));
    }

    private void Show(long id, string text)
    {
        _m.Received++;
        _m.NextExpected = id + 1;
        _owner.Tell(new MessageReceived(id, text));
    }

    private void OnAck(string epoch, long upTo)
    {
        if (epoch != _m.Epoch) return; // for an earlier incarnation of this chat
        while (_m.Unacked.TryPeek(out var head) && head.Id <= upTo)
        {
            _m.Unacked.Dequeue();
            _owner.Tell(new MessageDelivered(head.Id));
        }
    }

    // ---- files: the sender ---------------------------------------------------------------------------

    private void OnSendFile(SendFile m)
    {
        var file = new OutgoingFile(RandomNumberGenerator.GetHexString(12, lowercase: true), m.Path);
        _m.Outgoing[file.Id] = file;
        string id = file.Id, path = m.Path;
        Task.Run(() => Hash(id, path)).PipeTo(Self);
    }

    /// <summary>Off the actor: opens the file for reading and hashes it; problems come back as a sentence.</summary>
    private static FileHashed Hash(string id, string path)
    {
        SafeFileHandle? handle = null;
        try
        {
            if (SendableFile.ProblemBeforeOpening(path) is { } notAFile) return new FileHashed(id, null, 0, null, notAFile);
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long size = RandomAccess.GetLength(handle);
            if (SendableFile.ProblemAfterOpening(path, handle, size) is { } notRegular)
            {
                handle.Dispose();
                return new FileHashed(id, null, 0, null, notRegular);
            }
            return new FileHashed(id, handle, size, FileSha256.Of(handle, size), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            handle?.Dispose();
            return new FileHashed(id, null, 0, null, $"cannot send '{path}': {e.Message}");
        }
    }

    private void OnFileHashed(FileHashed m)
    {
        if (!_m.Outgoing.TryGetValue(m.Id, out var file))
        {
            m.Handle?.Dispose();
            return;
        }
        if (m.Error is not null)
        {
            _m.Outgoing.Remove(m.Id);
            _owner.Tell(new FileFailed(m.Id, m.Error));
            return;
        }
        file.Handle = m.Handle;
        file.Size = m.Size;
        file.Sha256 = m.Sha256!;
        file.State = OutgoingFile.Stage.Offered;
        _owner.Tell(new FileOfferSent(file.Id, file.Name, file.Size, file.Sha256));
        if (_m.ChatOpen) SendFrame(file.Offer); // else offered when "chat" opens
    }

    private void OnAccepted(string id)
    {
        if (!_m.Outgoing.TryGetValue(id, out var file) || file.State != OutgoingFile.Stage.Offered) return;
        file.State = OutgoingFile.Stage.Accepted;
        OpenFileChannel(file);
    }

    private void OpenFileChannel(OutgoingFile file) => _m.Session?.Tell(new SessionProtocol.OpenChannel(file.Label));

    private void OnReady(string id, long offset)
    {
        if (!_m.Outgoing.TryGetValue(id, out var file) || file.State is OutgoingFile.Stage.Hashing or OutgoingFile.Stage.Offered) return;
        if (offset > file.Size)
        {
            BadFrame($"ready for '{file.Name}' at {offset} beyond its {file.Size} bytes");
            return;
        }
        file.ChannelOpen = true;
        file.Next = file.Acked = offset;
        file.State = OutgoingFile.Stage.Sending;
        file.Clock.Restart(offset);
        if (offset > 0) _owner.Tell(new FileResumed(id, offset));
        Pump(file);
    }

    private void OnChunkAcknowledged(OutgoingFile file, long written)
    {
        if (file.State != OutgoingFile.Stage.Sending || written <= file.Acked || written > file.Size) return;
        // Beyond what was sent since the last "ready": chunks from before it got there after all (a restarted
        // receiver asks from what its .part holds while earlier chunks are still on their way).
        file.Acked = written;
        file.Next = Math.Max(file.Next, written);
        if (file.Clock.Report(file.Id, written, file.Size, _settings.ProgressInterval) is { } progress) _owner.Tell(progress);
        Pump(file);
    }

    /// <summary>Sends chunks while the window allows: one small synchronous read each.</summary>
    private void Pump(OutgoingFile file)
    {
        long window = (long)_settings.Window * _settings.ChunkSize;
        while (file.ChannelOpen && file.Next < file.Size && file.Next - file.Acked < window)
        {
            int length = (int)Math.Min(_settings.ChunkSize, file.Size - file.Next);
            var frame = FileChunk.NewFrame(file.Next, length);
            int n;
            try
            {
                n = RandomAccess.Read(file.Handle!, frame.AsSpan(FileChunk.HeaderLength), file.Next);
            }
            catch (IOException e)
            {
                FailOutgoing(file, $"cannot read '{file.Path}': {e.Message}");
                return;
            }
            if (n == 0)
            {
                FailOutgoing(file, $"'{file.Path}' became shorter while it was being sent");
                return;
            }
            _m.Session!.Tell(new SessionProtocol.SendOnChannel(file.Label, n == length ? frame : frame[..(FileChunk.HeaderLength + n)]));
            file.Next += n;
        }
    }

    private void FailOutgoing(OutgoingFile file, string reason)
    {
        SendControl(new FileCancel(file.Id, reason));
        EndOutgoing(file.Id, null, reason);
    }

    /// <summary>The transfer is over: completed when <paramref name="sha256"/> is given, else failed for <paramref name="reason"/>.</summary>
    private void EndOutgoing(string id, string? sha256, string reason)
    {
        if (!_m.Outgoing.Remove(id, out var file)) return;
        file.Handle?.Dispose();
        if (file.ChannelOpen && _m.Session is not null && !_m.SessionGone) _m.Session.Tell(new SessionProtocol.CloseChannel(file.Label));
        Timers.Cancel("reopen " + file.Label);
        _m.ChannelTrouble.Remove(file.Label);
        if (sha256 is not null && sha256 == file.Sha256) _owner.Tell(new FileCompleted(id, file.Path, sha256));
        else _owner.Tell(new FileFailed(id, sha256 is null ? reason : $"the peer reports SHA-256 {sha256}, not {file.Sha256}"));
    }

    // ---- files: the receiver -------------------------------------------------------------------------

    private void OnOffer(FileOffer f)
    {
        string id = f.Id;
        if (id.Length is 0 or > 32 || !id.All(char.IsAsciiLetterOrDigit))
        {
            BadFrame($"offer with an unusable id '{id}'");
            return;
        }
        if (_m.Answers.TryGetValue(id, out var answer))
        {
            SendControl(answer);
            return;
        }
        if (_m.Incoming.TryGetValue(id, out var known))
        {
            if (known.State == IncomingFile.Stage.Receiving) SendControl(new FileAccept(id));
            return; // else the owner has still to answer
        }
        if (OfferedName.Problem(f.Name) is { } problem)
        {
            _owner.Tell(new FileFailed(id, problem));
            Answer(id, new FileReject(id, problem));
            return;
        }
        _m.Incoming[id] = new IncomingFile(id, f.Name, f.Size, f.Sha256.ToLowerInvariant(), _settings.DownloadFolder);
        _owner.Tell(new FileOffered(id, f.Name, f.Size));
    }

    /// <summary>The final answer about a file: told to the peer, kept to repeat if the offer comes again.</summary>
    private void Answer(string id, ChatFrame answer)
    {
        _m.Answers[id] = answer;
        SendControl(answer);
    }

    private void OnAcceptFile(AcceptFile m)
    {
        if (!_m.Incoming.TryGetValue(m.Id, out var file) || file.State is not (IncomingFile.Stage.Offered or IncomingFile.Stage.Confirming)) return;
        if (File.Exists(file.Target) && !m.Overwrite)
        {
            file.State = IncomingFile.Stage.Confirming;
            _owner.Tell(new FileNeedsConfirmation(m.Id, file.Target));
            return;
        }
        try
        {
            Directory.CreateDirectory(_settings.DownloadFolder);
            file.Handle = File.OpenHandle(file.PartPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            file.Written = RandomAccess.GetLength(file.Handle);
            if (file.Written > file.Size)
            {
                RandomAccess.SetLength(file.Handle, 0); // not a prefix of this file
                file.Written = 0;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            FailIncoming(file, $"cannot write '{file.PartPath}': {e.Message}");
            return;
        }
        file.Overwrite = m.Overwrite;
        file.State = IncomingFile.Stage.Receiving;
        file.Running?.Dispose();
        file.Running = file.Written == 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;   // hashed as it arrives
        file.Clock.Restart(file.Written);
        SendControl(new FileAccept(m.Id));
    }

    private void OnChunk(IncomingFile file, long offset, ReadOnlyMemory<byte> data)
    {
        if (offset != file.Written || offset + data.Length > file.Size)
        {
            if (offset + data.Length > file.Written || offset + data.Length > file.Size)
                BadFrame($"chunk of '{file.Name}' at {offset}+{data.Length}, expected {file.Written} within {file.Size}");
            else   // written already (sent again after a "ready"): harmless, and the sender learns how far it may skip
                _m.Session!.Tell(new SessionProtocol.SendOnChannel(FileLabelPrefix + file.Id, FileChunk.EncodeAck(file.Written)));
            return;
        }
        try
        {
            RandomAccess.Write(file.Handle!, data.Span, offset);
        }
        catch (IOException e)
        {
            FailIncoming(file, $"cannot write '{file.PartPath}': {e.Message}");
            return;
        }
        file.Written += data.Length;
        file.Running?.AppendData(data.Span);
        file.Acks ??= new ChunkAcks(_settings.AckEvery);
        switch (file.Acks.Written(last: file.Written == file.Size))
        {
            case ChunkAck.Now:
                AcknowledgeWritten(file);
                break;
            case ChunkAck.AfterQueued:
                Self.Tell(new AckWritten(file.Id));
                break;
        }
        if (file.Clock.Report(file.Id, file.Written, file.Size, _settings.ProgressInterval) is { } progress) _owner.Tell(progress);
        if (file.Written == file.Size) Verify(file);
    }

    /// <summary>Tells the sender how many bytes of the file are written (cumulative: it stands for every chunk before).</summary>
    private void AcknowledgeWritten(IncomingFile file) =>
        _m.Session?.Tell(new SessionProtocol.SendOnChannel(FileLabelPrefix + file.Id, FileChunk.EncodeAck(file.Written)));

    private void Verify(IncomingFile file)
    {
        file.State = IncomingFile.Stage.Verifying;
        file.Handle?.Dispose();
        file.Handle = null;
        string id = file.Id, part = file.PartPath;
        if (file.Running is { } running)
        {
            // every byte was hashed as it was written: no second pass over the file
            Self.Tell(new PartHashed(id, Convert.ToHexStringLower(running.GetHashAndReset()), null));
            file.Close();
            return;
        }
        Task.Run(() =>
        {
            try
            {
                using var handle = File.OpenHandle(part, FileMode.Open, FileAccess.Read, FileShare.Read);
                return new PartHashed(id, FileSha256.Of(handle, RandomAccess.GetLength(handle)), null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return new PartHashed(id, null, $"cannot read '{part}' back: {e.Message}");
            }
        }).PipeTo(Self);
    }

    private void OnPartHashed(PartHashed m)
    {
        if (!_m.Incoming.TryGetValue(m.Id, out var file)) return;
        if (m.Error is not null)
        {
            FailIncoming(file, m.Error);
            return;
        }
        if (m.Sha256 != file.Sha256)
        {
            TryDelete(file.PartPath);
            FailIncoming(file, $"SHA-256 mismatch: the sender's offer says {file.Sha256}, the received file hashes to {m.Sha256}; the partial file was deleted");
            return;
        }
        try
        {
            File.Move(file.PartPath, file.Target, file.Overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            FailIncoming(file, $"received '{file.Name}' whole but cannot rename it to '{file.Target}': {e.Message}");
            return;
        }
        _m.Incoming.Remove(m.Id);
        Answer(m.Id, FileDone.Completed(m.Id, m.Sha256!));
        _owner.Tell(new FileCompleted(m.Id, file.Target, m.Sha256!));
    }

    private void FailIncoming(IncomingFile file, string reason)
    {
        file.Close();
        _m.Incoming.Remove(file.Id);
        Answer(file.Id, FileDone.Failed(file.Id, reason));
        _owner.Tell(new FileFailed(file.Id, reason));
    }

    private void OnCancelled(string id, string reason)
    {
        if (!_m.Incoming.Remove(id, out var file)) return;
        file.Close(); // the .part stays: a later offer of the same file resumes from it
        _owner.Tell(new FileFailed(id, $"the sender gave up: {reason}"));
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException e)
        {
            _log.Warning("[{0}] could not delete '{1}': {2}", _m.SessionId, path, e.Message);
        }
    }
}
