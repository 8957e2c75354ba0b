using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace P2P.Actors.Transport;

/// <summary>
/// The Linux system calls the relay's fast data path uses to move many datagrams per call: <c>recvmmsg</c> and
/// <c>sendmmsg</c> (a batch of datagrams in one system call), <c>poll</c>, and
/// <c>epoll</c> to wait on thousands of relayed sockets at once. .NET exposes none of them. Only the 64-bit Linux ABIs
/// are described here (x64 and arm64); <see cref="IsSupported"/> is false elsewhere and callers keep the portable path.
/// Everything is plain P/Invoke on pinned arrays: no unsafe code, no crypto, no other library.
/// </summary>
internal static class LinuxUdp
{
    public const int MsgDontWait = 0x40;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const int EBadF = 9;
    private const int EpollCloExec = 0x80000;
    private const int EpollCtlAdd = 1, EpollCtlDel = 2;
    private const uint EpollIn = 0x001;
    private const short PollIn = 0x001;

    /// <summary>The bytes reserved for one socket address in a batch (a sockaddr_in6 is 28).</summary>
    public const int AddressBytes = 32;

    /// <summary>sizeof(struct mmsghdr) on LP64 Linux: msghdr (56) + msg_len (4) + padding.</summary>
    public const int MessageHeaderBytes = 64;

    /// <summary>sizeof(struct iovec) on LP64 Linux.</summary>
    public const int IoVectorBytes = 16;

