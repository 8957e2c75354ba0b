using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;

namespace P2P.Host.Commands;

/// <summary>
/// The wiring every `p2p` mode shares: Serilog (console, optional file), and one Akka.NET actor system
/// named "p2p" hosted by Akka.Hosting with the given configuration, so actor logs and host logs are one stream.
/// </summary>
public static class P2PHostBuilder
{
    /// <summary>Reads akka.hocon from the binary folder, then the --config file over it.</summary>
    public static Config LoadConfig(FileInfo? overlay)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "akka.hocon");
        var config = File.Exists(path) ? ConfigurationFactory.ParseString(File.ReadAllText(path)) : Config.Empty;
        if (overlay is not null)
        {
            if (!overlay.Exists) throw new ArgumentException($"the config file {overlay.FullName} does not exist");
            config = ConfigurationFactory.ParseString(File.ReadAllText(overlay.FullName)).WithFallback(config);
        }
        return config;
    }

    /// <summary>Sets the global Serilog logger: console (warnings and up to stderr) at <paramref name="consoleLevel"/>, plus an optional file.</summary>
    public static void ConfigureSerilog(bool verbose, FileInfo? logFile, LogEventLevel consoleLevel = LogEventLevel.Information, bool json = false)
    {
        var minimum = verbose ? LogEventLevel.Debug : LogEventLevel.Information;
        var logConfig = new LoggerConfiguration()
            .MinimumLevel.Is(minimum)
            .WriteTo.Console(restrictedToMinimumLevel: verbose ? LogEventLevel.Debug : consoleLevel, standardErrorFromLevel: LogEventLevel.Warning);
        if (logFile is not null)
            logConfig = json
                ? logConfig.WriteTo.File(new Serilog.Formatting.Compact.CompactJsonFormatter(), logFile.FullName)
                : logConfig.WriteTo.File(logFile.FullName);
        Log.Logger = logConfig.CreateLogger();
    }

    /// <summary>Builds a generic host running the "p2p" actor system; <paramref name="actors"/> creates and registers the top-level actors.</summary>
    public static IHost Build(Config config, bool verbose, Action<ActorSystem, IActorRegistry> actors)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSerilog(Log.Logger);
        builder.Services.AddAkka("p2p", (akka, _) =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = verbose ? LogLevel.DebugLevel : LogLevel.InfoLevel;
                loggers.ClearLoggers();
                loggers.AddLogger<SerilogLogger>();
            });
            akka.WithActors(actors);
        });
        return builder.Build();
    }
}
