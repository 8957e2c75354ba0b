#!/usr/bin/env bash
# Tests lab.sh itself (as root, with no lab up; it leaves none up):
#
#   1. `up` twice is idempotent: the second `up` gives the same lab (namespaces, links and addresses
#      in each, each router's ruleset), with one coturn (a new one; the first is gone) and nothing
#      else left running from the first lab (a stand-in for a p2p left behind in lab-a and lab-srv).
#   2. `down` leaves nothing behind: no lab namespace, none of the processes that ran in the lab's
#      network namespaces (coturn, a stand-in left in lab-b; found through their namespaces just
#      before) still running, no state dir, the default namespace's links and nftables tables as
#      they were before; `down` again succeeds.
#   3. udp-blocked is another name for tcp-only: the same router ruleset.
#   4. A failing `up` exits non-zero with a clear message and leaves nothing: an unknown NAT kind
#      (refused before anything is built), coturn exiting at start and a TERM while `up` waits for
#      coturn (both torn down by `up`'s trap).
#
# Prints one line per check and exits 1 naming the checks that failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB="${HERE}/lab.sh"
STATE="${P2P_LAB_STATE:-/run/p2p-lab}"

[[ ${EUID} -eq 0 ]] || { echo "test-lab: must run as root" >&2; exit 1; }
if ip netns list | awk '{print $1}' | grep -q '^lab-'; then
    echo "test-lab: a lab is up; run lab.sh down first" >&2
    exit 1
fi

failures=()
check() { # check WHAT COMMAND... : runs the command, records the verdict
    local what="$1"
    shift
    if "$@"; then
        echo "ok: ${what}"
    else
        echo "FAILED: ${what}"
        failures+=("${what}")
    fi
}

# What the default namespace has (interfaces, nftables tables): the lab must never change it.
default_view() {
    ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
    echo "--- nft"
    nft list tables 2>/dev/null | sort
}
lab_namespaces() { ip netns list | awk '{print $1}' | grep '^lab-' | sort || true; }
# The network-namespace inodes of the lab as it is now.
lab_inodes() {
    local ns
    for ns in $(lab_namespaces); do stat -L -c %i "/run/netns/${ns}"; done
}
# procs_in INODE... : "pid command" of every live process whose network namespace is one of these.
procs_in() {
    local dir inode i
    for dir in /proc/[0-9]*; do
        inode="$(stat -L -c %i "${dir}/ns/net" 2>/dev/null)" || continue
        for i in "$@"; do
            if [[ "${inode}" == "${i}" ]]; then
                echo "${dir#/proc/} $(tr '\0' ' ' <"${dir}/cmdline" 2>/dev/null)"
            fi
        done
    done
}
# lab_pids : the pids of every process in the lab's namespaces now. (Pids, not namespaces, are what
# is checked afterwards: the kernel reuses a freed namespace inode for the next namespace made.)
lab_pids() {
    # shellcheck disable=SC2046 # a list of inodes
    procs_in $(lab_inodes) | awk '{print $1}' | xargs
}
# gone PID... : each process has exited (absent, or a zombie nobody reaped yet).
gone() {
    local pid
    for pid in "$@"; do
        [[ ! -r "/proc/${pid}/stat" ]] || [[ "$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null)" == Z ]] || return 1
    done
}
# The lab as built: namespaces, each one's interfaces and addresses, each router's ruleset.
lab_view() {
    local ns
    for ns in $(lab_namespaces); do
        echo "== ${ns}"
        ip -n "${ns}" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
        ip -n "${ns}" -o -4 addr show | awk '{print $2, $4}' | sort
        ip -n "${ns}" route show | sort
    done
    for ns in ra rb; do
        echo "== rules lab-${ns}"
        "${LAB}" exec "${ns}" nft -s list ruleset
    done
}
nothing_left() { # nothing_left PID... : no lab namespace, none of these processes, no state dir
    [[ -z "$(lab_namespaces)" ]] && gone "$@" && [[ ! -e "${STATE}" ]]
}

before="$(default_view)"

# Whatever a failed check leaves behind goes when this script ends: the stand-ins it started (by
# their pids, never waited for: a broken `down` would leave them running) and any lab still up.
left_a="" left_srv="" left_b=""
cleanup() {
    local pid
    for pid in ${left_a} ${left_srv} ${left_b}; do kill "${pid}" 2>/dev/null || true; done
    [[ -z "$(lab_namespaces)" ]] || "${LAB}" down || true
}
trap cleanup EXIT

# ---- 1. up twice
"${LAB}" up masquerade symmetric
first_view="$(lab_view)"
first_turn="$(cat "${STATE}/turnserver.pid")"
# stand-ins for programs left running in the lab (a p2p peer in lab-a, a relay in lab-srv)
"${LAB}" exec a sleep 600 &
left_a=$!
"${LAB}" exec srv sleep 600 &
left_srv=$!
sleep 0.3
first_pids="$(lab_pids)"
# shellcheck disable=SC2086 # a list of pids
check "the stand-ins run in the lab before the second up (lab processes: ${first_pids})" \
    bash -c "ps -o args= -p ${first_pids// /,} | grep -c '^sleep 600' | grep -qx 2"

