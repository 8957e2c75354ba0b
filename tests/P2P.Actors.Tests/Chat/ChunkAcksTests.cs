using P2P.Actors.Chat;
using Xunit;

namespace P2P.Actors.Tests.Chat;

public sealed class ChunkAcksTests
{
    [Fact]
    public void A_burst_of_chunks_queued_together_is_acknowledged_once_when_the_marker_comes_round()
    {
        var acks = new ChunkAcks(most: 8);
        Assert.Equal(ChunkAck.AfterQueued, acks.Written(last: false));   // the first tells the marker
        for (int i = 0; i < 4; i++) Assert.Equal(ChunkAck.Later, acks.Written(last: false));
        Assert.True(acks.MarkerBack());
        Assert.False(acks.MarkerBack());   // nothing new since
    }

    [Fact]
    public void Chunks_that_come_one_at_a_time_are_each_acknowledged()
    {
        var acks = new ChunkAcks(most: 8);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(ChunkAck.AfterQueued, acks.Written(last: false));
            Assert.True(acks.MarkerBack());
        }
    }

    [Fact]
    public void A_long_burst_is_acknowledged_every_most_chunks_and_the_last_chunk_at_once()
    {
        var acks = new ChunkAcks(most: 3);
        Assert.Equal(ChunkAck.AfterQueued, acks.Written(last: false));
        Assert.Equal(ChunkAck.Later, acks.Written(last: false));
        Assert.Equal(ChunkAck.Now, acks.Written(last: false));       // the third: the sender's window must not wait for the burst's end
        Assert.Equal(ChunkAck.Later, acks.Written(last: false));     // the marker is still out
        Assert.Equal(ChunkAck.Now, acks.Written(last: true));        // the file is whole
        Assert.False(acks.MarkerBack());                             // all acknowledged already
        Assert.Equal(ChunkAck.AfterQueued, acks.Written(last: false));
    }
}
