using System.Globalization;
using ScottPlot;

namespace P2P.Benchmarks;

/// <summary>The many-sessions figures as a PNG: sessions (log scale) against the time to all connected and the memory per session.</summary>
public static class SessionsPlot
{
    public static void Write(string path, IReadOnlyList<ManySessionsBench.Row> rows, bool secure)
    {
        var plot = new Plot();
        double[] x = rows.Select(r => Math.Log10(r.Sessions)).ToArray();

        var time = plot.Add.Scatter(x, rows.Select(r => r.ConnectMs / 1000).ToArray());
        time.LegendText = "time to all connected (s, left)";
        time.LineWidth = 2;
        time.MarkerSize = 8;

        var memory = plot.Add.Scatter(x, rows.Select(r => r.WorkingSetBytesPerSession / 1024).ToArray());
        memory.LegendText = "working set per session (KiB, right)";
        memory.LineWidth = 2;
        memory.MarkerSize = 8;
        memory.Axes.YAxis = plot.Axes.Right;

        var heap = plot.Add.Scatter(x, rows.Select(r => r.HeapBytesPerSession / 1024).ToArray());
        heap.LegendText = "managed heap per session (KiB, right)";
        heap.LineWidth = 2;
        heap.MarkerSize = 8;
        heap.Axes.YAxis = plot.Axes.Right;

        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var r in rows) ticks.AddMajor(Math.Log10(r.Sessions), r.Sessions.ToString("N0", CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;

        plot.Title($"{(secure ? "Secure sessions (ICE + DTLS)" : "ICE sessions")} between two p2p processes, one socket per peer");
        plot.XLabel("concurrent sessions (log scale)");
        plot.Axes.Left.Label.Text = "seconds to all connected";
        plot.Axes.Right.Label.Text = "KiB per session";
        plot.Axes.SetLimitsY(0, Math.Max(1, rows.Max(r => r.ConnectMs) / 1000 * 1.15), plot.Axes.Left);
        plot.Axes.SetLimitsY(0, Math.Max(1, rows.Max(r => r.WorkingSetBytesPerSession) / 1024 * 1.15), plot.Axes.Right);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 900, 500);
    }
}
