#!/usr/bin/env bash
# Connect time through `p2p signal` (issue 12): one `p2p signal --listen 127.0.0.1:0`, then per run two
# `p2p --signal ws://.../ --room R --stun none` processes on this machine. Each side prints
# "Connected N ms after both peers were in the room." (from the moment it learnt the other one joined to its
# session's Connected, DTLS included); the figure per run is the later of the two sides. Prints every run, then
#   signal-connect: runs N p50 X ms p90 Y ms max Z ms
# Loopback only (no STUN server is contacted).
#
#   bench/run-signal-connect.sh [runs] [extra p2p options, e.g. --local-address 127.0.0.1]
# P2P_DLL=/other/worktree/src/P2P.Host/bin/Release/net10.0/p2p.dll runs that build instead (clients and server), for a
# before/after in the same minute (as bench/run-userfelt.sh); it is not built here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-10}"
[ $# -gt 0 ] && shift
extra=("$@")
log() { printf '==> %s\n' "$*" >&2; }
if [ -n "${P2P_DLL:-}" ]; then
    [ -f "$P2P_DLL" ] || { echo "run-signal-connect: P2P_DLL $P2P_DLL does not exist" >&2; exit 1; }
    p2p=("dotnet" "$P2P_DLL")
else
    [ -n "${NO_BUILD:-}" ] || dotnet build -c Release src/P2P.Host >/dev/null
    p2p=(src/P2P.Host/bin/Release/net10.0/p2p)
fi

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"${p2p[@]}" signal --listen 127.0.0.1:0 >"$work/signal.out" 2>&1 &
pids+=($!)
url=""
for _ in $(seq 1 200); do
    url="$(grep -oE 'ws://127\.0\.0\.1:[0-9]+/?' "$work/signal.out" | head -n1 || true)"
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { cat "$work/signal.out" >&2; echo "run-signal-connect: the signaling server did not start" >&2; exit 1; }

figure() { grep -oE 'Connected [0-9]+ ms after both peers' "$1" | grep -oE '[0-9]+' | head -n1; }
results=()
for run in $(seq 1 "$runs"); do
    room="bench-$$-$run"
    for side in a b; do
        # stdin stays open (sleep) so the chat does not end at EOF; the run ends when both sides printed their time
        (sleep 30 | "${p2p[@]}" --signal "$url" --room "$room" --stun none "${extra[@]}" >"$work/$side.out" 2>&1) &
        pids+=($!)
        eval "pid_$side=$!"
    done
    a="" b=""
    for _ in $(seq 1 300); do
        a="$(figure "$work/a.out" || true)" b="$(figure "$work/b.out" || true)"
        [ -n "$a" ] && [ -n "$b" ] && break
        sleep 0.1
    done
    pkill -TERM -P "$pid_a" 2>/dev/null || true
    pkill -TERM -P "$pid_b" 2>/dev/null || true
    wait "$pid_a" 2>/dev/null || true
    wait "$pid_b" 2>/dev/null || true
    if [ -z "$a" ] || [ -z "$b" ]; then
        log "run $run: no connect time (a: ${a:-none}, b: ${b:-none})"
        tail -n 5 "$work/a.out" "$work/b.out" >&2
        continue
    fi
    later=$(( a > b ? a : b ))
    printf 'run %d: %d ms (sides %d and %d)\n' "$run" "$later" "$a" "$b"
    results+=("$later")
done
[ "${#results[@]}" -gt 0 ] || { echo "run-signal-connect: no run connected" >&2; exit 1; }
printf '%s\n' "${results[@]}" | sort -n | awk -v runs="$runs" '
    { v[NR] = $1 }
    END {
        p50 = v[int((NR + 1) / 2)]; p90 = v[int(NR * 0.9 + 0.999)]; if (p90 == "") p90 = v[NR]
        printf "signal-connect: runs %d connected %d p50 %d ms p90 %d ms max %d ms\n", runs, NR, p50, p90, v[NR]
    }'
