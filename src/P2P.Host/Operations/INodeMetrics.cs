using System.Diagnostics.Metrics;

namespace P2P.Host.Operations;

/// <summary>A node's instruments: a <see cref="Meter"/> whose observable instruments read a snapshot that <see cref="RefreshAsync"/> renews.</summary>
public interface INodeMetrics : IDisposable
{
    Meter Meter { get; }

    /// <summary>Asks the node's actors for their counters (at the edge, never from inside an actor) and keeps the answer.</summary>
    Task RefreshAsync(CancellationToken cancel);
}
