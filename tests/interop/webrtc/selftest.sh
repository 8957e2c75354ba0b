#!/usr/bin/env bash
# Proves the interop harness: peer.mjs against itself for every stack pair
# (wrtc<->wrtc, werift<->werift, wrtc->werift, werift->wrtc), all inside ONE
# loopback-only network namespace. Prints a table of open time, message and
# bulk figures (the anchors our own data-channel benchmarks compare to).
#
#   tests/interop/webrtc/selftest.sh                  # one run per pair
#   tests/interop/webrtc/selftest.sh --runs 5         # medians over 5 runs
#   tests/interop/webrtc/selftest.sh --only wrtc-wrtc --bulk-mib 50 --chunk 65536
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$HERE/setup.sh" >&2
exec "$HERE/run-isolated.sh" node "$HERE/selftest.mjs" "$@"
