#!/usr/bin/env bash
# The NAT lab with link profiles (issue 12), as root: real p2p processes behind kernel NATs (tests/lab/lab.sh), each
# side's uplink delayed and lossy through tests/lab/link-delay (`lab.sh link <delay-ms> <loss-%>`; 25 ms per side is a
# 50 ms round trip between the hosts). Runs the lab's own measuring tests (NatLabMatrixTests, Category=Lab) with
# P2P_LAB_BENCH=1, which gives them every profile of each cell, and prints one line per cell and profile:
#   lab-link: <NAT A> x <NAT B> [<profile>] rtt X ms: p2p Y MiB/s, TCP Z MiB/s, p2p/TCP R, TCP reno W MiB/s, p2p/reno Q (<path>)
#       our file rate (secure ICE, two p2p processes) beside plain TCP over the same routers and uplinks, with the
#       system's congestion control (bbr here: it does not back off for random loss) and with Reno (loss-based, as
#       SCTP's is)
#   lab-connect: <NAT A> x <NAT B> [<profile>]: ours X ms, libnice Y ms, ours/libnice R (<path>)
#       our --signal connect time beside libnice<->libnice (tests/interop/nice-peer) in the same cell
# Takes ~6-8 minutes on 2 cores. tests/lab/results.md is left alone (the tables go to a temporary file).
#
#   sudo bench/run-lab-link.sh [file-MiB]      # default 8
#   P2P_LAB_PROFILES="0/0 25/1 25/0.25" sudo bench/run-lab-link.sh   # other link profiles (delay ms / loss % per side)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mib="${1:-8}"
[ "$(id -u)" -eq 0 ] || { echo "run-lab-link: needs root (network namespaces, nftables, NFQUEUE)" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }
[ -n "${NO_BUILD:-}" ] || dotnet build -c Release tests/P2P.Actors.Tests >/dev/null
results="$(mktemp)"
out="$(mktemp)"
trap 'rm -f "$results" "$out"; tests/lab/lab.sh down >/dev/null 2>&1 || true' EXIT
log "the lab's link-profile and libnice-anchor cells ($mib MiB files)"
if ! P2P_LAB_BENCH=1 P2P_LAB_FILE_MIB="$mib" P2P_LAB_RESULTS="$results" \
    dotnet test tests/P2P.Actors.Tests/P2P.Actors.Tests.csproj -c Release --no-build \
    --filter "Category=Lab&(FullyQualifiedName~With_delay_and_loss|FullyQualifiedName~Libnice_to_libnice)" \
    --logger "console;verbosity=normal" >"$out" 2>&1; then
    grep -E 'Failed|Error|Assert' "$out" | head -n 20 >&2
    echo "run-lab-link: a lab test failed (the rows it wrote follow)" >&2
    status=1
fi
# the rows of the two tables (see NatLabMatrixTests): | A | B | profile | rtt | path | p2p | TCP | ratio |
awk -F'|' '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    /^<!-- link-profiles -->/ { t = "link" } /^<!-- libnice-anchor -->/ { t = "connect" } /^<!-- \// { t = "" }
    t == "link" && /^\| [a-z]/ && $2 !~ /NAT A/ {
        printf "lab-link: %s x %s [%s] rtt %s ms: p2p %s MiB/s, TCP %s MiB/s, p2p/TCP %s, TCP reno %s MiB/s, p2p/reno %s (%s)\n", trim($2), trim($3), trim($4), trim($5), trim($7), trim($8), trim($9), trim($10), trim($11), trim($6)
    }
    t == "connect" && /^\| [a-z]/ && $2 !~ /NAT A/ {
        printf "lab-connect: %s x %s [%s]: ours %s ms, libnice %s ms, ours/libnice %s (%s)\n", trim($2), trim($3), trim($4), trim($6), trim($5), trim($7), trim($8)
    }' "$results"
exit "${status:-0}"
