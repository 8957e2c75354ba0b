#!/usr/bin/env bash
# Speed a user feels (issue 12), with its anchors in ONE run so machine noise cancels:
#   - two real p2p processes on 127.0.0.1 (ICE host pair, DTLS, SCTP): a file of <MiB> with both processes' CPU per
#     MiB, the first chat line after both printed Connected, one-way chat line latency (median, p99);
#   - the same line latency over p2p --no-ice (TCP), plain TCP between two processes (rate, CPU per MiB);
#   - our in-process data channel bulk rate and libwebrtc's (bench/run-datachannel.sh).
#   bench/run-userfelt.sh [MiB] [lines] [runs] [dc-runs]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mib="${1:-200}" lines="${2:-200}" runs="${3:-3}" dc_runs="${4:-5}"
dotnet build -c Release src/P2P.Host >/dev/null
dotnet build -c Release bench/P2P.Benchmarks >/dev/null
echo "== two p2p processes (median of $runs runs; $lines lines one way)"
dotnet run -c Release --no-build --project bench/P2P.Benchmarks -- userfelt --mib "$mib" --lines "$lines" --runs "$runs"
bench/run-datachannel.sh "$dc_runs"
