#!/usr/bin/env bash
# Run the whole P2P test suite.
#
#   ./test.sh                      # everything
#   ./test.sh --filter 'FullyQualifiedName~Stun'   # extra args go to `dotnet test`
#
# Works on a fresh Debian 12 machine that has only the .NET 10 SDK: system
# packages the tests need (coturn, ...) are installed with apt-get when missing
# (as root, or through sudo). The WebRTC interop peers (tests/interop/webrtc)
# are installed with npm; they need Node.js >= 20 and npm, which that machine has.
#
# Builds P2P.sln (Release) once, runs every test project with TRX + console
# loggers, writes TRX files to TestResults/ (cleaned on each run) and, as the
# very LAST line of output, prints the totals over all TRX files:
#     N passed, N failed[, N skipped]
# Exit status is non-zero if the build or `dotnet test` failed, any test failed,
# no TRX file was produced, or zero tests ran.
set -euo pipefail

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Plain, append-only build output (the interactive terminal logger redraws lines
# and can hide the console test logger); override by exporting it yourself.
export MSBUILDTERMINALLOGGER="${MSBUILDTERMINALLOGGER:-off}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

SOLUTION="P2P.sln"
CONFIGURATION="Release"
RESULTS_DIR="$ROOT/TestResults"
SUMMARISER="$ROOT/tests/tools/trx-summary.sh"

# System packages the tests need. One entry per package:
#   "package"                      installed iff dpkg says so
#   "package:cmd1,cmd2,..."        installed iff every command is on PATH
# Add more later, e.g. "nftables:nft".
APT_PACKAGES=(
    "coturn:turnserver,turnutils_uclient"
    # tests/interop/nice-peer (the libnice stand-in for the original program) builds with these
    "libnice-dev"
    "gcc:gcc"
    "pkg-config:pkg-config"
    # tests/lab (the NAT lab: network namespaces, nftables NATs, coturn)
    "iproute2:ip"
    "nftables:nft"
    "conntrack:conntrack"
    "openssl:openssl"   # the lab's TURN certificate (TLS on 443)
    # tests/lab/link-delay (lab.sh link: delay and loss on an NFQUEUE, since the kernel has no netem)
    "libnetfilter-queue-dev"
    "iptables:iptables-nft"
    # tests/P2P.Actors.Tests/Mdns: a third-party mDNS responder and resolver beside ours
    "python3-zeroconf"
    # the chat page's browser tests (Category=Browser): Debian's Chromium, driven by PuppeteerSharp, no download
    "chromium:chromium"
)

log() { printf '==> %s\n' "$*"; }
err() { printf 'test.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- prerequisites
SUDO=()
have_root() {
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        # Without a terminal sudo cannot ask for a password: fail instead of hanging.
        if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
    else
        return 1
    fi
}

package_present() { # $1 = "package[:cmd,...]"
    local pkg="${1%%:*}" cmds="" cmd
    [ "$pkg" != "$1" ] && cmds="${1#*:}"
    if [ -n "$cmds" ]; then
        local IFS=','
        for cmd in $cmds; do
            command -v "$cmd" >/dev/null 2>&1 || return 1
        done
        return 0
    fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'
}

install_prerequisites() {
    local entry pkg missing=()
    for entry in "${APT_PACKAGES[@]}"; do
        pkg="${entry%%:*}"
        if ! package_present "$entry"; then
            case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    log "Installing missing system packages: ${missing[*]}"
    if ! command -v apt-get >/dev/null 2>&1; then
        err "missing packages (${missing[*]}) and apt-get is not available; install them by hand."
        return 1
    fi
    if ! have_root; then
        err "missing packages (${missing[*]}); run as root, install sudo, or run:"
        err "    apt-get update && apt-get install -y ${missing[*]}"
        return 1
    fi
    if ! "${SUDO[@]}" apt-get update; then
        err "apt-get update failed"
        return 1
    fi
    if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y "${missing[@]}"; then
        err "apt-get install ${missing[*]} failed"
        return 1
    fi
    for entry in "${APT_PACKAGES[@]}"; do
        if ! package_present "$entry"; then
            err "package ${entry%%:*} still missing after apt-get install (${entry})"
            return 1
        fi
    done
}

# The tests start their own turnserver; a system coturn service would hold 3478.
stop_system_turnserver() {
    local running=0
    if command -v systemctl >/dev/null 2>&1 \
        && systemctl is-active --quiet coturn 2>/dev/null; then
        running=1
    elif command -v service >/dev/null 2>&1 \
        && [ -e /etc/init.d/coturn ] \
        && service coturn status >/dev/null 2>&1; then
        running=1
    fi
    [ "$running" -eq 1 ] || return 0

    log "Stopping and disabling the system coturn service (it would hold port 3478)"
    if ! have_root; then
        err "warning: system coturn service is running and cannot be stopped without root"
        return 0
    fi
    if command -v systemctl >/dev/null 2>&1; then
        "${SUDO[@]}" systemctl stop coturn >/dev/null 2>&1 || true
        "${SUDO[@]}" systemctl disable coturn >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null 2>&1; then
        "${SUDO[@]}" service coturn stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
        "${SUDO[@]}" update-rc.d coturn disable >/dev/null 2>&1 || true
    fi
    return 0
}

# Third-party WebRTC peers for the interop tests (tests/interop/webrtc): npm ci of
# @roamhq/wrtc and werift. Node.js >= 20 and npm come with this kind of machine;
# setup.sh says plainly what is missing if they do not.
install_webrtc_peers() {
    log "Installing the WebRTC interop peers (tests/interop/webrtc/setup.sh)"
    if ! "$ROOT/tests/interop/webrtc/setup.sh"; then
        err "tests/interop/webrtc/setup.sh failed: the WebRTC interop tests need Node.js >= 20, npm and the npm registry"
        return 1
    fi
}

# ----------------------------------------------------------------------- main
status=0

install_prerequisites || exit 1
stop_system_turnserver
install_webrtc_peers || exit 1

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

build_args=(-c "$CONFIGURATION")
if [ -n "${CI:-}" ] && [ "${CI:-}" != "false" ] && [ "${CI:-}" != "0" ]; then
    # No build servers left behind holding the CI job's output pipes open.
    export MSBUILDDISABLENODEREUSE=1
    export DOTNET_CLI_USE_MSBUILD_SERVER=0
    build_args+=(-p:UseSharedCompilation=false)
fi

log "dotnet build $SOLUTION ${build_args[*]}"
build_rc=0
dotnet build "$SOLUTION" "${build_args[@]}" || build_rc=$?

# One more pass of the actor tests: $1 what it is (logged), $2 its TRX prefix, $3 its filter, $4 its hang timeout,
# $5 what failed (for the error line), then an optional command to run dotnet inside (the isolated namespace's script).
actors_pass() {
    local rc=0
    log "$1"
    ${6:+"$6"} dotnet test tests/P2P.Actors.Tests/P2P.Actors.Tests.csproj -c "$CONFIGURATION" --no-build \
        --results-directory "$RESULTS_DIR" \
        --logger "trx;LogFilePrefix=$2" \
        --logger "console;verbosity=normal" \
        --blame-hang-timeout "$4" \
        --filter "$3" || rc=$?
    if [ "$rc" -ne 0 ]; then
        err "$5 exited with $rc"
        status=1
    fi
}

test_rc=0
if [ "$build_rc" -ne 0 ]; then
    err "build failed (exit $build_rc); tests were not run"
    status=1
else
    # Tests that talk to third-party WebRTC stacks (Category=WebRtcIsolated) run in a second pass inside a
    # loopback-only network namespace, together with the stacks they start (tests/interop/webrtc/README.md).
    filter=(--filter "Category!=WebRtcIsolated&Category!=Lab&Category!=Browser&Category!=MdnsLink&Category!=Fleet")
    [ "$#" -gt 0 ] && filter=()   # the caller chose what to run
    log "dotnet test $SOLUTION -c $CONFIGURATION --no-build ${filter[*]} $*"
    dotnet test "$SOLUTION" -c "$CONFIGURATION" --no-build \
        --results-directory "$RESULTS_DIR" \
        --logger "trx;LogFilePrefix=P2P" \
        --logger "console;verbosity=normal" \
        --blame-hang-timeout 10m \
        "${filter[@]}" "$@" || test_rc=$?
    if [ "$test_rc" -ne 0 ]; then
        err "dotnet test exited with $test_rc"
        status=1
    fi
    if [ "$#" -eq 0 ]; then
        # The fleet tests (Category=Fleet) start several p2p signal and p2p relay nodes of one Akka.Cluster on
        # 127.0.0.1, peers across them, and kill some mid-use: a pass of their own, so that no other test loads the
        # machine while a failure detector and a split-brain resolver time a node's loss.
        actors_pass "dotnet test (Category=Fleet): p2p signal and p2p relay fleets, real processes on 127.0.0.1" \
            P2P-fleet "Category=Fleet" 10m "the fleet tests"
        # The WebRTC interop tests run inside a loopback-only network namespace with the stacks they start; the NAT lab
        # (tests/lab, Category=Lab: kernel NATs in network namespaces) and the Chromium and mDNS link tests
        # (Category=Browser, MdnsLink: each test makes its own page-*/mdns-* namespace with a veth pair) need root, as
        # CI has; each runs after the one before, so that none loads another.
        actors_pass "dotnet test (Category=WebRtcIsolated) inside a loopback-only network namespace" \
            P2P-webrtc "Category=WebRtcIsolated" 10m "dotnet test of the WebRTC interop tests" "$ROOT/tests/interop/webrtc/run-isolated.sh"
        if [ "$(id -u)" -eq 0 ]; then
            actors_pass "dotnet test (Category=Lab): the NAT lab, real p2p processes behind nftables NATs" \
                P2P-lab "Category=Lab" 15m "the NAT lab (the failing cells are named above and in tests/lab/results.md)"
            actors_pass "dotnet test (Category=Browser|Category=MdnsLink): Chromium and mDNS on veth links in network namespaces" \
                P2P-browser "Category=Browser|Category=MdnsLink" 10m "the browser and mDNS link tests"
        else
            log "the NAT lab (Category=Lab) and the browser and mDNS link tests (Category=Browser, MdnsLink) need root: not run (CI runs as root)"
        fi
    fi
fi

summary_rc=0
summary="$("$SUMMARISER" "$RESULTS_DIR")" || summary_rc=$?
case "$summary_rc" in
    0) ;;
    1) status=1 ;;
    *)
        if [ -z "$(find "$RESULTS_DIR" -type f -name '*.trx' -print -quit)" ]; then
            err "no TRX file was produced in $RESULTS_DIR"
        else
            err "zero tests ran"
        fi
        status=1
        ;;
esac
[ -n "$summary" ] || summary="0 passed, 0 failed"

# The failed tests by name, right above the summary (a long log may only be read from its end).
failed_names="$(find "$RESULTS_DIR" -type f -name '*.trx' -exec awk 'BEGIN { RS = "<" }
    /^UnitTestResult[ \t\r\n]/ && /outcome="Failed"/ {
        if (match($0, /testName="[^"]*"/)) print "  FAILED " substr($0, RSTART + 10, RLENGTH - 11)
    }' {} + 2>/dev/null || true)"
[ -z "$failed_names" ] || printf 'failed tests:\n%s\n' "$failed_names"

# Must stay the last line printed.
printf '%s\n' "$summary"
exit "$status"
