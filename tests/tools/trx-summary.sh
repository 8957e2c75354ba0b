#!/usr/bin/env bash
# Sum the <ResultSummary><Counters .../> of every TRX file given (files or
# directories, searched recursively) and print ONE line:
#     N passed, N failed[, N skipped]
# failed  = failed + error + timeout + aborted
# skipped = notExecuted (only shown when > 0); VSTest leaves that counter at 0
#           for xunit [Fact(Skip=...)] tests, so per file the larger of it and
#           the number of <UnitTestResult outcome="NotExecuted"> is used.
#
# Exit status: 0 = tests ran and none failed
#              1 = at least one test failed
#              2 = no TRX file found, or zero tests ran (passed + failed == 0)
# Plain bash + POSIX awk (works with mawk, Debian's default awk); no python.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 <TRX file or directory>..." >&2
    exit 2
fi

files=()
for arg in "$@"; do
    if [ -d "$arg" ]; then
        while IFS= read -r -d '' f; do files+=("$f"); done \
            < <(find "$arg" -type f -name '*.trx' -print0 | sort -z)
    elif [ -f "$arg" ]; then
        files+=("$arg")
    fi
done

if [ "${#files[@]}" -eq 0 ]; then
    echo "0 passed, 0 failed"
    exit 2
fi

# RS="<": every record is one XML tag, so attributes may span lines.
# Only the first <Counters> inside <ResultSummary> of each file is counted.
awk '
    function attr(tag, name,    re, v) {
        re = "[ \t\r\n]" name "[ \t\r\n]*=[ \t\r\n]*\"[0-9]*\""
        if (!match(tag, re)) return 0
        v = substr(tag, RSTART, RLENGTH)
        sub(/^[^"]*"/, "", v); sub(/"$/, "", v)
        return v + 0
    }
    function flush() {
        skipped += (ne_counter > ne_results ? ne_counter : ne_results)
        ne_counter = 0; ne_results = 0
    }
    BEGIN { RS = "<" }
    FNR == 1 { flush(); insummary = 0; counted = 0 }
    /^UnitTestResult[ \t\r\n]/ && /[ \t\r\n]outcome[ \t\r\n]*=[ \t\r\n]*"NotExecuted"/ { ne_results++ }
    /^ResultSummary[ \t\r\n>\/]/ { insummary = 1; next }
    /^\/ResultSummary/            { insummary = 0; next }
    insummary && !counted && /^Counters[ \t\r\n\/>]/ {
        passed  += attr($0, "passed")
        failed  += attr($0, "failed") + attr($0, "error") + attr($0, "timeout") + attr($0, "aborted")
        ne_counter = attr($0, "notExecuted")
        counted = 1
    }
    END {
        flush()
        line = passed + 0 " passed, " failed + 0 " failed"
        if (skipped > 0) line = line ", " skipped " skipped"
        print line
        if (failed > 0) exit 1
        if (passed + failed == 0) exit 2
        exit 0
    }
' "${files[@]}"
