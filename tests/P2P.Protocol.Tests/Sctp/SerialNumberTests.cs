using FsCheck.Xunit;
using P2P.Protocol.Sctp;
using Xunit;

namespace P2P.Protocol.Tests.Sctp;

public class SerialNumberTests
{
    [Theory]
    [InlineData(0xFFFFFFFFu, 0u)]
    [InlineData(0xFFFFFFF0u, 0x10u)]
    [InlineData(1u, 2u)]
    [InlineData(0u, 0x7FFFFFFFu)]
    public void Tsn_order_wraps(uint a, uint b)
    {
        Assert.True(SerialNumber.IsLess(a, b));
        Assert.True(SerialNumber.IsGreater(b, a));
        Assert.False(SerialNumber.IsLess(b, a));
        Assert.True(SerialNumber.IsLessOrEqual(a, a));
        Assert.Equal(b, SerialNumber.Max(a, b));
    }

    [Fact]
    public void Half_the_space_apart_is_unordered()
    {
        Assert.False(SerialNumber.IsLess(0u, 0x80000000u));
        Assert.False(SerialNumber.IsGreater(0u, 0x80000000u));
        Assert.False(SerialNumber.IsLess((ushort)0, (ushort)0x8000));
        Assert.False(SerialNumber.IsGreater((ushort)0, (ushort)0x8000));
    }

    [Theory]
    [InlineData(65535, 0)]
    [InlineData(65000, 100)]
    [InlineData(0, 32767)]
    public void Ssn_order_wraps(int a, int b)
    {
        Assert.True(SerialNumber.IsLess((ushort)a, (ushort)b));
        Assert.True(SerialNumber.IsGreaterOrEqual((ushort)b, (ushort)a));
        Assert.False(SerialNumber.IsLess((ushort)b, (ushort)a));
    }

    [Property(MaxTest = 1000)]
    public bool Adding_less_than_half_is_greater(uint a, uint delta)
    {
        uint d = delta % 0x7FFFFFFF + 1;
        return SerialNumber.IsLess(a, a + d) && SerialNumber.IsGreater(a + d, a) && !SerialNumber.IsLess(a + d, a);
    }
}
