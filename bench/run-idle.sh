#!/usr/bin/env bash
# Idle CPU (issue 12): each long-running `p2p` process is started, given some work, then left alone; its CPU use
# while idle is read from /proc/<pid>/stat (utime + stime) over the given seconds, and its system calls are counted
# with `strace -c -f` over 5 s when strace is installed. coturn's turnserver, given the same work as our relay, is
# the anchor. Loopback only. Goal: under 0.5% of a core for each, whatever it served before.
#
#   bench/run-idle.sh [seconds]        # default 60
#
#   relay:  `p2p relay`, after `turnutils_uclient -c -n 100` (100 messages through a channel of one allocation)
#   coturn: turnserver, after the same
#   signal: `p2p signal`, after one HTTP request and one room in which two `p2p` chats met and connected
#   host:   `p2p host` holding 100 idle secure sessions (open a b, 100 times, through its console)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run-idle: %s\n' "$*" >&2; exit 1; }
command -v turnserver >/dev/null || die "turnserver is not installed (apt-get install coturn)"
command -v turnutils_uclient >/dev/null || die "turnutils_uclient is not installed (apt-get install coturn)"

log "building p2p (Release)"
dotnet build -c Release src/P2P.Host >/dev/null
p2p=src/P2P.Host/bin/Release/net10.0/p2p
hz=$(getconf CLK_TCK)

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

. bench/servers.sh

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, in clock ticks
# "<label>: X% of a core over S s (T CPU ticks), C system calls in 5 s (top: ...)"
measure() {
    local label="$1" pid="$2" before after calls=""
    sleep 10 # what the work left behind (closing, collections) settles first
    kill -0 "$pid" 2>/dev/null || die "$label: the process is gone"
    before=$(ticks "$pid")
    sleep "$seconds"
    after=$(ticks "$pid")
    if command -v strace >/dev/null; then
        calls=$(timeout -s INT 5 strace -c -f -p "$pid" 2>&1 >/dev/null | awk '$NF == "total" { print $4 }' || true)
    fi
    # the machine's load average at the end: on a busy machine wake-ups get batched, so the same process shows less
    awk -v l="$label" -v t=$((after - before)) -v s="$seconds" -v hz="$hz" -v c="$calls" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { printf "idle %s: %.2f%% of a core over %d s (%d CPU ticks)%s, load %s\n", l, 100 * t / hz / s, s, t, c == "" ? "" : sprintf(", %s system calls in 5 s", c), load }'
}

# Waits until the server at $1 answers a STUN Binding request.
wait_stun() {
    for _ in $(seq 1 150); do
        if stun_answers "$1"; then return 0; fi
        sleep 0.1
    done
    die "no STUN answer on 127.0.0.1:$1"
}
relay_work() { turnutils_uclient -u idle -w idle -c -n 100 -y -p "$1" 127.0.0.1 >"$work/uclient-$1.log" 2>&1 || die "turnutils_uclient failed against port $1"; }

port="$(free_port)"
log "p2p relay on 127.0.0.1:$port: 100 messages through it, then ${seconds} s idle"
"$p2p" relay --listen "127.0.0.1:$port" --user idle:idle --allow-loopback --min-port 30000 --max-port 30499 >"$work/relay.log" 2>&1 &
relay_pid=$!; pids+=("$relay_pid")
wait_stun "$port"
relay_work "$port"
relay_line="$(measure relay "$relay_pid")"
echo "$relay_line"

port="$(free_port)"
log "coturn turnserver on 127.0.0.1:$port: the same work, then ${seconds} s idle"
turnserver -n --no-cli --no-tls --no-dtls --listening-ip=127.0.0.1 --listening-port="$port" --relay-ip=127.0.0.1 \
    --min-port=30500 --max-port=30999 --lt-cred-mech --user=idle:idle --realm=p2p --allow-loopback-peers \
    --userdb="$work/turndb" --pidfile="$work/turnserver.pid" --log-file=stdout --simple-log </dev/null >"$work/coturn.log" 2>&1 &
coturn_pid=$!; pids+=("$coturn_pid")
wait_stun "$port"
relay_work "$port"
echo "$(measure coturn "$coturn_pid")"

port="$(free_port)"
log "p2p signal on 127.0.0.1:$port: one HTTP request and one room where two chats connect, then ${seconds} s idle"
"$p2p" signal --listen "127.0.0.1:$port" >"$work/signal.log" 2>&1 &
signal_pid=$!; pids+=("$signal_pid")
for _ in $(seq 1 100); do ss -Hlnt "sport = :$port" | grep -q . && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$port/" || true
chat() { sleep 8 | "$p2p" "$@" --stun none --local-address 127.0.0.1 --signal "ws://127.0.0.1:$port/" --room idle >"$work/chat$#.log" 2>&1; }
chat -s & chat_a=$!
chat & chat_b=$!
wait "$chat_a" "$chat_b" || true
grep -qi connected "$work"/chat*.log || log "the two chats did not report a connection (see their output)"
echo "$(measure signal "$signal_pid")"

log "p2p host with 100 idle secure sessions (open a b, 100 times), then ${seconds} s idle"
mkfifo "$work/host.in"
"$p2p" host --stun none --local-address 127.0.0.1 <"$work/host.in" >"$work/host.log" 2>&1 &
host_pid=$!; pids+=("$host_pid")
exec 9>"$work/host.in"
{ echo "peer add a"; echo "peer add b"; for _ in $(seq 1 100); do echo "open a b"; done; } >&9
for _ in $(seq 1 120); do
    echo "sessions" >&9
    sleep 1
    [ "$(grep -c 'connected' "$work/host.log" || true)" -ge 200 ] && break
done
sleep 10 # the sessions' chats open their channels after connecting
echo "$(measure "host (100 sessions)" "$host_pid")"
exec 9>&-
