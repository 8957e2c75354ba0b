namespace P2P.Protocol.Chat;

/// <summary>Why bytes on the "chat" channel are not a frame this side can use.</summary>
public enum ChatFrameProblem
{
    None = 0,
    /// <summary>Larger than <see cref="ChatFrame.MaxLength"/>; not read.</summary>
    TooLarge,
    /// <summary>Not a JSON object.</summary>
    NotJson,
    /// <summary>No "t", or a kind this side does not know.</summary>
    UnknownKind,
    /// <summary>A field the kind needs is missing, of the wrong type or out of range; or "v" is not a version.</summary>
    BadFields,
    /// <summary>"v" names a later version of the format than this side speaks.</summary>
    NewerVersion,
}

/// <summary>What was wrong with a frame: the <see cref="Problem"/> and a sentence for the log that names the field.</summary>
public readonly record struct ChatFrameError(ChatFrameProblem Problem, string Message)
{
    public static readonly ChatFrameError None = new(ChatFrameProblem.None, "");

    public override string ToString() => Message;
}
