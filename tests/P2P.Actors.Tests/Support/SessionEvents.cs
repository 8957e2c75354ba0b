using System.Text;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;

namespace P2P.Actors.Tests.Support;

/// <summary>Waiting on session events in real time (loopback and interop tests; virtual-time tests pump the scheduler instead).</summary>
public static class SessionEvents
{
    /// <summary>Collects sessions and selected pairs until <paramref name="count"/> sessions are connected; a failure ends the test with its reason.</summary>
    public static (Dictionary<string, IActorRef> Sessions, Dictionary<string, SelectedPair> Pairs) AwaitConnected(TestProbe events, int count, TimeSpan timeout)
    {
        var sessions = new Dictionary<string, IActorRef>();
        var pairs = new Dictionary<string, SelectedPair>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Started s) sessions[s.SessionId] = s.Session;
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            if (m is SessionProtocol.Connected c) pairs[c.SessionId] = c.Pair;
            return pairs.Count == count;
        }, timeout);
        return (sessions, pairs);
    }

    /// <summary>Sends one text from each named session and returns what each received, by session id.</summary>
    public static Dictionary<string, string> Exchange(TestProbe events, IReadOnlyDictionary<string, IActorRef> sessions, IReadOnlyDictionary<string, string> texts, TimeSpan timeout)
    {
        foreach (var (id, text) in texts) sessions[id].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes(text)));
        var received = new Dictionary<string, string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.DataReceived d) received[d.SessionId] = Encoding.UTF8.GetString(d.Data.Span);
            return received.Count == texts.Count;
        }, timeout);
        return received;
    }
}
