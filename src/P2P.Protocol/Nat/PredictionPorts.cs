namespace P2P.Protocol.Nat;

/// <summary>
/// The ports the probing side of port prediction tries, in order. <see cref="Birthday"/>: distinct random ports of
/// 1024-65535 (a port is never probed twice, so no probe is wasted). <see cref="Sequential"/>: the ports a sequential
/// allocator hands out next after the last one observed, a window of them, tried again and again (the other side's
/// mappings open while the probes go, so a port probed too early may be open on the next round).
/// </summary>
public sealed class PredictionPorts
{
    private readonly Random _random;
    private readonly HashSet<int> _tried = [];
    private readonly int[]? _window;
    private int _next;

    private PredictionPorts(Random random, int[]? window)
    {
        _random = random;
        _window = window;
    }

    /// <summary>Distinct random ports; <paramref name="random"/> decides them (seeded in tests).</summary>
    public static PredictionPorts Birthday(Random random) => new(random, null);

    /// <summary>
    /// The <paramref name="window"/> ports after <paramref name="observed"/>, <paramref name="step"/> apart
    /// (observed + step, observed + 2 step, ...; wrapping past 65535 to 1024 as allocators do), in a cycle.
    /// </summary>
    public static PredictionPorts Sequential(int observed, int step, int window)
    {
        if (observed is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(observed), observed, "a port");
        if (step is < 1 or > PredictionPlan.MaxPortStep) throw new ArgumentOutOfRangeException(nameof(step), step, "1 to 1000");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        var ports = new int[window];
        long port = observed;
        for (int i = 0; i < window; i++)
        {
            port += step;
            if (port > 65535) port = PredictionMath.LowestPort + (port - 65536) % PredictionMath.PortRange;
            ports[i] = (int)port;
        }
        return new PredictionPorts(Random.Shared, ports);
    }

    /// <summary>The next port to probe, or null when every port of the range was probed once.</summary>
    public int? Next()
    {
        if (_window is not null) return _window[_next++ % _window.Length];
        if (_tried.Count >= PredictionMath.PortRange) return null;
        while (true)
        {
            int port = PredictionMath.LowestPort + _random.Next(PredictionMath.PortRange);
            if (_tried.Add(port)) return port;
        }
    }
}
