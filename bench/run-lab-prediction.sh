#!/usr/bin/env bash
# Port prediction through hard NATs (issue 16), as root: real p2p processes behind kernel NATs (tests/lab/lab.sh).
# Runs the lab's own measuring test (NatLabMatrixTests.Port_prediction_moves_..., Category=Lab) with P2P_LAB_BENCH=1:
# each cell once with prediction off (what ICE alone finds) and N tries with it on (default 20), and prints one line
# per cell:
#   lab-prediction: <NAT A> x <NAT B>: without <path>, with <path>, direct D/N, connect X ms, added Y ms, P probes, S sockets
#       connect: the relayed connect (the later peer); added: from that selection to the direct one (background RFC
#       5780 discovery, then the prediction); probes: the easy side's Binding requests; sockets: the hard side's
#       extra sockets (medians over the direct tries)
# Takes ~12 minutes at 20 tries on 2 cores. tests/lab/results.md is left alone (the table goes to a temporary file).
#
#   sudo bench/run-lab-prediction.sh [tries]      # default 20
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tries="${1:-20}"
[ "$(id -u)" -eq 0 ] || { echo "run-lab-prediction: needs root (network namespaces, nftables)" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }
[ -n "${NO_BUILD:-}" ] || dotnet build -c Release tests/P2P.Actors.Tests >/dev/null
results="$(mktemp)"
out="$(mktemp)"
trap 'rm -f "$results" "$out"; tests/lab/lab.sh down >/dev/null 2>&1 || true' EXIT
log "port prediction in the lab ($tries tries per cell)"
if ! P2P_LAB_BENCH=1 P2P_LAB_PREDICTION_TRIES="$tries" P2P_LAB_RESULTS="$results" \
    dotnet test tests/P2P.Actors.Tests/P2P.Actors.Tests.csproj -c Release --no-build \
    --filter "Category=Lab&FullyQualifiedName~Port_prediction_moves" \
    --logger "console;verbosity=normal" >"$out" 2>&1; then
    grep -E 'Failed|Error|Assert' "$out" | head -n 20 >&2
    echo "run-lab-prediction: the lab test failed (the rows it wrote follow)" >&2
    status=1
fi
# the rows of the table (see NatLabMatrixTests.PredictionReport): | A | B | without | with | direct | connect | added | probes | sockets |
awk -F'|' '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    /^<!-- port-prediction -->/ { t = 1 } /^<!-- \// { t = 0 }
    t && /^\| [a-z]/ && $2 !~ / A / {
        printf "lab-prediction: %s x %s: without %s, with %s, direct %s, connect %s ms, added %s ms, %s probes, %s sockets\n", trim($2), trim($3), trim($4), trim($5), trim($6), trim($7), trim($8), trim($9), trim($10)
    }' "$results"
exit "${status:-0}"
