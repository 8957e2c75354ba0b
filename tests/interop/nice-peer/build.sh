#!/usr/bin/env bash
# Builds the libnice stand-in for the original program: bin/nice-peer from nice-peer.c.
# Idempotent: does nothing when bin/nice-peer is newer than nice-peer.c and this script.
# Needs gcc, pkg-config and libnice-dev (apt-get install -y libnice-dev gcc pkg-config;
# ../../../test.sh installs them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/nice-peer.c"
OUT_DIR="$HERE/bin"
OUT="$OUT_DIR/nice-peer"

missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1 && ! pkg-config --exists nice 2>/dev/null; then
    missing+=(libnice-dev)
fi
if [ "${#missing[@]}" -ne 0 ]; then
    echo "nice-peer build.sh: missing ${missing[*]}; install with: apt-get install -y libnice-dev gcc pkg-config" >&2
    exit 3
fi

if [ -x "$OUT" ] && [ "$OUT" -nt "$SRC" ] && [ "$OUT" -nt "${BASH_SOURCE[0]}" ]; then
    echo "nice-peer is up to date: $OUT"
    exit 0
fi

mkdir -p "$OUT_DIR"
# Build to a temporary name and rename, so a concurrent run never sees a half-written binary.
TMP="$(mktemp "$OUT_DIR/.nice-peer.XXXXXX")"
trap 'rm -f "$TMP"' EXIT
# shellcheck disable=SC2046
gcc -O2 -Wall -Werror -o "$TMP" "$SRC" $(pkg-config --cflags --libs nice)
chmod 755 "$TMP"
mv -f "$TMP" "$OUT"
trap - EXIT
echo "built $OUT"
