#!/usr/bin/env bash
# Runs a command inside a fresh loopback-only network namespace, so nothing it
# does can leave the machine:
#
#   tests/interop/webrtc/run-isolated.sh node peer.mjs --stack wrtc --role offer
#
# Every use of @roamhq/wrtc or werift MUST go through this script: werift asks
# Google's public STUN server even with `iceServers: []`, and libwebrtc probes
# 8.8.8.8 to find its default route. In the namespace only `lo` exists (brought
# up here), so all of that fails at once and only 127.0.0.1 / ::1 work.
#
# Processes started by the command (children, grandchildren) share the one
# namespace and can reach each other on loopback; two separate invocations of
# this script cannot reach each other (each gets its own namespace). To run
# several peers that must talk, start ONE isolated process that launches them
# all (see pair.mjs and selftest.mjs).
#
# If the caller is already in a loopback-only namespace (no interface but lo,
# e.g. `run-isolated.sh dotnet test ...` starting a test that starts peers),
# the command runs there directly, so it can reach the caller's loopback.
#
# As root it uses `unshare -n`; otherwise `unshare -rn` (a user namespace
# mapping the caller to root, where the kernel allows unprivileged ones).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 <command> [args...]" >&2
    exit 2
fi
for tool in unshare ip; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run-isolated.sh: '$tool' not found (util-linux / iproute2 needed)" >&2
        exit 127
    fi
done

only_loopback() {
    # `ip` talks netlink, so this lists the interfaces of the CURRENT namespace.
    local others
    others="$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -v '^lo$' || true)"
    [ -z "$others" ] && ip -o link show lo >/dev/null 2>&1
}

if only_loopback; then
    ip link set lo up 2>/dev/null || true
    exec "$@"
fi

if [ "$(id -u)" -eq 0 ]; then
    UNSHARE=(unshare -n)
else
    UNSHARE=(unshare -rn)
fi

# The inner shell brings lo up, checks that it really is alone, then becomes the command.
exec "${UNSHARE[@]}" sh -c '
    ip link set lo up || { echo "run-isolated.sh: cannot bring lo up in the new namespace" >&2; exit 126; }
    if ip -o link show | awk -F": " "{print \$2}" | grep -qv "^lo$"; then
        echo "run-isolated.sh: namespace has interfaces other than lo; refusing" >&2; exit 126
    fi
    exec "$@"' run-isolated "$@"
