using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace P2P.Benchmarks;

/// <summary>
/// The physical ceiling here: raw TCP over 127.0.0.1 between two sockets of one process, 64 KiB writes, no
/// framing, no crypto. Run: <c>dotnet run -c Release --project bench/P2P.Benchmarks -- tcp [MiB]</c>
/// </summary>
public static class LoopbackTcpBench
{
    public static async Task<int> RunAsync(int mib)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await listener.AcceptTcpClientAsync();
        long total = (long)mib * 1024 * 1024;
        var block = new byte[64 * 1024];
        Random.Shared.NextBytes(block);
        var clock = Stopwatch.StartNew();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[256 * 1024];
            long got = 0;
            var stream = server.GetStream();
            while (got < total)
            {
                int n = await stream.ReadAsync(buffer);
                if (n == 0) break;
                got += n;
            }
            return got;
        });
        var output = client.GetStream();
        for (long sent = 0; sent < total; sent += block.Length) await output.WriteAsync(block);
        long received = await reading;
        double rate = received / 1048576.0 / clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loopback tcp: {rate:0} MiB/s ({received / 1048576} MiB in {clock.Elapsed.TotalSeconds:0.00} s)"));
        return 0;
    }
}
