using System.Net;

namespace P2P.Actors.Turn;

/// <summary>A TURN server, the credentials to use on it, and how to reach it (UDP, or TCP where UDP is blocked, RFC 8656 §3.1).</summary>
public sealed record TurnServer(IPEndPoint Server, TurnCredentials Credentials, TurnTransport Transport = TurnTransport.Udp);
