namespace P2P.Protocol.Ice;

/// <summary>
/// Why a session description was refused: the 1-based line number and text of the offending line
/// (0 and "" when the problem is something missing, like the ufrag) and a reason in plain words.
/// </summary>
public sealed record IceDescriptionError(int LineNumber, string Line, string Reason)
{
    public static readonly IceDescriptionError None = new(0, string.Empty, string.Empty);

    /// <summary>"line 4 'a=candidate:x' : bad priority 'x'", or just the reason when no line is to blame.</summary>
    public override string ToString() => LineNumber > 0 ? $"line {LineNumber} '{Line}' : {Reason}" : Reason;
}

/// <summary>How <see cref="IceDescription.Write"/> lays out a description.</summary>
public enum IceDescriptionFormat
{
    /// <summary>Only the ICE "a=" lines (RFC 8839 §5), one per line.</summary>
    Attributes,

    /// <summary>
    /// What libnice's nice_agent_generate_local_sdp prints and nice_agent_parse_remote_sdp wants:
    /// "m=- &lt;port&gt; ICE/SDP" and "c=IN IP4 &lt;address&gt;" (the default candidate), then the
    /// "a=" lines, then an empty line that ends the block for a reader that stops there.
    /// </summary>
    Libnice,
}
