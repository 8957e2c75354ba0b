#!/usr/bin/env bash
# Relay throughput (issue 7): `p2p relay` and coturn's turnserver, each started alone on 127.0.0.1 in turn and driven
# by the same load client of ours (bench/P2P.Benchmarks relayload: 64 UDP allocations, a channel each, 8 packets in
# flight per allocation, 100-byte payloads, sent as fast as the relay returns them). Prints one line per server and
# the ratios ours / coturn. Loopback only.
#
#   bench/run-relay.sh [seconds] [relayload options: --allocations A --window W --size B]
#
# coturn runs with its defaults for threads (Net Engine 3: one UDP relay thread per CPU, here `nproc`), no TLS/DTLS,
# no CLI, long-term credentials. The relayed ports of both servers come from RELAY_PORTS (default 30000-30999, below
# the kernel's ephemeral range so that the load client's own sockets never take them).
#
# Then the same over TURN over TLS (RFC 8656 §3.1; skipped with RELAY_TLS=0): each server also listens for TLS on
# 127.0.0.1 with one ECDSA P-256 certificate made here by openssl (`p2p relay --tls-listen --cert --key`, coturn's
# `--tls-listening-port --cert --pkey`), and the load client opens its allocations over TLS (relayload --tls: one TLS
# connection per allocation, one record per message); the peers stay on UDP. Lines "relay ours-tls" and "relay
# coturn-tls", and their ratios.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-10}"
[ $# -gt 0 ] && shift
ports="${RELAY_PORTS:-30000-30999}"
min_port="${ports%-*}" max_port="${ports#*-}"
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run-relay: %s\n' "$*" >&2; exit 1; }
command -v turnserver >/dev/null || die "turnserver is not installed (apt-get install coturn)"
command -v turnutils_stunclient >/dev/null || die "turnutils_stunclient is not installed (apt-get install coturn)"

log "building p2p and the load client (Release)"
dotnet build -c Release src/P2P.Host >/dev/null
dotnet build -c Release bench/P2P.Benchmarks >/dev/null
p2p=src/P2P.Host/bin/Release/net10.0/p2p
load=bench/P2P.Benchmarks/bin/Release/net10.0/P2P.Benchmarks.dll
# The load client runs its socket continuations on .NET's epoll thread instead of handing each to the thread pool:
# a third less CPU per packet for the client, which shares the machine's cores with the server under test.
relayload() { DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 dotnet "$load" relayload "$@"; }

work="$(mktemp -d)"
server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

. bench/servers.sh

# Waits until the server at $1 answers a STUN Binding request (both serve STUN on the TURN port).
wait_ready() {
    for _ in $(seq 1 150); do
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited at start"; }
        if stun_answers "$1"; then return 0; fi
        sleep 0.1
    done
    cat "$work/server.log" >&2
    die "the server did not answer on 127.0.0.1:$1"
}

port="$(free_port)"
log "p2p relay on 127.0.0.1:$port (relayed ports $ports)"
"$p2p" relay --listen "127.0.0.1:$port" --user bench:bench --allow-loopback --user-quota 10000 \
    --min-port "$min_port" --max-port "$max_port" >"$work/server.log" 2>&1 &
server_pid=$!
wait_ready "$port"
ours="$(relayload "127.0.0.1:$port" bench bench "$server_pid" --seconds "$seconds" --label ours "$@")"
stop_server

port="$(free_port)"
log "coturn turnserver on 127.0.0.1:$port (relayed ports $ports, $(nproc) relay threads by default)"
# -n: no config file. The user database is a private file in the work dir, as in tests/lab/lab.sh.
turnserver -n --no-cli --no-tls --no-dtls --listening-ip=127.0.0.1 --listening-port="$port" --relay-ip=127.0.0.1 \
    --min-port="$min_port" --max-port="$max_port" --lt-cred-mech --user=bench:bench --realm=p2p --allow-loopback-peers \
    --userdb="$work/turndb" --pidfile="$work/turnserver.pid" --log-file=stdout --simple-log </dev/null >"$work/server.log" 2>&1 &
server_pid=$!
wait_ready "$port"
coturn="$(relayload "127.0.0.1:$port" bench bench "$server_pid" --seconds "$seconds" --label coturn "$@")"
engine="$(grep -m1 'Net Engine' "$work/server.log" | sed 's/^.*: //' || true)"
stop_server

num() { grep '^relay ' | grep -oE "[0-9.]+ $1" | head -n1 | awk '{print $1}'; }   # the number before a label
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "$ours"
echo "$coturn"
echo "coturn: Net Engine version ${engine:-?} on $(nproc) CPUs"
echo "ours / coturn: packets/s $(ratio "$(echo "$ours" | num packets/s)" "$(echo "$coturn" | num packets/s)"), CPU/packet $(ratio "$(echo "$ours" | num 'us CPU/packet')" "$(echo "$coturn" | num 'us CPU/packet')")"

[ "${RELAY_TLS:-1}" = 0 ] && exit 0
command -v openssl >/dev/null || die "openssl is not installed (needed for the TLS certificate)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null \
    || die "openssl could not make a certificate"

port="$(free_port)" tls_port="$(free_port)"
log "p2p relay on 127.0.0.1:$port, TLS on 127.0.0.1:$tls_port (relayed ports $ports)"
"$p2p" relay --listen "127.0.0.1:$port" --tls-listen "127.0.0.1:$tls_port" --cert "$work/tls.crt" --key "$work/tls.key" \
    --user bench:bench --allow-loopback --user-quota 10000 --min-port "$min_port" --max-port "$max_port" >"$work/server.log" 2>&1 &
server_pid=$!
wait_ready "$port"
ours_tls="$(relayload "127.0.0.1:$tls_port" bench bench "$server_pid" --seconds "$seconds" --label ours-tls --tls "$@")"
stop_server

port="$(free_port)" tls_port="$(free_port)"
log "coturn turnserver on 127.0.0.1:$port, TLS on 127.0.0.1:$tls_port (relayed ports $ports)"
turnserver -n --no-cli --no-dtls --cert "$work/tls.crt" --pkey "$work/tls.key" --listening-ip=127.0.0.1 --listening-port="$port" \
    --tls-listening-port="$tls_port" --relay-ip=127.0.0.1 --min-port="$min_port" --max-port="$max_port" --lt-cred-mech --user=bench:bench \
    --realm=p2p --allow-loopback-peers --userdb="$work/turndb-tls" --pidfile="$work/turnserver.pid" --log-file=stdout --simple-log \
    </dev/null >"$work/server.log" 2>&1 &
server_pid=$!
wait_ready "$port"
coturn_tls="$(relayload "127.0.0.1:$tls_port" bench bench "$server_pid" --seconds "$seconds" --label coturn-tls --tls "$@")"
stop_server

echo "$ours_tls"
echo "$coturn_tls"
echo "ours / coturn over TLS: packets/s $(ratio "$(echo "$ours_tls" | num packets/s)" "$(echo "$coturn_tls" | num packets/s)"), CPU/packet $(ratio "$(echo "$ours_tls" | num 'us CPU/packet')" "$(echo "$coturn_tls" | num 'us CPU/packet')")"
