using System.CommandLine;
using P2P.Host.Commands;

// The `p2p` executable: one subcommand per mode, each in its own file under Commands/.
var root = new RootCommand("p2p: peer-to-peer messaging across NATs, with its own STUN/TURN/ICE stack on Akka.NET.\n"
    + "  server:  p2p -s [--no-ice] [-p 8080]        client:  p2p [-c 127.0.0.1] [--no-ice] [-p 8080]");
root.Subcommands.Add(RelayCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(SignalCommand.Create());
root.Subcommands.Add(HostCommand.Create());
root.Subcommands.Add(NatTypeCommand.Create());
// Without a subcommand: the original program's command line, one chat with one peer.
ChatCommand.Configure(root);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // One clear sentence, not a wall of help.
    var where = parsed.CommandResult.Command == root ? "p2p" : $"p2p {parsed.CommandResult.Command.Name}";
    Console.Error.WriteLine($"{where}: {parsed.Errors[0].Message.TrimEnd('.')}. See '{where} --help'.");
    return 2;
}
// Ctrl+C and SIGTERM are handled by the generic host of each command, not by the parser.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
