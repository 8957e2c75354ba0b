namespace P2P.Actors.Signaling;

/// <summary>
/// Counters the server's connections add to and <see cref="SignalingConnections"/> reports in its stats (for the
/// operators' metrics): seats granted and messages sent on to a room. Written from the connections' threads, so
/// atomically; owned by the <see cref="SignalingConnections"/> that made them.
/// </summary>
public sealed class SignalingCounters
{
    private long _joins, _relayed;

    /// <summary>Seats granted in rooms (joined messages sent).</summary>
    public long Joins => Interlocked.Read(ref _joins);

    /// <summary>Descriptions, candidates and end-of-candidates a connection handed to its room to relay.</summary>
    public long Relayed => Interlocked.Read(ref _relayed);

    public void Joined() => Interlocked.Increment(ref _joins);

    public void RelayedOne() => Interlocked.Increment(ref _relayed);
}
