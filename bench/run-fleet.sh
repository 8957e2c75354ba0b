#!/usr/bin/env bash
# Fleet scaling on this machine (issue 17): `p2p signal` as 1 node against 3 nodes of one Akka.Cluster fleet, and
# `p2p relay` as 1 node against 2, all on 127.0.0.1 with the load client beside them.
#   signal: rooms of two joined per second (each room's two peers on different nodes when there are several; open,
#           join, both seated, close) and idle WebSockets held per node (RSS, idle CPU); bench/P2P.Benchmarks signalload
#   relay:  relayed packets/s, one relayload client per node (the same allocations in all), summed
# Prints one line per measurement, then the scaling ratios (3 nodes / 1, 2 relays / 1) and the load average. On a
# machine of N cores every process (servers and load client) shares those N cores: a ratio near 1 says the fleet
# costs little; it cannot say what more machines would add (see README "Running a fleet").
#
#   bench/run-fleet.sh [rooms] [idle-connections] [relay-seconds]     (defaults 3000 rooms, 9000 idle, 10 s)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rooms="${1:-3000}" idle="${2:-9000}" relay_seconds="${3:-10}"
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run-fleet: %s\n' "$*" >&2; exit 1; }
command -v turnutils_stunclient >/dev/null || die "turnutils_stunclient is not installed (apt-get install coturn)"
# every idle connection is a descriptor in the load client and in one server
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

[ -n "${NO_BUILD:-}" ] || { dotnet build -c Release src/P2P.Host >/dev/null; dotnet build -c Release bench/P2P.Benchmarks >/dev/null; }
p2p=src/P2P.Host/bin/Release/net10.0/p2p
load=bench/P2P.Benchmarks/bin/Release/net10.0/P2P.Benchmarks.dll
work="$(mktemp -d)"
pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
. bench/servers.sh

# Starts N signal nodes of one fleet (the first seeds the others); sets urls and node_pids.
start_signal_fleet() {
    local n="$1" seed_port i port out url
    seed_port="$(free_port)"
    urls="" node_pids=""
    for i in $(seq 1 "$n"); do
        port=$([ "$i" = 1 ] && echo "$seed_port" || free_port)
        out="$work/signal-$n-$i.out"
        "$p2p" signal --listen 127.0.0.1:0 --cluster-port "$port" --seed "127.0.0.1:$seed_port" >"$out" 2>&1 &
        pids+=($!)
        node_pids="$node_pids${node_pids:+,}$!"
        url=""
        for _ in $(seq 1 300); do
            url="$(grep -oE 'ws://127\.0\.0\.1:[0-9]+/' "$out" | head -n1 || true)"
            [ -n "$url" ] && break
            kill -0 "${pids[-1]}" 2>/dev/null || { cat "$out" >&2; die "signal node $i exited at start"; }
            sleep 0.1
        done
        [ -n "$url" ] || { cat "$out" >&2; die "signal node $i did not start"; }
        urls="$urls${urls:+,}$url"
    done
}

signal_line() {
    local n="$1"
    log "p2p signal: $n node(s), $rooms rooms, $idle idle connections"
    start_signal_fleet "$n"
    dotnet "$load" signalload --urls "$urls" --pids "$node_pids" --rooms "$rooms" --idle "$idle" --idle-seconds 15 --label "$n-node"
    stop_all
}
signal1="$(signal_line 1)"
signal3="$(signal_line 3)"

# Starts N relay nodes of one fleet; sets relay_ports and relay_pids.
start_relay_fleet() {
    local n="$1" seed_port i port cport
    seed_port="$(free_port)"
    relay_ports=() relay_pids=()
    for i in $(seq 1 "$n"); do
        port="$(free_port)"
        cport=$([ "$i" = 1 ] && echo "$seed_port" || free_port)
        "$p2p" relay --listen "127.0.0.1:$port" --user bench:bench --allow-loopback --user-quota 10000 \
            --min-port $((30000 + (i - 1) * 1000)) --max-port $((30999 + (i - 1) * 1000)) \
            --cluster-port "$cport" --seed "127.0.0.1:$seed_port" >"$work/relay-$n-$i.log" 2>&1 &
        pids+=($!)
        relay_pids+=($!)
        relay_ports+=("$port")
        for _ in $(seq 1 150); do stun_answers "$port" && break; sleep 0.1; done
        stun_answers "$port" || { cat "$work/relay-$n-$i.log" >&2; die "relay node $i did not answer"; }
    done
}

relay_line() {
    local n="$1" i allocations total=0 lines="" loads=() job
    allocations=$((64 / n))
    log "p2p relay: $n node(s), $allocations allocations per node, $relay_seconds s"
    start_relay_fleet "$n"
    for i in $(seq 0 $((n - 1))); do
        DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 dotnet "$load" relayload "127.0.0.1:${relay_ports[$i]}" bench bench "${relay_pids[$i]}" \
            --allocations "$allocations" --seconds "$relay_seconds" --label "node$((i + 1))-of-$n" >"$work/load-$n-$i.out" &
        loads+=($!)
    done
    for job in "${loads[@]}"; do wait "$job" || die "a relay load client failed"; done
    for i in $(seq 0 $((n - 1))); do
        lines="$lines$(cat "$work/load-$n-$i.out")"$'\n'
        total=$((total + $(grep -oE '[0-9,]+ packets/s' "$work/load-$n-$i.out" | tr -d , | awk '{print $1}' | head -n1)))
    done
    stop_all
    printf '%srelay-fleet %s node(s): %s packets/s in all\n' "$lines" "$n" "$total"
}
relay1="$(relay_line 1)"
relay2="$(relay_line 2)"

num() { grep -oE "[0-9.]+ $1" | head -n1 | awk '{print $1}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "$signal1"
echo "$signal3"
echo "$relay1"
echo "$relay2"
echo "scaling: signal rooms/s 3 nodes / 1: $(ratio "$(echo "$signal3" | grep signal-rooms | num rooms/s)" "$(echo "$signal1" | grep signal-rooms | num rooms/s)"), relay packets/s 2 nodes / 1: $(ratio "$(echo "$relay2" | grep relay-fleet | num packets/s)" "$(echo "$relay1" | grep relay-fleet | num packets/s)") ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
