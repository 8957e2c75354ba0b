using Akka.Configuration;
using P2P.Actors.Dtls;
using Xunit;

namespace P2P.Actors.Tests.Dtls;

/// <summary>
/// The throw-away handshake a process runs before its first session (<see cref="DtlsWarmUp"/>): it must really complete
/// (our client against our server, with the peer's certificate, one record carried), run once per process whatever
/// starts it, and be possible to turn off.
/// </summary>
public sealed class DtlsWarmUpTests
{
    private static readonly DtlsSettings Fast = DtlsSettings.Default with { HandshakeTimeout = TimeSpan.FromSeconds(20) };

    [Fact]
    public void The_warm_up_handshake_completes_in_memory_with_the_peers_certificate()
    {
        Assert.True(DtlsWarmUp.Run(DtlsCertificate.Generate(), Fast));
    }

    [Fact]
    public async Task The_warm_up_runs_once_per_process_however_often_it_is_started()
    {
        var certificate = DtlsCertificate.Generate();
        DtlsWarmUp.Start(certificate, Fast);
        DtlsWarmUp.Start(certificate, Fast);
        Assert.True(await DtlsWarmUp.Done.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, DtlsWarmUp.Runs);
    }

    [Fact]
    public void The_warm_up_is_on_by_default_and_can_be_turned_off()
    {
        Assert.True(DtlsSettings.From(Turn.TurnClientSettingsTests.RepoHocon()).WarmUp);
        var off = ConfigurationFactory.ParseString("p2p.dtls.warm-up = off").WithFallback(Turn.TurnClientSettingsTests.RepoHocon());
        Assert.False(DtlsSettings.From(off).WarmUp);
    }
}
