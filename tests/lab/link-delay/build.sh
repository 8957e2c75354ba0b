#!/usr/bin/env bash
# Builds the lab's link emulator: bin/link-delay from link-delay.c (lab.sh link runs this).
# Idempotent: does nothing when bin/link-delay is newer than link-delay.c and this script.
# Needs gcc, pkg-config and libnetfilter-queue-dev (apt-get install -y libnetfilter-queue-dev gcc pkg-config;
# ../../../test.sh installs them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/link-delay.c"
OUT_DIR="$HERE/bin"
OUT="$OUT_DIR/link-delay"

missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1 && ! pkg-config --exists libnetfilter_queue 2>/dev/null; then
    missing+=(libnetfilter-queue-dev)
fi
if [ "${#missing[@]}" -ne 0 ]; then
    echo "link-delay build.sh: missing ${missing[*]}; install with: apt-get install -y libnetfilter-queue-dev gcc pkg-config" >&2
    exit 3
fi

if [ -x "$OUT" ] && [ "$OUT" -nt "$SRC" ] && [ "$OUT" -nt "${BASH_SOURCE[0]}" ]; then
    exit 0
fi

mkdir -p "$OUT_DIR"
# Build to a temporary name and rename, so a concurrent run never sees a half-written binary.
TMP="$(mktemp "$OUT_DIR/.link-delay.XXXXXX")"
trap 'rm -f "$TMP"' EXIT
# shellcheck disable=SC2046
gcc -O2 -Wall -Wextra -Werror -o "$TMP" "$SRC" $(pkg-config --cflags --libs libnetfilter_queue)
chmod 755 "$TMP"
mv -f "$TMP" "$OUT"
trap - EXIT
echo "built $OUT" >&2
