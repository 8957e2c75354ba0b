using Akka.Configuration;
using P2P.Protocol.Stun;

namespace P2P.Actors.Stun;

/// <summary>Settings of <see cref="StunProber"/>, read once from <c>p2p.stun</c> in <c>akka.hocon</c>.</summary>
public sealed record StunSettings(RetransmissionSchedule Retransmission, string Software)
{
    public const string Section = "p2p.stun";

    public static readonly StunSettings Default = new(RetransmissionSchedule.Default, "P2P");

    public static StunSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");
        var schedule = new RetransmissionSchedule(c.GetTimeSpan("rto"), c.GetInt("rc"), c.GetInt("rm"), c.GetTimeSpan("tcp-timeout"));
        if (schedule.Rto <= TimeSpan.Zero || schedule.Rc < 1 || schedule.Rm < 1)
            throw new ConfigurationException($"'{Section}': rto must be positive and rc, rm at least 1");
        return new StunSettings(schedule, c.GetString("software", string.Empty) ?? string.Empty);
    }
}
