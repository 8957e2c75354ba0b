using System.Runtime.InteropServices;

namespace P2P.Actors.Runtime;

/// <summary>
/// The C library's heap, which native code in the process allocates from: OpenSSL behind .NET's cryptography (HMAC
/// contexts of every ICE session, ECDSA keys and AES-GCM of every DTLS handshake) and the runtime itself. glibc gives
/// each thread that allocates an arena of its own, up to eight per core, and an arena keeps the pages of what was freed
/// in it (its high-water mark) until it is trimmed. A host that opens and closes sessions on many threads (thread-pool
/// workers, a thread per DTLS handshake) so stayed 11 % above its baseline after 10,000 open/close cycles (bench
/// hostcycles); <see cref="Trim"/> when a peer's last session has gone gives those pages back.
/// </summary>
public static class NativeHeap
{
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Gives the pages of what was freed in every arena back to the system (glibc's malloc_trim), as the GC decommits
    /// what it no longer uses; false where it does not apply or nothing was released. Some milliseconds: run it off an actor.
    /// </summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
