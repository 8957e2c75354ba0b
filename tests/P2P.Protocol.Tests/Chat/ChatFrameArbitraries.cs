using System.Text;
using FsCheck;
using FsCheck.Fluent;
using P2P.Protocol.Chat;

namespace P2P.Protocol.Tests.Chat;

/// <summary>Frames of every kind with any values the format allows (text of any Unicode, numbers of any size in range).</summary>
public static class ChatFrameArbitraries
{
    /// <summary>Any text that is valid UTF-16 (a lone surrogate cannot travel as UTF-8: writers put U+FFFD in its place).</summary>
    private static readonly Gen<string> Text = ArbMap.Default.GeneratorFor<string>()
        .Select(s => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s ?? "")));

    private static readonly Gen<string?> OptionalText = Gen.OneOf(Gen.Constant<string?>(null), Text.Select(s => (string?)s));

    private static readonly Gen<string> Sha256 = Gen.ArrayOf(Gen.Elements("0123456789abcdefABCDEF".ToCharArray()), 64).Select(c => new string(c));

    private static readonly Gen<long> Count = ArbMap.Default.GeneratorFor<long>().Select(n => n == long.MinValue ? 0 : Math.Abs(n));

    private static readonly Gen<long> AnyLong = ArbMap.Default.GeneratorFor<long>();

    public static Gen<ChatFrame> FrameGen() => Gen.OneOf(
        from e in Text from n in Count from text in Text select (ChatFrame)new ChatLine(e, n == 0 ? 1 : n, text),
        from e in Text from n in AnyLong select (ChatFrame)new ChatAck(e, n),
        Gen.Constant<ChatFrame>(new ChatSync()),
        from id in Text from name in Text from size in Count from sha in Sha256 select (ChatFrame)new FileOffer(id, name, size, sha),
        Text.Select(id => (ChatFrame)new FileAccept(id)),
        from id in Text from reason in OptionalText select (ChatFrame)new FileReject(id, reason),
        from id in Text from offset in Count select (ChatFrame)new FileReady(id, offset),
        from id in Text from ok in ArbMap.Default.GeneratorFor<bool>() from sha in OptionalText from reason in OptionalText
        select (ChatFrame)new FileDone(id, ok, sha, reason),
        from id in Text from reason in OptionalText select (ChatFrame)new FileCancel(id, reason));

    public static Arbitrary<ChatFrame> Frames() => FrameGen().ToArbitrary();
}
