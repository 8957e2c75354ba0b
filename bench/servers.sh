# Shared by the bench scripts that start servers on 127.0.0.1 (sourced from the repository root; the caller
# defines `die`).

# A UDP and TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 9000))
        if ! ss -Hlnu "sport = :$port" | grep -q . && ! ss -Hlnt "sport = :$port" | grep -q .; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found"
}

# True once the STUN (or TURN) server on 127.0.0.1:$1 answers a Binding request, within half a second.
stun_answers() {
    timeout 0.5 turnutils_stunclient -p "$1" 127.0.0.1 2>/dev/null | grep -q 'UDP reflexive addr'
}
