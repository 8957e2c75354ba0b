using System.Text;

namespace P2P.Host.Direct;

/// <summary>
/// Cuts what the user types into lines to send as they are, newline included (the original sends each
/// <c>getline</c> result). Characters after the last newline wait for more input, or for <see cref="TakeRest"/> at
/// end of input.
/// </summary>
public sealed class LineSplitter
{
    private readonly StringBuilder _pending = new();

    /// <summary>Adds typed characters and returns the lines they complete, each ending with "\n".</summary>
    public IReadOnlyList<string> Append(ReadOnlySpan<char> typed)
    {
        List<string>? lines = null;
        while (typed.IndexOf('\n') is var newline and >= 0)
        {
            _pending.Append(typed[..(newline + 1)]);
            (lines ??= []).Add(_pending.ToString());
            _pending.Clear();
            typed = typed[(newline + 1)..];
        }
        _pending.Append(typed);
        return lines ?? (IReadOnlyList<string>)[];
    }

    /// <summary>What was typed after the last newline (sent as is at end of input), or null when nothing was.</summary>
    public string? TakeRest()
    {
        if (_pending.Length == 0) return null;
        var rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }
}
