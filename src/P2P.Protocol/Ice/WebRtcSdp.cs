using System.Text;
using System.Text.RegularExpressions;

namespace P2P.Protocol.Ice;

/// <summary>
/// The session description a WebRTC stack expects for one data-channel section (RFC 8829 JSEP, RFC 8841 SCTP
/// over DTLS in SDP, RFC 8839 ICE attributes, RFC 8842 a=setup/a=fingerprint): the ICE description of a session
/// wrapped in the session header and one <c>m=application … UDP/DTLS/SCTP webrtc-datachannel</c> section.
/// Reading a WebRTC description needs nothing beyond <see cref="IceDescription.TryParse(string, out IceDescription, out IceDescriptionError?)"/>
/// (it ignores the lines it does not know) and <see cref="TryGetMid"/>.
/// </summary>
public static partial class WebRtcSdp
{
    public const int SctpPort = 5000;

    /// <summary>Writes the description; <paramref name="mid"/> must be the offer's when answering (RFC 8843 bundles on it).</summary>
    public static string Write(IceDescription ice, string mid = "0", int maxMessageSize = 262_144, ulong sessionId = 1)
    {
        var sb = new StringBuilder();
        sb.Append("v=0\r\n");
        sb.Append($"o=- {sessionId} 2 IN IP4 127.0.0.1\r\n");
        sb.Append("s=-\r\nt=0 0\r\n");
        sb.Append($"a=group:BUNDLE {mid}\r\n");
        sb.Append("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
        sb.Append("c=IN IP4 0.0.0.0\r\n");
        sb.Append($"a=mid:{mid}\r\n");
        sb.Append($"a=sctp-port:{SctpPort}\r\n");
        sb.Append($"a=max-message-size:{maxMessageSize}\r\n");
        // the ICE, DTLS and candidate lines of the session, without their own blank line
        foreach (var line in ice.Write().Split('\n'))
        {
            var trimmed = line.TrimEnd('\r');
            // a=ice-pacing belongs to our own descriptions; a browser's offer carries none and the default applies
            if (trimmed.Length > 0 && !trimmed.StartsWith("a=ice-pacing:", StringComparison.Ordinal)) sb.Append(trimmed).Append("\r\n");
        }
        return sb.ToString();
    }

    /// <summary>The a=mid of the first m= section (the one a data channel uses).</summary>
    public static bool TryGetMid(string sdp, out string mid)
    {
        var match = MidLine().Match(sdp);
        mid = match.Success ? match.Groups[1].Value.Trim() : string.Empty;
        return match.Success;
    }

    [GeneratedRegex(@"^a=mid:(\S+)", RegexOptions.Multiline)]
    private static partial Regex MidLine();
}
