using System.CommandLine;
using P2P.Host.Commands;
using Xunit;

namespace P2P.Actors.Tests.Signaling;

/// <summary><c>--signal</c> takes the nodes of a fleet: comma-separated, repeated, or both; each must be a ws:// or wss:// URL.</summary>
public sealed class SignalUrlOptionTests
{
    private static ParseResult Parse(params string[] args)
    {
        var root = new RootCommand();
        ChatCommand.Configure(root);
        return root.Parse(args);
    }

    [Fact]
    public void Several_servers_comma_separated_and_repeated_are_kept_in_order()
    {
        var p = Parse("--signal", "ws://127.0.0.1:8090/, ws://127.0.0.1:8091/", "--signal", "wss://signal.example/", "--room", "r");
        Assert.Empty(p.Errors);
        Assert.Equal(["ws://127.0.0.1:8090/", "ws://127.0.0.1:8091/", "wss://signal.example/"], ChatCommand.Read(p).Signal!.Select(u => u.ToString()));
    }

    [Fact]
    public void One_server_is_still_one_server()
    {
        var p = Parse("--signal", "ws://127.0.0.1:8090/", "--room", "r");
        Assert.Empty(p.Errors);
        Assert.Equal([new Uri("ws://127.0.0.1:8090/")], ChatCommand.Read(p).Signal!);
        Assert.Null(ChatCommand.Read(Parse()).Signal);
    }

    [Theory]
    [InlineData("ws://127.0.0.1:8090/,http://x", "--signal expects a ws:// or wss:// URL, not 'http://x'")]
    [InlineData("ws://127.0.0.1:8090/", "--signal needs --room <name>")]
    public void A_bad_list_is_the_same_one_sentence_as_a_bad_url(string signal, string error)
    {
        var p = Parse(signal.EndsWith('/') ? ["--signal", signal] : ["--signal", signal, "--room", "r"]);
        Assert.Equal(error, Assert.Single(p.Errors).Message);
    }
}
