using System.Globalization;
using System.Text;

namespace P2P.Benchmarks;

/// <summary>
/// What each thread of a process did between two snapshots, from <c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/schedstat</c>
/// (time on a CPU in ns, and how many times it was put on a CPU: a thread that sleeps and is woken counts one each
/// time) and <c>status</c> (voluntary and involuntary context switches). Linux only. Threads are grouped by name
/// (<c>comm</c>), so "what the thread pool did per chat line" reads as one row. A thread that ended between the two
/// snapshots is not counted.
/// </summary>
public static class ProcThreads
{
    public readonly record struct Sample(string Name, long CpuNs, long Runs, long Voluntary, long Involuntary);

    /// <summary>Every thread of <paramref name="pid"/> now, by thread id; empty when the process is gone.</summary>
    public static Dictionary<int, Sample> Snapshot(int pid)
    {
        var threads = new Dictionary<int, Sample>();
        string[] tasks;
        try { tasks = Directory.GetDirectories($"/proc/{pid}/task"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return threads; }
        foreach (var task in tasks)
        {
            try
            {
                var sched = File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ');
                string name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                long voluntary = 0, involuntary = 0;
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)) voluntary = long.Parse(line.AsSpan(24).Trim(), CultureInfo.InvariantCulture);
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal)) involuntary = long.Parse(line.AsSpan(27).Trim(), CultureInfo.InvariantCulture);
                }
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = new Sample(
                    name, long.Parse(sched[0], CultureInfo.InvariantCulture), long.Parse(sched[2], CultureInfo.InvariantCulture), voluntary, involuntary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // the thread ended while it was read
            }
        }
        return threads;
    }

    /// <summary>Per thread name: what the threads alive in both snapshots did in between.</summary>
    public static List<Sample> Delta(Dictionary<int, Sample> before, Dictionary<int, Sample> after)
    {
        var byName = new Dictionary<string, Sample>(StringComparer.Ordinal);
        foreach (var (tid, a) in after)
        {
            var b = before.GetValueOrDefault(tid, a with { CpuNs = 0, Runs = 0, Voluntary = 0, Involuntary = 0 });
            var d = new Sample(a.Name, a.CpuNs - b.CpuNs, a.Runs - b.Runs, a.Voluntary - b.Voluntary, a.Involuntary - b.Involuntary);
            if (d.Runs == 0 && d.CpuNs == 0) continue;
            byName[a.Name] = byName.TryGetValue(a.Name, out var s)
                ? new Sample(a.Name, s.CpuNs + d.CpuNs, s.Runs + d.Runs, s.Voluntary + d.Voluntary, s.Involuntary + d.Involuntary)
                : d;
        }
        return byName.Values.OrderByDescending(s => s.Runs).ToList();
    }

    /// <summary>One line of totals per <paramref name="per"/> events (chat lines), and with <paramref name="detail"/> a row per thread name.</summary>
    public static string Describe(string who, List<Sample> delta, int per, bool detail)
    {
        var text = new StringBuilder();
        double cpuUs = delta.Sum(s => s.CpuNs) / 1000.0 / per, runs = (double)delta.Sum(s => s.Runs) / per;
        text.Append(string.Create(CultureInfo.InvariantCulture, $"{who}: {cpuUs:0} us CPU, {runs:0.0} thread wakes per line"));
        if (!detail) return text.ToString();
        foreach (var s in delta)
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"\n    {s.Name,-18} {s.CpuNs / 1000.0 / per,7:0.0} us  {(double)s.Runs / per,5:0.00} wakes  ({(double)s.Voluntary / per:0.00} voluntary, {(double)s.Involuntary / per:0.00} preempted) per line"));
        return text.ToString();
    }
}
