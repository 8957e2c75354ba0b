using System.Globalization;
using P2P.Actors.Tests.Browser;
using P2P.Actors.Tests.Support;
using PuppeteerSharp;
using Xunit;

namespace P2P.Actors.Tests.Lab;

/// <summary>
/// The chat page in the NAT lab (issue 15): in the same class as the matrix, so that xunit never runs it beside another
/// lab test (the lab's namespaces are one per machine).
/// </summary>
public sealed partial class NatLabMatrixTests
{
    /// <param name="browserFirst">Who is first in the room, and so the controlling agent that nominates the pair.</param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_browser_behind_a_port_restricted_NAT_chats_with_p2p_behind_a_symmetric_NAT_through_TURN(bool browserFirst)
    {
        // Chromium in lab-a (router A port-restricted), p2p in lab-b (router B symmetric): no direct path exists, so the
        // pair must be relayed, through p2p's allocation on coturn to the browser's server-reflexive address. The page
        // gets coturn as its STUN server from the link (?ice=stun:...). The page is opened straight from p2p signal on the
        // public side, as a real user opens it from a server; Chromium is told to treat that one origin as secure, which
        // stands in for the HTTPS a real server has (the page needs a secure context for SubtleCrypto).
        // Not the browser's own TURN (?ice=turn:...): here Chromium drops its allocation within a second of making it
        // (coturn's log: the session closed, reason "general", in passing and failing runs alike), and a run fails
        // whenever the pair chosen first was p2p's host -> the browser's relay: 3 runs of 7 with the page first, 1 of 5 with p2p
        // first, seen before this test took STUN only. Left for the lead (issue 15).
        const string room = "browser-port-restricted-symmetric";
        string origin = $"http://{Signal443}:{HttpsPort}";
        string stun = $"stun:{Server}:{CoturnPort}";
        try
        {
            await Lab("up", "port-restricted", "symmetric");
            await using var signal = await StartSignalAsync();
            await using var chromium = await ChromiumInNamespace.LaunchAsync("lab-a", mdnsHiding: false, [$"--unsafely-treat-insecure-origin-as-secure={origin}"]);
            var page = await chromium.NewPageAsync();
            page.Console += (_, e) => output.WriteLine($"page console: {e.Message.Type}: {e.Message.Text}");
            page.PageError += (_, e) => output.WriteLine($"page error: {e.Message}");
            var shown = new WaitForSelectorOptions { Timeout = (int)Wait.TotalMilliseconds };

            if (browserFirst)
            {
                await page.GoToAsync($"{origin}/?room={room}&ice={stun}");
                await page.WaitForSelectorAsync("body[data-state='waiting']", shown);
            }
            await using var p2p = P2pProcess.StartThrough("bash", [LabScript, "exec", "b"],
            [
                "--signal", $"ws://{Signal443}:{HttpsPort}/", "--room", room, "--stun", Server, "--stun-port", CoturnPort.ToString(CultureInfo.InvariantCulture),
                "--turn", Server, "--turn-port", CoturnPort.ToString(CultureInfo.InvariantCulture), "--turn-user", "lab", "--turn-pass", "labpass", "--timeout", "30",
            ]);
            try
            {
                if (!browserFirst)
                {
                    await p2p.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                    await page.GoToAsync($"{origin}/?room={room}&ice={stun}");
                }
                Assert.True(await page.EvaluateExpressionAsync<bool>("window.isSecureContext"), $"{origin} is not a secure context for the page");
                await p2p.WaitForLineAsync(l => l == "Connected", Wait);
                var over = await p2p.WaitForLineAsync(l => l.StartsWith("Connected over ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                output.WriteLine("p2p: " + over);
                Assert.StartsWith("Connected over relay ", over, StringComparison.Ordinal); // p2p's allocation
                await page.WaitForSelectorAsync("body[data-state='connected']", shown);
                var until = new WaitForFunctionOptions { Timeout = (int)Wait.TotalMilliseconds, PollingInterval = 50 };
                await page.WaitForFunctionAsync("() => document.getElementById('pair').dataset.local !== undefined", until);
                string pair = await page.EvaluateExpressionAsync<string>("document.getElementById('pair').textContent");
                string remote = await page.EvaluateExpressionAsync<string>("document.getElementById('pair').dataset.remote");
                output.WriteLine("page: " + pair);
                Assert.Equal("relay", remote);
                Assert.Contains("relay", pair, StringComparison.Ordinal);

                await page.TypeAsync("#text", "hello from behind NAT A");
                await page.Keyboard.PressAsync("Enter");
                await p2p.WaitForLineAsync(l => l == "Received: hello from behind NAT A", Wait);
                await p2p.WriteLineAsync("hello from behind NAT B");
                await page.WaitForFunctionAsync("t => [...document.querySelectorAll('#lines li.peer .text')].some(e => e.textContent === t)", until, "hello from behind NAT B");
                p2p.CloseStdin();
                await p2p.WaitForExitAsync(Wait);
            }
            catch
            {
                output.WriteLine(p2p.Transcript);
                output.WriteLine(signal.Transcript);
                var turnLog = Path.Combine(LabState, "turnserver.log"); // what coturn saw of both allocations (P2P_LAB_COTURN_ARGS=--verbose for more)
                if (File.Exists(turnLog)) output.WriteLine(await File.ReadAllTextAsync(turnLog));
                throw;
            }
        }
        finally
        {
            await Lab("down");
        }
    }
}
