#!/usr/bin/env bash
# Data channel throughput THROUGH A RELAY, ours and the libwebrtc anchor in one run: both relay-only (every
# packet goes client -> relay -> client) through the same `p2p relay` process on 127.0.0.1:3478, all inside one
# loopback-only network namespace (libwebrtc must never run outside one: tests/interop/webrtc/run-isolated.sh).
# Same message sizes as bench/run-datachannel.sh (10 MiB in 16 KiB messages; 1 KiB message rate).
#   bench/run-datachannel-relay.sh [runs]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-5}"
if [ "${P2P_IN_NAMESPACE:-}" != 1 ]; then
    tests/interop/webrtc/setup.sh >/dev/null
    dotnet build -c Release bench/P2P.Benchmarks >/dev/null
    dotnet build -c Release src/P2P.Host >/dev/null
    P2P_IN_NAMESPACE=1 exec tests/interop/webrtc/run-isolated.sh "$0" "$runs"
fi

relay_log="$(mktemp)"
src/P2P.Host/bin/Release/net10.0/p2p relay --listen 127.0.0.1:3478 --user bench:bench --allow-loopback --user-quota 10000 >"$relay_log" 2>&1 &
relay=$!
trap 'kill "$relay" 2>/dev/null || true; wait "$relay" 2>/dev/null || true; rm -f "$relay_log"' EXIT
for _ in $(seq 100); do grep -q "3478" "$relay_log" && break; sleep 0.1; done

echo "== ours <-> ours through p2p relay, relay-only (median of $runs)"
dotnet bench/P2P.Benchmarks/bin/Release/net10.0/P2P.Benchmarks.dll datachannel "$runs" --turn 127.0.0.1:3478 bench bench | tail -n 1
echo "== libwebrtc <-> libwebrtc through p2p relay, relay-only (median of $runs)"
node tests/interop/webrtc/selftest.mjs --runs "$runs" --only wrtc-wrtc --bulk-mib 10 --chunk 16384 --turn 127.0.0.1:3478 bench bench
