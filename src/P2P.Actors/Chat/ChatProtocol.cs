namespace P2P.Actors.Chat;

/// <summary>Commands to a <see cref="ChatSession"/> and the events it tells its owner (besides the session events it forwards).</summary>
public static class ChatProtocol
{
    /// <summary>Marks the events a <see cref="ChatSession"/> adds to the session's own.</summary>
    public interface IChatEvent;

    // ---- commands from the owner ----------------------------------------------------------------------

    /// <summary>Send one chat line; answered with <see cref="MessageQueued"/>, later <see cref="MessageDelivered"/> (or <see cref="MessageRefused"/>).</summary>
    public sealed record Say(string Text);

    /// <summary>Offer a file to the peer; answered with <see cref="FileOfferSent"/> (or <see cref="FileFailed"/>).</summary>
    public sealed record SendFile(string Path);

    /// <summary>Accept an offered file; with <paramref name="Overwrite"/> an existing file of that name is replaced.</summary>
    public sealed record AcceptFile(string Id, bool Overwrite = false);

    public sealed record RejectFile(string Id);

    /// <summary>Answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats;


    // ---- events to the owner --------------------------------------------------------------------------

    /// <summary>A line given to <see cref="Say"/> got its id (counted per chat session from 1).</summary>
    /// <summary>The chat channel is open on this session: lines typed now go out at once (told on each opening).</summary>
    public sealed record ChatOpened : IChatEvent
    {
        public static readonly ChatOpened Instance = new();
    }

    public sealed record MessageQueued(long Id, string Text) : IChatEvent;

    /// <summary>A line given to <see cref="Say"/> that cannot be sent (too long for one frame); it got no id.</summary>
    public sealed record MessageRefused(string Text, string Reason) : IChatEvent;

    /// <summary>A line from the peer, told once, in the peer's order.</summary>
    public sealed record MessageReceived(long Id, string Text) : IChatEvent;

    /// <summary>The peer acknowledged the line with this id.</summary>
    public sealed record MessageDelivered(long Id) : IChatEvent;

    /// <summary>On the sender: the offer is on its way (the file was read and hashed).</summary>
    public sealed record FileOfferSent(string Id, string Name, long Size, string Sha256) : IChatEvent;

    /// <summary>On the receiver: the peer offers a file; answer <see cref="AcceptFile"/> or <see cref="RejectFile"/>.</summary>
    public sealed record FileOffered(string Id, string Name, long Size) : IChatEvent;

    /// <summary>On the receiver: a file of that name exists; <see cref="AcceptFile"/> with Overwrite replaces it.</summary>
    public sealed record FileNeedsConfirmation(string Id, string Path) : IChatEvent;

    /// <summary>Bytes written (receiver) or acknowledged (sender) so far, at most once per progress interval.</summary>
    public sealed record FileProgress(string Id, long Bytes, long Total, double BytesPerSecond) : IChatEvent;

    /// <summary>The transfer continues from <paramref name="Offset"/>, the bytes the receiver's .part already holds.</summary>
    public sealed record FileResumed(string Id, long Offset) : IChatEvent;

    /// <summary>The file arrived whole: on the receiver its final path, on the sender its source path; the SHA-256 in hex.</summary>
    public sealed record FileCompleted(string Id, string Path, string Sha256) : IChatEvent;

    /// <summary>The transfer is over without the file: the reason as a sentence.</summary>
    public sealed record FileFailed(string Id, string Reason) : IChatEvent;

    /// <summary>The session under a transfer ended (the peer left, it was closed, it failed): how far it got and why. The chat keeps it, so a new session of the same chat resumes it.</summary>
    public sealed record FileInterrupted(string Id, string Reason) : IChatEvent;

    /// <summary>The chat failed more often than <c>p2p.chat.faults-per-minute</c> allows and stopped: the reason as a sentence.</summary>
    public sealed record ChatStopped(string Reason) : IChatEvent;

    /// <summary>Counters, for diagnostics and tests; <paramref name="Restarts"/> counts the faults the chat was restarted after.</summary>
    public sealed record Stats(long Sent, long Received, int Unacknowledged, long DuplicatesDropped, long BadFrames, int Transfers, long Restarts) : IChatEvent;
}
