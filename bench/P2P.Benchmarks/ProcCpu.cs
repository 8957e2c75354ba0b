using System.Diagnostics;
using System.Globalization;

namespace P2P.Benchmarks;

/// <summary>
/// CPU time a process has used so far, all its threads, from <c>/proc/&lt;pid&gt;/stat</c> (proc(5): fields 14 utime
/// and 15 stime, in clock ticks of <c>getconf CLK_TCK</c>). Linux only; what the benches use to put a server's CPU
/// next to its throughput whatever language it is written in.
/// </summary>
public static class ProcCpu
{
    private static readonly Lazy<int> s_ticksPerSecond = new(ReadClockTicks);

    /// <summary>Clock ticks per second of utime/stime (<c>getconf CLK_TCK</c>, 100 on the usual kernels).</summary>
    public static int TicksPerSecond => s_ticksPerSecond.Value;

    /// <summary>utime + stime of <paramref name="pid"/> in seconds, or false when the process is gone.</summary>
    public static bool TryReadSeconds(int pid, out double seconds)
    {
        seconds = 0;
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
        // The command name (field 2) is in parentheses and may hold spaces or ')': fields are counted after the last ')'.
        int close = stat.LastIndexOf(')');
        if (close < 0) return false;
        var fields = stat[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state), so field n is fields[n - 3]
        if (fields.Length < 13
            || !long.TryParse(fields[14 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out long utime)
            || !long.TryParse(fields[15 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out long stime))
            return false;
        seconds = (double)(utime + stime) / TicksPerSecond;
        return true;
    }

    private static int ReadClockTicks()
    {
        try
        {
            var info = new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false };
            using var getconf = Process.Start(info);
            if (getconf is not null)
            {
                string text = getconf.StandardOutput.ReadToEnd();
                getconf.WaitForExit();
                if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int ticks) && ticks > 0) return ticks;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no getconf: the Linux default below
        }
        return 100;
    }
}
