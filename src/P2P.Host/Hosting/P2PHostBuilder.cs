using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;

namespace P2P.Host.Hosting;

/// <summary>
/// The wiring every `p2p` mode shares: Serilog (console, optional file), and one Akka.NET actor system
/// named "p2p" hosted by Akka.Hosting with the given configuration, so actor logs and host logs are one stream.
/// </summary>
public static class P2PHostBuilder
{
    /// <summary>Reads akka.hocon from the binary folder, then the --config file over it.</summary>
    public static Config LoadConfig(FileInfo? overlay) => LoadConfig(overlay, Environment.GetEnvironmentVariables());

    /// <summary>
    /// A server command's start: its config (<see cref="LoadConfig(FileInfo?)"/>) and its settings built from it and the
    /// options. False, after one sentence on stderr ("p2p relay: ..."), when either is wrong.
    /// </summary>
    public static bool TryLoadSettings<TSettings>(string command, FileInfo? overlay, Func<Config, TSettings> build, out Config config, out TSettings settings)
    {
        try
        {
            config = LoadConfig(overlay);
            settings = build(config);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or ConfigurationException or IOException)
        {
            Console.Error.WriteLine($"p2p {command}: {e.Message.TrimEnd('.')}.");
            config = Config.Empty;
            settings = default!;
            return false;
        }
    }

    /// <summary>
    /// akka.hocon from the binary folder, then environment variables over it, then the --config file (options are
    /// applied by each command over all of these). A variable <c>P2P__ICE__CONSENT_TIMEOUT=10s</c> sets
    /// <c>p2p.ice.consent-timeout</c>: "__" separates path segments, "_" stands for "-", names are lower-cased.
    /// </summary>
    public static Config LoadConfig(FileInfo? overlay, System.Collections.IDictionary environment)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "akka.hocon");
        var config = File.Exists(path) ? ConfigurationFactory.ParseString(File.ReadAllText(path)) : Config.Empty;
        var fromEnvironment = new System.Text.StringBuilder();
        foreach (System.Collections.DictionaryEntry variable in environment)
        {
            if (variable.Key is not string name || !name.StartsWith("P2P__", StringComparison.Ordinal) || variable.Value is not string value) continue;
            var segments = name.Split("__", StringSplitOptions.RemoveEmptyEntries).Select(s => s.ToLowerInvariant().Replace('_', '-'));
            var key = string.Join('.', segments);
            if (!System.Text.RegularExpressions.Regex.IsMatch(key, "^[a-z0-9.-]+$"))
                throw new ArgumentException($"the environment variable {name} does not name a setting (letters, digits, '_' and '__' only)");
            fromEnvironment.Append(key).Append(" = ").Append(System.Text.Json.JsonSerializer.Serialize(value)).Append('\n');
        }
        if (fromEnvironment.Length > 0)
        {
            try { config = ConfigurationFactory.ParseString(fromEnvironment.ToString()).WithFallback(config); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ConfigurationException($"the P2P__ environment variables do not form valid settings: {e.Message}");
            }
        }
        if (overlay is not null)
        {
            if (!overlay.Exists) throw new ArgumentException($"the config file {overlay.FullName} does not exist");
            config = ConfigurationFactory.ParseString(File.ReadAllText(overlay.FullName)).WithFallback(config);
        }
        return config;
    }

    /// <summary>
    /// Sets the global Serilog logger: the console at <paramref name="consoleLevel"/>, every level on stderr (stdout is the
    /// user's: chat lines, descriptions, tables), plus an optional file.
    /// </summary>
    public static void ConfigureSerilog(bool verbose, FileInfo? logFile, LogEventLevel consoleLevel = LogEventLevel.Information, bool json = false)
    {
        var minimum = verbose ? LogEventLevel.Debug : LogEventLevel.Information;
        var logConfig = new LoggerConfiguration()
            .MinimumLevel.Is(minimum)
            .Enrich.With<ActorPathEnricher>()
            .WriteTo.Console(restrictedToMinimumLevel: verbose ? LogEventLevel.Debug : consoleLevel, standardErrorFromLevel: LogEventLevel.Verbose);
        if (logFile is not null)
            logConfig = json
                ? logConfig.WriteTo.File(new Serilog.Formatting.Compact.CompactJsonFormatter(), logFile.FullName)
                : logConfig.WriteTo.File(logFile.FullName);
        Log.Logger = logConfig.CreateLogger();
    }

    /// <summary>
    /// Builds a generic host running the "p2p" actor system; <paramref name="actors"/> creates and registers the top-level actors.
    /// </summary>
    /// <param name="stopsItself">
    /// True for a command that takes Ctrl+C and SIGTERM itself (<see cref="Interrupts.Take"/>) and stops the host when it
    /// has closed its sessions: the host then does not stop on a signal by itself (which would end the actor system
    /// while the sessions still tell their peers). False (a server: the relay, the signaling server): the host stops on
    /// the first signal, and a second one, or a stop longer than <c>p2p.stop-timeout</c>, ends the process at once.
    /// </param>
    /// <param name="configure">More Akka.Hosting configuration, such as a fleet node's remoting and clustering (<see cref="FleetCluster.Configure"/>).</param>
    public static IHost Build(Config config, bool verbose, Action<ActorSystem, IActorRegistry> actors, bool stopsItself = false, Action<AkkaConfigurationBuilder>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        if (stopsItself) builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        else builder.Services.AddSingleton(_ => Interrupts.Watch("p2p", StopTimeout(config), Console.Error));
        builder.Services.AddSerilog(Log.Logger);
        builder.Services.AddAkka("p2p", (akka, _) =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend);
            akka.AddHocon($"akka.stdout-logger-class = \"{StandardErrorLogger.ClassName}\"", HoconAddMode.Prepend);
            // Akka's own SIGTERM/SIGINT hook would start a coordinated shutdown the moment the signal comes, under the
            // sessions still telling their peers: a command that stops itself runs it when it is done (host.StopAsync)
            if (stopsItself) akka.AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = verbose ? LogLevel.DebugLevel : LogLevel.InfoLevel;
                loggers.ClearLoggers();
                loggers.AddLogger<SerilogLogger>();
            });
            configure?.Invoke(akka);
            akka.WithActors(actors);
        });
        var host = builder.Build();
        if (!stopsItself) host.Services.GetRequiredService<Interrupts>(); // watching from the start
        return host;
    }

    /// <summary><c>p2p.stop-timeout</c>: how long a stop after Ctrl+C or SIGTERM may take before the process ends at once.</summary>
    public static TimeSpan StopTimeout(Config config) =>
        config.HasPath("p2p.stop-timeout") ? config.GetTimeSpan("p2p.stop-timeout") : TimeSpan.FromSeconds(2);

    /// <summary>No console lifetime: the command itself decides when the host stops (see <see cref="Build"/>).</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
