using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Chat;
using P2P.Actors.Sessions;

namespace P2P.Actors.Tests.Chat;

/// <summary>
/// The owner of one side's <see cref="ChatSession"/> in tests: chat events go to that side's probe, session events
/// (forwarded by the chat) to the shared <see cref="Support.SessionLink"/>, which signals and tells the observer.
/// </summary>
public sealed class ChatSide : ReceiveActor
{
    public ChatSide(IActorRef link, IActorRef chatEvents) =>
        ReceiveAny(m => (m is ChatProtocol.IChatEvent ? chatEvents : link).Forward(m));

    public static Props Props(IActorRef link, IActorRef chatEvents) => Akka.Actor.Props.Create(() => new ChatSide(link, chatEvents));
}

/// <summary>A per-test folder under the temp directory, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public string Root { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "p2p-chat-" + Guid.NewGuid().ToString("N")[..12])).FullName;

    public string Sub(string name) => Directory.CreateDirectory(Path.Combine(Root, name)).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // a handle closing late; the temp folder is cleaned by the system
        }
    }
}

public static class ChatAssertions
{
    /// <summary>
    /// Waits until <paramref name="count"/> lines arrived on <paramref name="probe"/> and <paramref name="count"/> of the
    /// lines sent from there were acknowledged; returns the texts received, in order, and the ids delivered.
    /// </summary>
    public static (List<string> Received, List<long> Delivered) AwaitLines(TestProbe probe, int count, TimeSpan timeout)
    {
        var received = new List<string>();
        var delivered = new List<long>();
        probe.FishForMessage(m =>
        {
            if (m is ChatProtocol.MessageReceived r) received.Add(r.Text);
            if (m is ChatProtocol.MessageDelivered d) delivered.Add(d.Id);
            return received.Count >= count && delivered.Count >= count;
        }, timeout);
        return (received, delivered);
    }

    /// <summary>
    /// The next <typeparamref name="T"/> (matching <paramref name="where"/>) on <paramref name="probe"/>, every message
    /// on the way shown to <paramref name="seen"/>; a <see cref="ChatProtocol.FileFailed"/> on the way fails the test.
    /// </summary>
    public static T Await<T>(TestProbe probe, TimeSpan timeout, Func<T, bool>? where = null, Action<object>? seen = null) where T : class
    {
        T? found = null;
        probe.FishForMessage(m =>
        {
            seen?.Invoke(m);
            if (m is T t && (where?.Invoke(t) ?? true)) found = t;
            else if (m is ChatProtocol.FileFailed f) throw new Xunit.Sdk.XunitException($"file {f.Id} failed: {f.Reason}");
            return found is not null;
        }, timeout);
        return found!;
    }

    /// <summary>Fails the test on a session failure while waiting for <paramref name="events"/> to show the predicate.</summary>
    public static void AwaitSession(TestProbe events, Func<object, bool> until, TimeSpan timeout) =>
        events.FishForMessage(m => m is SessionProtocol.Failed f ? throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}") : until(m), timeout);
}
