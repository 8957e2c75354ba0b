using System.Text;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;

namespace P2P.Actors.Relay;

/// <summary>
/// The relay's users of the TURN REST API (<see cref="TurnRestCredentials"/>): no list, only shared secrets. A username
/// "expiry:user" that has not expired has one candidate password per secret (several while a fleet rotates them); the
/// server tries their long-term keys on the request's MESSAGE-INTEGRITY and remembers the username that passed, with
/// its expiry, so that later requests are checked against the clock again. Expired usernames no allocation uses are
/// forgotten in sweeps whose interval grows with the number remembered. A plain class owned by <see cref="RelayServer"/>.
/// </summary>
internal sealed class RelayRestUsers(IReadOnlyList<string> secrets, string realm)
{
    private readonly byte[][] _secrets = secrets.Select(Encoding.UTF8.GetBytes).ToArray();
    private readonly Dictionary<string, long> _expiry = new(StringComparer.Ordinal);
    private int _sweepAt = 64;

    public bool Enabled => _secrets.Length > 0;

    /// <summary>The remembered REST usernames (each also a user of the server until swept).</summary>
    public int Count => _expiry.Count;

    /// <summary>True when <paramref name="username"/> is a remembered REST username whose expiry is before <paramref name="now"/> (Unix seconds).</summary>
    public bool HasExpired(string username, long now) => _expiry.TryGetValue(username, out long expiresAt) && expiresAt < now;

    /// <summary>
    /// The long-term keys (MD5, SHA-256; RFC 8489 §9.2.2) <paramref name="username"/> may have, one pair per secret, when
    /// it is a REST username that has not expired at <paramref name="now"/>; else why not.
    /// </summary>
    public TurnRestCheck CandidateKeys(string username, long now, List<(byte[] Md5, byte[] Sha256)> keys)
    {
        keys.Clear();
        foreach (var secret in _secrets)
        {
            var check = TurnRestCredentials.Check(secret, username, now, out var password);
            if (check != TurnRestCheck.Valid) return check;
            if (StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Md5, username, realm, password, out var md5, out _)
                && StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Sha256, username, realm, password, out var sha, out _))
                keys.Add((md5, sha));
        }
        return TurnRestCheck.Valid;
    }

    /// <summary>Remembers a username whose password was right; the expiry is read from it.</summary>
    public void Remember(string username)
    {
        if (TurnRestCredentials.TryParse(username, out long expiresAt, out _)) _expiry[username] = expiresAt;
    }

    /// <summary>
    /// When enough usernames are remembered: the expired ones that <paramref name="inUse"/> says no allocation uses,
    /// forgotten here and returned for the server to drop.
    /// </summary>
    public IReadOnlyList<string> Sweep(long now, Func<string, bool> inUse)
    {
        if (_expiry.Count < _sweepAt) return [];
        var gone = _expiry.Where(kv => kv.Value < now && !inUse(kv.Key)).Select(kv => kv.Key).ToList();
        foreach (var name in gone) _expiry.Remove(name);
        _sweepAt = Math.Max(64, _expiry.Count * 2);
        return gone;
    }
}
