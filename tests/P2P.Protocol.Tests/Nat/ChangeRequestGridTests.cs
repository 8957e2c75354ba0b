using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Nat;
using P2P.Protocol.Stun;
using Xunit;

namespace P2P.Protocol.Tests.Nat;

public sealed class ChangeRequestGridTests
{
    private static Arbitrary<int> Slots => Gen.Choose(0, ChangeRequestGrid.Size - 1).ToArbitrary();

    [Property]
    public Property Asking_the_same_change_twice_comes_back_to_the_receiving_socket(bool changeIp, bool changePort) =>
        Prop.ForAll(Slots, slot =>
            ChangeRequestGrid.Source(ChangeRequestGrid.Source(slot, changeIp, changePort), changeIp, changePort) == slot);

    [Property]
    public Property The_answer_differs_from_the_receiving_socket_exactly_in_what_was_asked(bool changeIp, bool changePort) =>
        Prop.ForAll(Slots, slot =>
        {
            int source = ChangeRequestGrid.Source(slot, changeIp, changePort);
            bool ipDiffers = (source & 2) != (slot & 2), portDiffers = (source & 1) != (slot & 1);
            return ipDiffers == changeIp && portDiffers == changePort && source is >= 0 and < ChangeRequestGrid.Size;
        });

    [Fact]
    public void Other_address_is_the_other_ip_and_the_other_port()
    {
        Assert.Equal(3, ChangeRequestGrid.Other(0));
        Assert.Equal(2, ChangeRequestGrid.Other(1));
        Assert.Equal(1, ChangeRequestGrid.Other(2));
        Assert.Equal(0, ChangeRequestGrid.Other(3));
    }

    [Property]
    public bool Change_request_flags_round_trip(bool changeIp, bool changePort, ulong high, uint low)
    {
        var w = new StunMessageWriter(new byte[64], StunMethod.Binding, StunClass.Request, new TransactionId(high, low));
        w.AddChangeRequest(changeIp, changePort);
        return StunMessage.TryParse(w.ToArray(), out var m, out _)
            && m.TryGetChangeRequest(out bool ip, out bool port) && ip == changeIp && port == changePort;
    }

    [Fact]
    public void Change_request_sets_the_rfc_bits_A_0x4_and_B_0x2()
    {
        var w = new StunMessageWriter(new byte[64], StunMethod.Binding, StunClass.Request, new TransactionId(1, 2));
        w.AddChangeRequest(changeIp: true, changePort: true);
        Assert.True(StunMessage.TryParse(w.ToArray(), out var m, out _));
        Assert.True(m.TryGetUInt32(StunAttributeType.ChangeRequest, out uint flags));
        Assert.Equal(0x6u, flags);
    }
}
