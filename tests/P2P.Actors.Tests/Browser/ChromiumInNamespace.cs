using PuppeteerSharp;

namespace P2P.Actors.Tests.Browser;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, no download), headless, started inside a <see cref="BrowserNetwork"/> and
/// driven by PuppeteerSharp over the DevTools pipe (<c>--remote-debugging-pipe</c>: two inherited file descriptors, so
/// the driver in the root namespace needs no route to a debugging port inside the browser's namespace). The
/// executable PuppeteerSharp starts is a two-line script that execs <c>ip netns exec &lt;ns&gt; chromium</c>: the
/// browser keeps the script's process id and its pipes.
/// </summary>
public sealed class ChromiumInNamespace : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private readonly string _folder;

    private ChromiumInNamespace(IBrowser browser, string folder)
    {
        Browser = browser;
        _folder = folder;
    }

    public IBrowser Browser { get; }

    /// <summary>Where downloads land (set per page with <see cref="NewPageAsync"/>).</summary>
    public string Downloads => Path.Combine(_folder, "downloads");

    /// <param name="mdnsHiding">Chromium's default hides host candidates behind mDNS names; false turns that off.</param>
    public static Task<ChromiumInNamespace> LaunchAsync(BrowserNetwork network, bool mdnsHiding = false) => LaunchAsync(network.Name, mdnsHiding, []);

    /// <param name="namespaceName">Any network namespace with a default route (the NAT lab's lab-a, say).</param>
    /// <param name="extraArgs">More Chromium switches.</param>
    public static async Task<ChromiumInNamespace> LaunchAsync(string namespaceName, bool mdnsHiding, IReadOnlyList<string> extraArgs)
    {
        Xunit.Assert.True(File.Exists(Executable), $"{Executable} is missing: test.sh installs Debian's chromium package");
        var folder = Directory.CreateTempSubdirectory("p2p-page-").FullName;
        var launcher = Path.Combine(folder, "chromium-in-namespace");
        await File.WriteAllTextAsync(launcher, $"#!/bin/sh\nexec ip netns exec {namespaceName} {Executable} \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(Path.Combine(folder, "downloads"));
        var args = new List<string> { "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update" };
        if (!mdnsHiding) args.Add("--disable-features=WebRtcHideLocalIpsWithMdns");
        args.AddRange(extraArgs);
        var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = launcher,
            Headless = true,
            Pipe = true,
            Args = [.. args],
            UserDataDir = Path.Combine(folder, "profile"),
            Timeout = 60_000,
        });
        return new ChromiumInNamespace(browser, folder);
    }

    /// <summary>A new tab whose downloads are saved into <see cref="Downloads"/> without asking.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var page = await Browser.NewPageAsync();
        await page.Client.SendAsync("Page.setDownloadBehavior", new Dictionary<string, object> { ["behavior"] = "allow", ["downloadPath"] = Downloads });
        await page.SetViewportAsync(new ViewPortOptions { Width = 900, Height = 640 });
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        try { await Browser.CloseAsync(); }
        catch (Exception) { /* already gone */ }
        Browser.Dispose();
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }
}
