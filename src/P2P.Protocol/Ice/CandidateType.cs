namespace P2P.Protocol.Ice;

/// <summary>The four kinds of ICE candidate (RFC 8445 §5.1.1; SDP names from RFC 8839 §5.1).</summary>
public enum CandidateType
{
    /// <summary>"host": an address on a local interface.</summary>
    Host,
    /// <summary>"srflx": the address a STUN server saw, outside the outermost NAT.</summary>
    ServerReflexive,
    /// <summary>"prflx": an address learned from a connectivity check (RFC 8445 §7.2.5.3.1, §7.3.1.3).</summary>
    PeerReflexive,
    /// <summary>"relay": an address allocated on a TURN server.</summary>
    Relayed,
}

/// <summary>The transport protocol of a candidate: UDP (RFC 8445) or TCP (RFC 6544).</summary>
public enum CandidateTransport
{
    Udp,
    Tcp,
}

/// <summary>The "tcptype" of a TCP candidate (RFC 6544 §4.5); <see cref="None"/> for UDP candidates.</summary>
public enum TcpCandidateType
{
    None,
    /// <summary>"active": opens connections, does not accept them (its port is written as 9).</summary>
    Active,
    /// <summary>"passive": accepts connections, does not open them.</summary>
    Passive,
    /// <summary>"so": simultaneous open, both ends connect at once.</summary>
    SimultaneousOpen,
}

/// <summary>The SDP spellings of the candidate enums (RFC 8839 §5.1, RFC 6544 §4.5).</summary>
public static class CandidateNames
{
    public static string ToSdp(this CandidateType type) => type switch
    {
        CandidateType.Host => "host",
        CandidateType.ServerReflexive => "srflx",
        CandidateType.PeerReflexive => "prflx",
        CandidateType.Relayed => "relay",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParseType(string text, out CandidateType type)
    {
        switch (text.ToLowerInvariant())
        {
            case "host": type = CandidateType.Host; return true;
            case "srflx": type = CandidateType.ServerReflexive; return true;
            case "prflx": type = CandidateType.PeerReflexive; return true;
            case "relay": type = CandidateType.Relayed; return true;
            default: type = default; return false;
        }
    }

    /// <summary>"UDP" or "TCP", upper case as libnice and RFC 8839's examples write them.</summary>
    public static string ToSdp(this CandidateTransport transport) => transport switch
    {
        CandidateTransport.Udp => "UDP",
        CandidateTransport.Tcp => "TCP",
        _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, null),
    };

    /// <summary>Case-insensitive: the SDP grammar writes "UDP", browsers write "udp".</summary>
    public static bool TryParseTransport(string text, out CandidateTransport transport)
    {
        if (text.Equals("UDP", StringComparison.OrdinalIgnoreCase)) { transport = CandidateTransport.Udp; return true; }
        if (text.Equals("TCP", StringComparison.OrdinalIgnoreCase)) { transport = CandidateTransport.Tcp; return true; }
        transport = default;
        return false;
    }

    public static string ToSdp(this TcpCandidateType type) => type switch
    {
        TcpCandidateType.Active => "active",
        TcpCandidateType.Passive => "passive",
        TcpCandidateType.SimultaneousOpen => "so",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParseTcpType(string text, out TcpCandidateType type)
    {
        switch (text.ToLowerInvariant())
        {
            case "active": type = TcpCandidateType.Active; return true;
            case "passive": type = TcpCandidateType.Passive; return true;
            case "so": type = TcpCandidateType.SimultaneousOpen; return true;
            default: type = TcpCandidateType.None; return false;
        }
    }
}
