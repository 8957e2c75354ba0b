using System.Text;

namespace P2P.Host.Direct;

/// <summary>
/// Turns the bytes that arrive into what the user reads: one "Received: text" per received line, and one for a
/// chunk that ends without a newline (as the original prints every <c>recv</c>). UTF-8, with a character split
/// across two chunks kept until its last byte arrives; a "\r" before the newline is not shown.
/// </summary>
public sealed class ReceivedText
{
    public const string Prefix = "Received: ";

    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetDecoder();

    /// <summary>The lines to print for one received chunk (none when it holds only part of a character).</summary>
    public IReadOnlyList<string> Lines(ReadOnlySpan<byte> chunk)
    {
        // A byte never makes more than one char, except the few left over from the previous chunk.
        int room = chunk.Length + 4;
        Span<char> chars = room <= 1024 ? stackalloc char[room] : new char[room];
        int count = _decoder.GetChars(chunk, chars, flush: false);
        ReadOnlySpan<char> text = chars[..count];
        var lines = new List<string>();
        while (text.Length > 0)
        {
            int newline = text.IndexOf('\n');
            var line = newline >= 0 ? text[..newline] : text;
            if (line.EndsWith("\r")) line = line[..^1];
            lines.Add(string.Concat(Prefix, line));
            text = newline >= 0 ? text[(newline + 1)..] : [];
        }
        return lines;
    }
}
