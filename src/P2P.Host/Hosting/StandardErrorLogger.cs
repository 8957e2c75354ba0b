using Akka.Event;

namespace P2P.Host.Hosting;

/// <summary>
/// Akka's fallback logger (<c>akka.stdout-logger-class</c>), used before Serilog is attached and after it is gone
/// (start, CoordinatedShutdown, remoting's last words). Akka's own writes to stdout, which belongs to the user's chat
/// lines and tables, and it printed INFO lines there despite <c>akka.stdout-loglevel = WARNING</c>:
/// this one writes warnings and errors only, to stderr.
/// </summary>
public sealed class StandardErrorLogger : MinimalLogger
{
    /// <summary>The HOCON value that names this class.</summary>
    public static string ClassName => $"{typeof(StandardErrorLogger).FullName}, {typeof(StandardErrorLogger).Assembly.GetName().Name}";

    protected override void Log(object message)
    {
        if (message is LogEvent e && e.LogLevel() < LogLevel.WarningLevel) return;
        try
        {
            Console.Error.WriteLine(message);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException) { } // stderr gone: nothing to tell
    }
}
