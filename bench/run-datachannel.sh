#!/usr/bin/env bash
# Data channel throughput, ours and the libwebrtc anchor in ONE run (issue: measure side by side so machine
# noise cancels). Ours: ICE host pair + DTLS 1.2 + SCTP on 127.0.0.1; anchor: @roamhq/wrtc to itself in a
# loopback-only network namespace, same message sizes (10 MiB in 16 KiB messages; 1 KiB message rate).
#   bench/run-datachannel.sh [runs]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-5}"
tests/interop/webrtc/setup.sh >/dev/null
dotnet build -c Release bench/P2P.Benchmarks >/dev/null
echo "== ours <-> ours (median of $runs)"
dotnet run -c Release --no-build --project bench/P2P.Benchmarks -- datachannel "$runs" | tail -n 1
echo "== libwebrtc <-> libwebrtc (median of $runs)"
tests/interop/webrtc/selftest.sh --runs "$runs" --only wrtc-wrtc --bulk-mib 10 --chunk 16384
