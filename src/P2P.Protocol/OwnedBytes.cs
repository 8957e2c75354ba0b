namespace P2P.Protocol;

/// <summary>Copies of bytes into arrays of their own, for messages that own their payloads.</summary>
public static class OwnedBytes
{
    /// <summary>
    /// A copy of <paramref name="bytes"/> in a new array that is not zeroed first, since every byte of it is written at
    /// once: on the data path (a datagram, a packet, a record of up to 16 KiB) the runtime's zeroing of a new array cost
    /// as much as the copy itself.
    /// </summary>
    public static byte[] Copy(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return [];
        var copy = GC.AllocateUninitializedArray<byte>(bytes.Length);
        bytes.CopyTo(copy);
        return copy;
    }
}
