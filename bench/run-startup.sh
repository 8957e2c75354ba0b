#!/usr/bin/env bash
# Start-up time (issue 12): from starting `p2p` to its first line of output (the host's prompt line, the ICE chat's
# description), median of the given number of runs, for the binary a Release build leaves in bin/Release/net10.0
# (ReadyToRun, see src/P2P.Host/P2P.Host.csproj) and for `dotnet run`, the README's way, which first asks MSBuild
# whether the build is up to date. CPU is the process's own (user + system) until that line. Loopback only: the
# ICE chat gathers 127.0.0.1 and asks no STUN server. `p2p --help` is the floor (the runtime and the parser alone).
# Goal: under 1 s.
#
#   bench/run-startup.sh [runs]        # default 10
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-10}"
log() { printf '==> %s\n' "$*" >&2; }

log "building p2p (Release)"
dotnet build -c Release src/P2P.Host >/dev/null
p2p=src/P2P.Host/bin/Release/net10.0/p2p
hz=$(getconf CLK_TCK)
work="$(mktemp -d)"
trap 'exec 6>&- 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/in" "$work/out"
exec 6<>"$work/in"   # the command's stdin stays open (and empty) while it starts

# "<wall ms> <cpu ms>" from start to the first line of "$@"; the command (and what it started) is stopped after it
first_line() {
    local start end pid cpu
    start=$(date +%s%N)
    setsid "$@" <"$work/in" >"$work/out" 2>/dev/null &
    pid=$!
    read -r _ <"$work/out"
    end=$(date +%s%N)
    cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$(( (end - start) / 1000000 )) $(( cpu * 1000 / hz ))"
}

# "<label>: median W ms to the first line (min M), CPU C ms"
row() {
    local label="$1"; shift
    for _ in $(seq 1 "$runs"); do first_line "$@"; done >"$work/times"
    local wall cpu low
    wall=$(cut -d' ' -f1 "$work/times" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    low=$(cut -d' ' -f1 "$work/times" | sort -n | head -n1)
    cpu=$(cut -d' ' -f2 "$work/times" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "startup $label: median $wall ms to the first line (min $low), CPU $cpu ms"
}

row "p2p --help" "$p2p" --help
row "p2p host" "$p2p" host --stun none --local-address 127.0.0.1
row "p2p -s (ICE chat description)" "$p2p" -s --stun none --local-address 127.0.0.1
row "dotnet run -- host (README)" dotnet run -c Release --no-restore --project src/P2P.Host -- host --stun none --local-address 127.0.0.1
