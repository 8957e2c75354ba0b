using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Supervision;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Supervision;

/// <summary>
/// The one supervision policy of the session (for its children) and the peer (for its sessions), on the scheduler's
/// clock: here a test scheduler, so a minute passes in no time.
/// </summary>
public sealed class ChildFaultDeciderTests(ITestOutputHelper output)
    : TestKit("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"", output)
{
    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private ChildFaultDecider Decider(int faultsPerMinute = 2) => new(Sys.Scheduler, Sys.Log, faultsPerMinute);

    [Fact]
    public void A_child_is_resumed_within_its_budget_then_stopped_with_the_reason_its_parent_reports()
    {
        var decider = Decider();
        var child = CreateTestProbe().Ref;
        decider.Supervise(child, "connection", "s1");

        var decisions = Enumerable.Range(1, 3).Select(i =>
        {
            Assert.True(decider.TryDecide(child, new InvalidOperationException($"fault {i}."), out var d));
            return d;
        }).ToList();

        Assert.Equal([Directive.Resume, Directive.Resume, Directive.Stop], decisions.Select(d => d.Directive));
        Assert.Equal([1, 2, 3], decisions.Select(d => d.Recent));
        Assert.Equal("the session's connection failed 3 times within a minute (last: fault 3)", decisions[2].StoppedBecause($"the session's {decisions[2].Role}"));
    }

    [Fact]
    public void Faults_older_than_a_minute_on_the_scheduler_clock_no_longer_count()
    {
        var decider = Decider(faultsPerMinute: 1);
        var child = CreateTestProbe().Ref;
        decider.Supervise(child, "session", "s1");

        decider.TryDecide(child, new InvalidOperationException("one"), out var first);
        Scheduler.Advance(TimeSpan.FromSeconds(61));
        decider.TryDecide(child, new InvalidOperationException("two"), out var second);
        decider.TryDecide(child, new InvalidOperationException("three"), out var third);

        Assert.Equal((Directive.Resume, 1), (first.Directive, first.Recent));
        Assert.Equal((Directive.Resume, 1), (second.Directive, second.Recent));
        Assert.Equal((Directive.Stop, 2), (third.Directive, third.Recent));
    }

    [Fact]
    public void A_child_that_cannot_go_on_is_stopped_at_its_first_fault_saying_what_its_constructor_threw()
    {
        var decider = Decider();
        var child = CreateTestProbe().Ref;
        decider.Supervise(child, "DTLS transport", "s1");

        var cause = new ActorInitializationException(child, "wrapper", new InvalidOperationException("no certificate."));
        Assert.True(decider.TryDecide(child, cause, out var decision));

        Assert.Equal(Directive.Stop, decision.Directive);
        Assert.Equal("the session's DTLS transport failed: no certificate", decision.StoppedBecause("the session's DTLS transport"));
    }

    [Fact]
    public void Each_child_has_its_own_budget_and_one_not_supervised_or_forgotten_is_left_to_the_default()
    {
        var decider = Decider(faultsPerMinute: 1);
        var a = CreateTestProbe().Ref;
        var b = CreateTestProbe().Ref;
        decider.Supervise(a, "session", "a");
        decider.Supervise(b, "session", "b");

        decider.TryDecide(a, new InvalidOperationException("x"), out var ofA);
        decider.TryDecide(b, new InvalidOperationException("x"), out var ofB);
        Assert.Equal((Directive.Resume, Directive.Resume), (ofA.Directive, ofB.Directive));

        decider.Forget(a);
        Assert.False(decider.TryDecide(a, new InvalidOperationException("x"), out _));
        Assert.False(decider.TryDecide(CreateTestProbe().Ref, new InvalidOperationException("x"), out _));
    }

    [Fact]
    public void Its_log_lines_name_the_session_and_the_childs_role()
    {
        var decider = Decider(faultsPerMinute: 1);
        var child = CreateTestProbe().Ref;
        decider.Supervise(child, "SCTP association", "s1");

        EventFilter.Warning(contains: "[s1] the SCTP association threw (boom); resumed with its state, the message that caused it dropped (fault 1 in the last minute)")
            .ExpectOne(() => decider.TryDecide(child, new InvalidOperationException("boom"), out _));
        EventFilter.Error(contains: "[s1] the SCTP association failed (boom) and is stopped; gone")
            .ExpectOne(() => decider.TryDecide(child, new InvalidOperationException("boom"), out _, stoppedNote: "; gone"));
    }
}
