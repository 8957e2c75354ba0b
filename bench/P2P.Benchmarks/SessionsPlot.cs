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

        void Line(Func<ManySessionsBench.Row, double> y, string legend, bool right)
        {
            var line = plot.Add.Scatter(x, rows.Select(y).ToArray());
            line.LegendText = legend;
            line.LineWidth = 2;
            line.MarkerSize = 8;
            if (right) line.Axes.YAxis = plot.Axes.Right;
        }
        Line(r => r.ConnectMs / 1000, "time to all connected (s, left)", right: false);
        Line(r => r.WorkingSetBytesPerSession / 1024, "working set per session (KiB, right)", right: true);
        Line(r => r.HeapBytesPerSession / 1024, "managed heap per session (KiB, right)", right: true);

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
