using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sessions;

/// <summary>The throw-away secure session a `p2p --signal` process runs before it joins its room.</summary>
public sealed class SessionWarmUpTests : TestKit
{
    public SessionWarmUpTests(ITestOutputHelper output) : base(string.Empty, output) { }

    [Fact]
    public void The_warm_up_connects_a_secure_session_in_the_process_carries_a_message_and_stops_with_its_peers()
    {
        var warmUp = Sys.ActorOf(SessionWarmUp.Props(IceSettings.Default, StunSettings.Default, TurnClientSettings.Default), "warm-up");
        Watch(warmUp);
        warmUp.Tell(SessionWarmUpProtocol.Run.Instance, TestActor);
        var done = ExpectMsg<SessionWarmUpProtocol.Done>(TimeSpan.FromSeconds(30));
        Assert.True(done.Connected, done.Problem);
        Assert.Null(done.Problem);
        ExpectTerminated(warmUp, TimeSpan.FromSeconds(10)); // its host, peers and sockets with it: nothing of it stays in the process
    }
}
