using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;

namespace P2P.Protocol.Tests.Turn;

public class TurnRestCredentialsTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("north-secret");

    // Computed independently: printf '%s' "$username" | openssl dgst -sha1 -hmac north-secret -binary | base64,
    // and python3's hmac/hashlib for the long-term keys (MD5 of "username:p2p:password").
    [Theory]
    [InlineData("1700000000:alice", "g+jb180fcj+xlpA/2mP60OdIgU0=", "b0478b042f29a7aa0f9e000a7b5c9885")]
    [InlineData("4102444800", "/tcfNoUi1q2ZGJiN6ol0KCLjM44=", "17ca7da2eba844d7b717a2c75dc10f73")]
    [InlineData("1735689600:room-7f3a", "45po13ENMA0W7biIaUZ4phG87dM=", "e032deecb36a2d1b9265680d20f17569")]
    public void Password_and_long_term_key_match_an_independent_computation(string username, string password, string md5Key)
    {
        Assert.Equal(password, TurnRestCredentials.Password(Secret, username));
        Assert.True(StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Md5, username, "p2p", password, out var key, out _));
        Assert.Equal(md5Key, Convert.ToHexString(key).ToLowerInvariant());
    }

    [Fact]
    public void Mint_writes_expiry_colon_user()
    {
        var (username, password) = TurnRestCredentials.Mint(Secret, "alice", 1700000000);
        Assert.Equal("1700000000:alice", username);
        Assert.Equal("g+jb180fcj+xlpA/2mP60OdIgU0=", password);
        Assert.Equal("4102444800", TurnRestCredentials.Mint(Secret, "", 4102444800).Username);
    }

    [Fact]
    public void Check_accepts_up_to_the_expiry_second_and_refuses_after_it()
    {
        Assert.Equal(TurnRestCheck.Valid, TurnRestCredentials.Check(Secret, "1700000000:alice", 1700000000, out var password));
        Assert.Equal("g+jb180fcj+xlpA/2mP60OdIgU0=", password);
        Assert.Equal(TurnRestCheck.Expired, TurnRestCredentials.Check(Secret, "1700000000:alice", 1700000001, out password));
        Assert.Equal(string.Empty, password);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("alice:1700000000")]
    [InlineData(":alice")]
    [InlineData("")]
    [InlineData("-5:alice")]
    [InlineData("+5:alice")]
    [InlineData("17e9:alice")]
    [InlineData("99999999999999999999:alice")]
    [InlineData("１７:alice")]
    public void A_username_without_a_leading_expiry_is_not_a_rest_username(string username)
    {
        Assert.Equal(TurnRestCheck.NotRestUsername, TurnRestCredentials.Check(Secret, username, 0, out var password));
        Assert.Equal(string.Empty, password);
    }

    [Fact]
    public void The_user_part_may_itself_contain_the_separator()
    {
        Assert.True(TurnRestCredentials.TryParse("1700000000:room:alice", out long expiry, out var user));
        Assert.Equal(1700000000, expiry);
        Assert.Equal("room:alice", user);
    }

    [Property(MaxTest = 300)]
    public void Minted_credentials_check_until_their_expiry_and_not_after(NonNegativeInt expiryDays, NonEmptyString user, NonEmptyString secret, NonNegativeInt before)
    {
        long expiry = 1_600_000_000L + expiryDays.Get;
        var key = Encoding.UTF8.GetBytes(secret.Get);
        var (username, password) = TurnRestCredentials.Mint(key, user.Get, expiry);
        Assert.True(TurnRestCredentials.TryParse(username, out long parsed, out var parsedUser));
        Assert.Equal(expiry, parsed);
        Assert.Equal(user.Get, parsedUser);
        Assert.Equal(TurnRestCheck.Valid, TurnRestCredentials.Check(key, username, expiry - before.Get, out var checkedPassword));
        Assert.Equal(password, checkedPassword);
        Assert.Equal(TurnRestCheck.Expired, TurnRestCredentials.Check(key, username, expiry + 1 + before.Get, out _));
    }

    [Property(MaxTest = 300)]
    public void Another_secret_or_another_username_gives_another_password(NonEmptyString user, NonEmptyString secret, PositiveInt later)
    {
        var key = Encoding.UTF8.GetBytes(secret.Get);
        var (username, password) = TurnRestCredentials.Mint(key, user.Get, 1_700_000_000);
        Assert.NotEqual(password, TurnRestCredentials.Password(Encoding.UTF8.GetBytes(secret.Get + "x"), username));
        Assert.NotEqual(password, TurnRestCredentials.Mint(key, user.Get, 1_700_000_000L + later.Get).Password);
    }
}