"${LAB}" up masquerade symmetric
second_view="$(lab_view)"
second_turn="$(cat "${STATE}/turnserver.pid")"
check "up twice: the same namespaces, links, addresses, routes and router rules" test "${first_view}" == "${second_view}"
check "up twice: nftables table 'lab' once in each router" \
    test "$("${LAB}" exec ra nft list tables)$("${LAB}" exec rb nft list tables)" == "table ip labtable ip lab"
check "up twice: the first coturn (pid ${first_turn}) is gone" gone "${first_turn}"
check "up twice: the stand-ins left in lab-a and lab-srv were ended" gone "${left_a}" "${left_srv}"
# shellcheck disable=SC2086
check "up twice: every process of the first lab is gone (${first_pids})" gone ${first_pids}
check "up twice: exactly one process in the new lab, its coturn (pid ${second_turn})" test "$(lab_pids)" == "${second_turn}"
check "up twice: coturn answers" "${LAB}" exec a bash -c 'exec 3<>/dev/tcp/198.18.0.10/3478'

# ---- 2. down
"${LAB}" exec b sleep 600 &
left_b=$!
sleep 0.3
second_pids="$(lab_pids)"
check "a stand-in runs in lab-b before down" bash -c "ps -o args= -p ${second_pids// /,} | grep -qx 'sleep 600'"
"${LAB}" down
check "down: no lab namespace left" test -z "$(lab_namespaces)"
# shellcheck disable=SC2086
check "down: every process that ran in the lab is gone (${second_pids})" gone ${second_pids}
check "down: coturn (pid ${second_turn}) is gone" gone "${second_turn}"
check "down: no state dir ${STATE}" test ! -e "${STATE}"
check "down: the default namespace's links and nftables tables are as before" test "$(default_view)" == "${before}"
check "down again succeeds" "${LAB}" down

# ---- 3. one router, two names
"${LAB}" up tcp-only https-only
tcp_only_rules="$("${LAB}" exec ra nft -s list ruleset)"
"${LAB}" up udp-blocked https-only
check "udp-blocked and tcp-only are the same router" test "$("${LAB}" exec ra nft -s list ruleset)" == "${tcp_only_rules}"
check "the kinds file keeps the name given (udp-blocked)" grep -qx 'ra=udp-blocked' "${STATE}/kinds"
"${LAB}" down

# ---- 4. failing up
set +e
out="$("${LAB}" up bogus masquerade 2>&1)"
rc=$?
set -e
echo "${out}" | sed 's/^/    /'
check "up bogus: exits non-zero" test "${rc}" -ne 0
check "up bogus: says the kind is unknown and lists the kinds" grep -q "unknown NAT kind 'bogus' (one of: masquerade port-restricted" <<<"${out}"
check "up bogus: nothing left" nothing_left

set +e
out="$(P2P_LAB_COTURN_ARGS=--no-such-option "${LAB}" up masquerade full-cone 2>&1)"
rc=$?
set -e
grep '^lab:' <<<"${out}" | sed 's/^/    /'
check "up with a coturn that exits at start: exits non-zero" test "${rc}" -ne 0
check "up with a coturn that exits at start: says so and that it tears down" \
    bash -c 'grep -q "turnserver exited at start" <<<"$1" && grep -q "up failed (exit 1); tearing the lab down" <<<"$1"' _ "${out}"
check "up with a coturn that exits at start: nothing left" nothing_left
check "up with a coturn that exits at start: the default namespace as before" test "$(default_view)" == "${before}"

# coturn on another port: it runs, but `up` waits for it on 3478 (5 s) -- TERM it while it waits
log="$(mktemp)"
P2P_LAB_COTURN_ARGS="--listening-port 3490" "${LAB}" up full-cone udp-blocked >"${log}" 2>&1 &
up_pid=$!
for _ in $(seq 1 100); do
    [[ -s "${STATE}/turnserver.pid" ]] && break
    sleep 0.05
done
term_pids="$(lab_pids)"
kill -TERM "${up_pid}"
set +e
wait "${up_pid}"
rc=$?
set -e
sed 's/^/    /' "${log}"
check "up TERMed while waiting for coturn: exits 143" test "${rc}" -eq 143
check "up TERMed while waiting for coturn: says it tears down" grep -q "up failed (exit 143); tearing the lab down" "${log}"
# shellcheck disable=SC2086
check "up TERMed while waiting for coturn: nothing left (lab processes were ${term_pids})" nothing_left ${term_pids}
rm -f "${log}"

if [[ ${#failures[@]} -gt 0 ]]; then
    printf 'test-lab: FAILED: %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "test-lab: lab.sh passed every check"
