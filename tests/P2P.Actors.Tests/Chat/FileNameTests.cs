using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Chat;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Chat;

/// <summary>
/// Which names a peer may offer (<see cref="OfferedName"/>) and which files this side may send: ordinary names pass,
/// paths and names that disguise themselves do not, and only regular files are sent.
/// </summary>
public sealed class FileNameTests : TestKit
{
    private readonly ITestOutputHelper _output;

    public FileNameTests(ITestOutputHelper output) : base(string.Empty, output)
    {
        _output = output;
    }

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("report..v2.pdf")]
    [InlineData("meeting 10:30.txt")]
    [InlineData("...")]
    [InlineData("a*b?.txt")]
    [InlineData("naïve 文件 ✓.txt")]
    [InlineData("family 👨‍👩‍👧.jpg")] // zero-width joiners inside an emoji are part of the name
    [InlineData(".hidden")]
    public void Ordinary_names_are_accepted(string name) => Assert.Null(OfferedName.Problem(name));

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/dir.txt")]
    [InlineData("..\\evil")]
    [InlineData("C:\\evil")]
    public void Paths_are_refused_as_leaving_the_download_folder(string name) =>
        Assert.Contains("outside the download folder", OfferedName.Problem(name));

    [Theory]
    [InlineData("invoice\u202Efdp.exe", "U+202E")]   // RIGHT-TO-LEFT OVERRIDE: shown as "invoiceexe.pdf"
    [InlineData("photo\u2067gpj.\u2069exe", "U+2067")] // RIGHT-TO-LEFT ISOLATE
    [InlineData("a\u200Fb.txt", "U+200F")]            // RIGHT-TO-LEFT MARK
    [InlineData("bell\u0007.txt", "U+0007")]
    [InlineData("line\nbreak.txt", "U+000A")]
    [InlineData("esc\u001B[31mred.txt", "U+001B")]
    [InlineData("sep\u2028arator.txt", "U+2028")]
    [InlineData("nul\0byte", "U+0000")]
    public void Control_and_bidirectional_characters_are_refused_and_shown_escaped(string name, string shown)
    {
        var problem = OfferedName.Problem(name);
        Assert.NotNull(problem);
        _output.WriteLine(problem);
        Assert.Contains(shown, problem);
        Assert.DoesNotContain(problem!, c => char.IsControl(c) || c is '\u202E' or '\u2067' or '\u2069' or '\u200F' or '\u2028');
    }

    private ChatProtocol.FileFailed SendAndFail(string path)
    {
        var settings = ChatSettings.Default with { DownloadFolder = Path.GetTempPath() };
        var chat = Sys.ActorOf(ChatSession.Props(settings, TestActor));
        chat.Tell(new ChatProtocol.SendFile(path));
        var reply = FishForMessage(m => m is ChatProtocol.FileFailed or ChatProtocol.FileOfferSent, Timeout);
        return Assert.IsType<ChatProtocol.FileFailed>(reply);
    }

    [Fact]
    public void A_directory_is_named_as_one()
    {
        using var temp = new TempFolder();
        var folder = temp.Sub("holiday photos");
        var failed = SendAndFail(folder);
        _output.WriteLine(failed.Reason);
        Assert.Contains(folder, failed.Reason);
        Assert.Contains("is a directory", failed.Reason);
    }

    [Theory]
    [InlineData("/proc/self/status")]  // a regular file whose size says 0 B though it has content
    [InlineData("/dev/null")]          // a character device
    [InlineData("/dev/zero")]          // a character device without end: must not be read forever
    public void Files_that_are_not_regular_files_are_refused(string path)
    {
        var failed = SendAndFail(path);
        _output.WriteLine(failed.Reason);
        Assert.Contains(path, failed.Reason);
        Assert.Contains("not a regular file", failed.Reason);
    }
}
