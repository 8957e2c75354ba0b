#!/usr/bin/env bash
# Installs the third-party WebRTC peers (@roamhq/wrtc, werift) into
# tests/interop/webrtc/node_modules. Idempotent: does nothing when the installed
# packages already match package-lock.json; otherwise `npm ci` (or `npm install`
# when there is no lock file). Needs Node.js >= 20 and npm on PATH.
#
# Installing does not run any peer; running them is only allowed through
# run-isolated.sh (see its header).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

fail() { printf 'tests/interop/webrtc/setup.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || fail "node (Node.js >= 20) is not on PATH; install Node.js 20 and npm (e.g. apt-get install nodejs npm) and retry."
command -v npm >/dev/null 2>&1 || fail "npm is not on PATH; install npm (it comes with Node.js) and retry."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail "Node.js $(node -v) is too old; Node.js >= 20 is needed."

# npm writes node_modules/.package-lock.json after every successful install;
# when it matches package-lock.json (same packages) and the native binding is there,
# the install is current.
installed_ok() {
    [ -f node_modules/.package-lock.json ] || return 1
    [ -f node_modules/werift/package.json ] || return 1
    [ -f node_modules/@roamhq/wrtc/package.json ] || return 1
    [ ! -f package-lock.json ] && return 0
    [ node_modules/.package-lock.json -nt package-lock.json ] || return 1
    node -e '
        const fs = require("fs");
        const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
        const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
        for (const [path, p] of Object.entries(want)) {
            if (path === "" || p.optional && !have[path]) continue;
            if (!have[path] || have[path].version !== p.version) process.exit(1);
        }' || return 1
    # the prebuilt libwebrtc binding for this platform (loaded only in isolation, like every use)
    "$HERE/run-isolated.sh" node -e 'require("@roamhq/wrtc")' >/dev/null 2>&1 || return 1
}

if installed_ok; then
    echo "tests/interop/webrtc: npm packages already installed"
    exit 0
fi

export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
if [ -f package-lock.json ]; then
    echo "tests/interop/webrtc: npm ci"
    npm ci --no-audit --no-fund || fail "npm ci failed (is the npm registry reachable?)"
else
    echo "tests/interop/webrtc: npm install (no package-lock.json yet)"
    npm install --no-audit --no-fund || fail "npm install failed (is the npm registry reachable?)"
fi
"$HERE/run-isolated.sh" node -e 'require("@roamhq/wrtc"); require("werift")' \
    || fail "packages installed but @roamhq/wrtc or werift cannot be loaded"
echo "tests/interop/webrtc: npm packages installed"
