using System.Net;
using P2P.Actors.Transport.Tls;

namespace P2P.Actors.Turn;

/// <summary>A TURN server, the credentials to use on it, and how to reach it (UDP, or TCP or TLS where UDP is blocked, RFC 8656 §3.1).</summary>
/// <param name="Tls">With <see cref="TurnTransport.Tls"/>: how its certificate is checked; null: the system trust store, for the
/// server's address as its name.</param>
public sealed record TurnServer(IPEndPoint Server, TurnCredentials Credentials, TurnTransport Transport = TurnTransport.Udp, TlsClientOptions? Tls = null)
{
    /// <summary>The TLS options of a <see cref="TurnTransport.Tls"/> server (given, or the system store for its address); null otherwise.</summary>
    public TlsClientOptions? TlsOptions => Transport == TurnTransport.Tls ? Tls ?? new TlsClientOptions(Server.Address.ToString()) : null;
}
