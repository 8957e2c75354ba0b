#!/usr/bin/env bash
# Idle TCP connections to a TURN server (issue 12): `p2p relay` and coturn's turnserver, each started alone on
# 127.0.0.1 with its default settings, get N TCP connections (default 300, all from 127.0.0.1) that never send a
# byte. Prints, every 15 s for `seconds` (default 150), how many of them each server still holds open, and how many
# it closed at once (refused). Loopback only; nothing is relayed.
#
#   bench/run-relay-idle-tcp.sh [connections] [seconds]
#
# p2p relay's defaults (akka.hocon p2p.relay): tcp-idle-timeout 60 s (checked every 30 s), max-tcp-connections 4096,
# max-tcp-connections-per-ip 64. coturn: its own defaults (no --max-bps, no per-IP limit options given).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
connections="${1:-300}"
seconds="${2:-150}"
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run-relay-idle-tcp: %s\n' "$*" >&2; exit 1; }
command -v turnserver >/dev/null || die "turnserver is not installed (apt-get install coturn)"
ulimit -n 4096 2>/dev/null || true

log "building p2p (Release)"
dotnet build -c Release src/P2P.Host >/dev/null
p2p=src/P2P.Host/bin/Release/net10.0/p2p
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

ours="$(free_port)"
"$p2p" relay --listen "127.0.0.1:$ours" --user bench:bench >"$work/p2p.log" 2>&1 &
pids+=($!)
theirs="$(free_port)"
(cd "$work" && exec turnserver -n --no-cli --no-tls --no-dtls --listening-ip 127.0.0.1 --listening-port "$theirs" \
    --relay-ip 127.0.0.1 --lt-cred-mech --user bench:bench --realm bench --userdb "$work/turndb.sqlite" \
    --pidfile "$work/turnserver.pid" --log-file stdout --simple-log >"$work/coturn.log" 2>&1) &
pids+=($!)
sleep 3

python3 - "$connections" "$seconds" "$ours" "$theirs" <<'PY'
import selectors, socket, sys, time
n, seconds, ours, theirs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
servers = {"p2p relay": ours, "coturn": theirs}
sel = selectors.DefaultSelector()
open_, closed_at = {}, {}
start = time.monotonic()
for name, port in servers.items():
    open_[name] = 0
    closed_at[name] = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, name)
        open_[name] += 1
def report(t):
    print(f"t={t:4.0f} s  " + "  ".join(f"{name}: {open_[name]:4d} open" for name in servers), flush=True)
next_report = 0
while True:
    t = time.monotonic() - start
    if t >= next_report:
        report(t)
        next_report += 15
        if t >= seconds:
            break
    for key, _ in sel.select(timeout=0.5):
        s, name = key.fileobj, key.data
        try:
            data = s.recv(4096)
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
            open_[name] -= 1
            closed_at[name].append(time.monotonic() - start)
for name in servers:
    c = sorted(closed_at[name])
    at_once = sum(1 for x in c if x < 2)
    later = [x for x in c if x >= 2]
    span = f"{later[0]:.0f}-{later[-1]:.0f} s" if later else "none"
    print(f"{name}: {len(c)} of {n} closed ({at_once} within 2 s of connecting, the rest at {span}); {open_[name]} still open after {seconds} s")
PY
