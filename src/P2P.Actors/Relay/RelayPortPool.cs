namespace P2P.Actors.Relay;

/// <summary>
/// The relayed ports in use (RFC 8656 §7.2: ports come from a range, by default 49152-65535). Owned by
/// the <see cref="RelayServer"/> actor alone. Ports are picked from a random start so that they are not
/// predictable, then by linear probing.
/// </summary>
public sealed class RelayPortPool(int minPort, int maxPort)
{
    private readonly HashSet<int> _used = [];

    public int InUse => _used.Count;

    public bool TryTake(bool even, out int port)
    {
        int size = maxPort - minPort + 1;
        int start = Random.Shared.Next(size);
        for (int i = 0; i < size; i++)
        {
            int candidate = minPort + (start + i) % size;
            if (even && (candidate & 1) != 0) continue;
            if (_used.Contains(candidate)) continue;
            _used.Add(candidate);
            port = candidate;
            return true;
        }
        port = 0;
        return false;
    }

    /// <summary>
    /// RFC 8656 §7.2 (EVEN-PORT with the R bit): an even port whose next port is free too; takes both, the next
    /// one for the reservation.
    /// </summary>
    public bool TryTakePair(out int even)
    {
        int first = minPort + (minPort & 1), pairs = (maxPort - first + 1) / 2;
        if (pairs > 0)
        {
            int start = Random.Shared.Next(pairs);
            for (int i = 0; i < pairs; i++)
            {
                int candidate = first + 2 * ((start + i) % pairs);
                if (_used.Contains(candidate) || _used.Contains(candidate + 1)) continue;
                _used.Add(candidate);
                _used.Add(candidate + 1);
                even = candidate;
                return true;
            }
        }
        even = 0;
        return false;
    }

    public void Release(int port) => _used.Remove(port);
}
