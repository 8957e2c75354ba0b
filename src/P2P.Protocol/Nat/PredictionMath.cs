namespace P2P.Protocol.Nat;

/// <summary>
/// The birthday arithmetic of port prediction: with <c>m</c> mappings open among <see cref="PortRange"/> ports that a
/// NAT draws from, each probe to a port not probed before meets one with probability about m/R, so after p probes
/// the chance of at least one meeting is 1 - (1 - m/R)^p (sampling without replacement makes it a little higher).
/// With Tailscale's 256 mappings, 1,024 probes give about 98%.
/// </summary>
public static class PredictionMath
{
    /// <summary>The lowest port a NAT hands out (Linux masquerade picks from 1024 up).</summary>
    public const int LowestPort = 1024;

    /// <summary>How many ports a NAT with random allocation draws from: 1024-65535.</summary>
    public const int PortRange = 65536 - LowestPort;

    /// <summary>The chance that at least one of <paramref name="probes"/> distinct random ports meets one of <paramref name="mappings"/> open ones.</summary>
    public static double BirthdaySuccess(int mappings, int probes, int range = PortRange)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mappings);
        ArgumentOutOfRangeException.ThrowIfNegative(probes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(range);
        if (mappings == 0 || probes == 0) return 0;
        if (mappings >= range || probes > range - mappings) return 1;
        // exact, without replacement: the chance that every probe misses is prod_{i<p} (R - m - i) / (R - i)
        double logMiss = 0;
        for (int i = 0; i < probes; i++) logMiss += Math.Log((double)(range - mappings - i) / (range - i));
        return 1 - Math.Exp(logMiss);
    }

    /// <summary>The fewest probes that reach <paramref name="success"/> (0 to 1, exclusive of 1) with <paramref name="mappings"/> open.</summary>
    public static int ProbesFor(int mappings, double success, int range = PortRange)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mappings);
        if (success is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(success), success, "a chance between 0 and 1");
        int low = 0, high = range - mappings + 1;
        while (low < high)
        {
            int mid = low + (high - low) / 2;
            if (BirthdaySuccess(mappings, mid, range) >= success) high = mid;
            else low = mid + 1;
        }
        return low;
    }
}