    // struct epoll_event is packed on x64 (12 bytes, data at 4) and naturally aligned on arm64 (16 bytes, data at 8).
    private static readonly int EpollEventBytes = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary>True on 64-bit Linux (x64, arm64) once the calls have been found in the C library.</summary>
    public static bool IsSupported { get; } = Probe();

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)) return false;
        try
        {
            int epoll = epoll_create1(EpollCloExec);
            if (epoll < 0) return false;
            close(epoll);
            // Resolve the others now, so that a C library without them shows here and not on the relay's threads.
            Marshal.PrelinkAll(typeof(LinuxUdp));
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int recvmmsg(int fd, IntPtr messages, uint count, int flags, IntPtr timeout);

    [DllImport("libc", SetLastError = true)]
    private static extern int sendmmsg(int fd, IntPtr messages, uint count, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int poll(ref PollFd fds, nuint count, int timeoutMs);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_create1(int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_ctl(int epoll, int op, int fd, IntPtr evt);

    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_wait(int epoll, IntPtr events, int maxEvents, int timeoutMs);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    /// <summary>The errno of the last failed call on this thread.</summary>
    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>recvmmsg into <paramref name="count"/> prepared headers starting at <paramref name="headers"/>; the number received, or -1 (see <see cref="LastError"/>).</summary>
    public static int ReceiveMany(int fd, IntPtr headers, int count, int flags) => recvmmsg(fd, headers, (uint)count, flags, IntPtr.Zero);

    /// <summary>sendmmsg of <paramref name="count"/> prepared headers; the number sent, or -1 (see <see cref="LastError"/>).</summary>
    public static int SendMany(int fd, IntPtr headers, int count) => sendmmsg(fd, headers, (uint)count, 0);

    /// <summary>Waits up to <paramref name="timeoutMs"/> for <paramref name="fd"/> to be readable: 1 if it is, 0 on timeout, -1 on error.</summary>
    public static int WaitReadable(int fd, int timeoutMs)
    {
        var entry = new PollFd { Fd = fd, Events = PollIn };
        return poll(ref entry, 1, timeoutMs);
    }

    /// <summary>The file descriptor behind a socket's handle (the caller holds a reference on the handle while it uses it).</summary>
    public static int Descriptor(SafeHandle handle) => (int)handle.DangerousGetHandle();

    /// <summary>An epoll instance whose entries carry a 64-bit key of the caller's choosing.</summary>
    public sealed class Epoll : IDisposable
    {
        private readonly int _fd;
        private readonly byte[] _ctl = GC.AllocateArray<byte>(16, pinned: true);
        private readonly Lock _ctlGate = new();
        private int _closed;

        public Epoll()
        {
            _fd = epoll_create1(EpollCloExec);
            if (_fd < 0) throw new SocketException(LastError);
        }

        /// <summary>Watches <paramref name="fd"/> for readability; the events carry <paramref name="key"/>. False with errno on failure.</summary>
        public bool Add(int fd, ulong key, out int error)
        {
            lock (_ctlGate)
            {
                if (_closed != 0)
                {
                    error = EBadF;
                    return false;
                }
                BitConverter.TryWriteBytes(_ctl.AsSpan(0, 4), EpollIn);
                BitConverter.TryWriteBytes(_ctl.AsSpan(EpollDataOffset, 8), key);
                bool ok = epoll_ctl(_fd, EpollCtlAdd, fd, Marshal.UnsafeAddrOfPinnedArrayElement(_ctl, 0)) == 0;
                error = ok ? 0 : LastError;
                return ok;
            }
        }

        /// <summary>Stops watching <paramref name="fd"/> (closing the descriptor also does).</summary>
        public void Remove(int fd)
        {
            lock (_ctlGate)
            {
                if (_closed == 0) epoll_ctl(_fd, EpollCtlDel, fd, Marshal.UnsafeAddrOfPinnedArrayElement(_ctl, 0));
            }
        }

        /// <summary>Room for the events of one <see cref="Wait"/>.</summary>
        public static byte[] NewEvents(int count) => GC.AllocateArray<byte>(count * EpollEventBytes, pinned: true);

        /// <summary>Waits for readable descriptors: the number of events written into <paramref name="events"/>, 0 on timeout, -1 on error.</summary>
        public int Wait(byte[] events, int timeoutMs) =>
            epoll_wait(_fd, Marshal.UnsafeAddrOfPinnedArrayElement(events, 0), events.Length / EpollEventBytes, timeoutMs);

        /// <summary>The key of event <paramref name="index"/> of the last <see cref="Wait"/>.</summary>
        public static ulong KeyOf(byte[] events, int index) =>
            BitConverter.ToUInt64(events, index * EpollEventBytes + EpollDataOffset);

        /// <summary>Closes the set; Add and Remove do nothing afterwards (the number may already belong to another descriptor).</summary>
        public void Dispose()
        {
            lock (_ctlGate)
            {
                if (_closed != 0) return;
                _closed = 1;
                close(_fd);
            }
        }
    }
}

/// <summary>
/// A set of datagram slots in pinned memory for <see cref="LinuxUdp"/>: per slot a payload buffer (with
/// <c>headroom</c> bytes before the payload, where a header can be written in front of a received datagram), a
/// socket address, an iovec and an mmsghdr. Receive fills slots from a socket; the relay then queues any slot's
/// bytes into a send batch, which points at them instead of copying them.
/// </summary>
internal sealed class DatagramBatch
{
    private readonly byte[] _data;
    private readonly byte[] _addresses;
    private readonly byte[] _vectors;
    private readonly byte[] _headers;
    private readonly IntPtr _dataBase, _addressBase, _vectorBase, _headerBase;
    private readonly int _slotBytes;
    private readonly int _headroom;

    public DatagramBatch(int slots, int payloadBytes, int headroom)
    {
        _headroom = headroom;
        _slotBytes = headroom + payloadBytes;
        _data = GC.AllocateUninitializedArray<byte>(slots * _slotBytes, pinned: true);
        _addresses = GC.AllocateArray<byte>(slots * LinuxUdp.AddressBytes, pinned: true);
        _vectors = GC.AllocateArray<byte>(slots * LinuxUdp.IoVectorBytes, pinned: true);
        _headers = GC.AllocateArray<byte>(slots * LinuxUdp.MessageHeaderBytes, pinned: true);
        _dataBase = _data.Length == 0 ? IntPtr.Zero : Marshal.UnsafeAddrOfPinnedArrayElement(_data, 0);
        _addressBase = Marshal.UnsafeAddrOfPinnedArrayElement(_addresses, 0);
        _vectorBase = Marshal.UnsafeAddrOfPinnedArrayElement(_vectors, 0);
        _headerBase = Marshal.UnsafeAddrOfPinnedArrayElement(_headers, 0);
    }

    /// <summary>The payload bytes one slot holds.</summary>
    private int PayloadBytes => _slotBytes - _headroom;

    /// <summary>
    /// Receives up to <paramref name="count"/> datagrams from <paramref name="fd"/> into slots
    /// <paramref name="first"/>.. without waiting: the number received, 0 when none is waiting, -1 on an error (errno in
    /// <paramref name="error"/>).
    /// </summary>
    public int Receive(int fd, int first, int count, out int error)
    {
        for (int i = first; i < first + count; i++)
            Prepare(i, _dataBase + i * _slotBytes + _headroom, PayloadBytes, LinuxUdp.AddressBytes);
        while (true)
        {
            int received = LinuxUdp.ReceiveMany(fd, HeaderAt(first), count, LinuxUdp.MsgDontWait);
            if (received >= 0) { error = 0; return received; }
            error = LinuxUdp.LastError;
            if (error == LinuxUdp.EIntr) continue;
            if (error == LinuxUdp.EAgain) { error = 0; return 0; }
            return -1;
        }
    }

    /// <summary>The payload received in slot <paramref name="slot"/>.</summary>
    public Span<byte> Payload(int slot) => _data.AsSpan(slot * _slotBytes + _headroom, ReceivedLength(slot));

    /// <summary>The payload of slot <paramref name="slot"/> with the headroom in front of it.</summary>
    public Span<byte> WithHeadroom(int slot) => _data.AsSpan(slot * _slotBytes, _headroom + ReceivedLength(slot));

    /// <summary>
    /// The sender of slot <paramref name="slot"/>, copied into <paramref name="v4"/> or <paramref name="v6"/> (reused
    /// instances of the two sizes: a SocketAddress equals another only when their buffers have the same length).
    /// </summary>
    public SocketAddress SenderOf(int slot, SocketAddress v4, SocketAddress v6)
    {
        int length = Math.Min(ReadInt32(slot, 8), LinuxUdp.AddressBytes);
        var into = length <= v4.Buffer.Length ? v4 : v6;
        _addresses.AsSpan(slot * LinuxUdp.AddressBytes, Math.Min(length, into.Buffer.Length)).CopyTo(into.Buffer.Span);
        return into;
    }

    /// <summary>The address of slot <paramref name="slot"/>'s payload minus <paramref name="before"/> bytes of headroom.</summary>
    public IntPtr PayloadAddress(int slot, int before = 0) => _dataBase + slot * _slotBytes + _headroom - before;

    /// <summary>Sets send header <paramref name="index"/>: <paramref name="length"/> bytes at <paramref name="data"/> to <paramref name="to"/>.</summary>
    public void SetOutgoing(int index, IntPtr data, int length, SocketAddress to)
    {
        var address = to.Buffer.Span[..to.Size];
        address.CopyTo(_addresses.AsSpan(index * LinuxUdp.AddressBytes, LinuxUdp.AddressBytes));
        Prepare(index, data, length, to.Size);
    }

    /// <summary>Copies <paramref name="payload"/> into slot <paramref name="index"/> and sets it up as an outgoing datagram to <paramref name="to"/>.</summary>
    public void SetOutgoing(int index, ReadOnlySpan<byte> payload, SocketAddress to)
    {
        payload.CopyTo(_data.AsSpan(index * _slotBytes + _headroom, PayloadBytes));
        SetOutgoing(index, PayloadAddress(index), payload.Length, to);
    }

    /// <summary>
    /// Sends headers 0..<paramref name="count"/> on <paramref name="fd"/> with as few calls as the kernel allows. A
    /// datagram the kernel refuses (buffer full, unreachable, ...) is skipped and lost, as UDP may lose it; the indices
    /// of those go into <paramref name="refused"/> (as many as fit) and their number is returned.
    /// </summary>
    public int Send(int fd, int count, Span<int> refused)
    {
        int next = 0, failed = 0;
        while (next < count)
        {
            int sent = LinuxUdp.SendMany(fd, HeaderAt(next), count - next);
            if (sent > 0) { next += sent; continue; }
            if (sent < 0 && LinuxUdp.LastError == LinuxUdp.EIntr) continue;
            if (failed < refused.Length) refused[failed] = next;
            failed++;
            next++;
        }
        return failed;
    }

    private IntPtr HeaderAt(int slot) => _headerBase + slot * LinuxUdp.MessageHeaderBytes;

    private int ReceivedLength(int slot) => Math.Min(ReadInt32(slot, 56), PayloadBytes);

    private int ReadInt32(int slot, int offset) => BitConverter.ToInt32(_headers, slot * LinuxUdp.MessageHeaderBytes + offset);

    // struct msghdr (LP64): name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48; mmsghdr.msg_len 56.
    private void Prepare(int slot, IntPtr data, int length, int addressLength)
    {
        var vector = _vectors.AsSpan(slot * LinuxUdp.IoVectorBytes, LinuxUdp.IoVectorBytes);
        BitConverter.TryWriteBytes(vector, (long)data);
        BitConverter.TryWriteBytes(vector[8..], (long)length);
        var header = _headers.AsSpan(slot * LinuxUdp.MessageHeaderBytes, LinuxUdp.MessageHeaderBytes);
        header.Clear();
        BitConverter.TryWriteBytes(header, (long)(_addressBase + slot * LinuxUdp.AddressBytes));
        BitConverter.TryWriteBytes(header[8..], addressLength);
        BitConverter.TryWriteBytes(header[16..], (long)(_vectorBase + slot * LinuxUdp.IoVectorBytes));
        BitConverter.TryWriteBytes(header[24..], 1L);
    }
}
