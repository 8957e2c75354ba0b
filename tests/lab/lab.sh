#!/usr/bin/env bash
# A NAT lab made of Linux network namespaces: two LANs, each behind its own
# nftables NAT router, and a "public" network with coturn on it.
#
#   lab.sh up <natA> <natB>     build the lab (runs `down` first)
#   lab.sh down                 remove everything the lab made (ok if nothing is up)
#   lab.sh exec <host> <cmd...> run a command in a lab namespace (stdin/stdout/exit status pass through)
#   lab.sh status               what is up
#   lab.sh link <delay-ms> <loss-%> [jitter-ms]   each side's uplink (what its router sends to the public network):
#                               delay, loss and jitter by tests/lab/link-delay on an NFQUEUE; `lab.sh link off` ends it
#   lab.sh forward-tcp <port>   router B forwards TCP <port> from the public network to lab-b (plain-TCP baselines)
#
# NAT kinds: masquerade | port-restricted | symmetric | sequential | full-cone | tcp-only | https-only | public | none
#   (mapping / filtering / port preservation of each: see nat_rules below; udp-blocked is another name for tcp-only)
# Hosts:     srv | a | b | ra | rb
#
# Addresses (exist only inside the lab's namespaces):
#   public 198.18.0.0/24 (a bridge in namespace lab-sw)
#     lab-srv  198.18.0.10 and 198.18.0.11 (coturn, UDP+TCP 3478, alt port 3479, TCP+TLS 443),
#              198.18.0.12 and 198.18.0.13 (free for other servers on 443: the matrix runs p2p relay and p2p signal there)
#     lab-ra   WAN 198.18.0.1, LAN 10.10.1.1/24  ->  lab-a 10.10.1.2 (default via 10.10.1.1)
#     lab-rb   WAN 198.18.0.2, LAN 10.10.2.1/24  ->  lab-b 10.10.2.2 (default via 10.10.2.1)
#     (a `public` router's LAN is public instead: 198.18.1.0/24 for A, 198.18.2.0/24 for B, host .2, routed to
#     from lab-srv and the other router)
#   coturn: long-term credentials, user "lab", password "labpass", realm "lab"; TLS on 443 with a self-signed
#   certificate made at `up` ($STATE/turn-cert.pem, key turn-key.pem); 443 also takes plain TCP.
#
# State (pids, logs, NAT kinds) lives in $P2P_LAB_STATE (default /run/p2p-lab).
# Needs root and the Debian packages iproute2, nftables, conntrack, coturn; `link` also iptables (iptables-nft),
# libnetfilter-queue-dev, gcc and pkg-config (it builds tests/lab/link-delay).
set -euo pipefail

STATE="${P2P_LAB_STATE:-/run/p2p-lab}"
NAMESPACES=(lab-a lab-b lab-ra lab-rb lab-srv lab-sw)
KINDS="masquerade port-restricted symmetric sequential full-cone tcp-only https-only public none"
# the ports a sequential router hands out, in turn: SEQUENTIAL_FIRST and the SEQUENTIAL_PORTS - 1 after it
SEQUENTIAL_FIRST=20000
SEQUENTIAL_PORTS=4096
# Other names a kind is known by (the same router): udp-blocked was tcp-only's name before the firewall kinds.
ALIASES="udp-blocked"

TURN_USER=lab
TURN_PASS=labpass
TURN_REALM=lab
SRV_IP1=198.18.0.10
SRV_IP2=198.18.0.11
SRV_IP3=198.18.0.12
SRV_IP4=198.18.0.13
TURN_PORT=3478
TURN_ALT_PORT=3479
TURN_TLS_PORT=443

say() { printf 'lab: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
    sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

need_root() {
    [[ ${EUID} -eq 0 ]] || die "must run as root (network namespaces and nftables need it)"
}

# need_tools TOOL... : each tool must be on PATH; name the Debian package if not.
need_tools() {
    local tool pkg missing=0
    for tool in "$@"; do
        if ! command -v "${tool}" >/dev/null 2>&1; then
            case "${tool}" in
                ip) pkg=iproute2 ;;
                nft) pkg=nftables ;;
                conntrack) pkg=conntrack ;;
                turnserver | turnutils_stunclient) pkg=coturn ;;
                openssl) pkg=openssl ;;
                *) pkg="${tool}" ;;
            esac
            say "'${tool}' is missing: install the Debian package ${pkg} (apt-get install -y ${pkg})."
            missing=1
        fi
    done
    [[ ${missing} -eq 0 ]] || exit 1
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }

# host_ns NAME : map a short host name to its namespace.
host_ns() {
    case "$1" in
        srv | a | b | ra | rb | sw) printf 'lab-%s\n' "$1" ;;
        lab-srv | lab-a | lab-b | lab-ra | lab-rb | lab-sw) printf '%s\n' "$1" ;;
        *) die "unknown host '$1' (one of: srv a b ra rb)" ;;
    esac
}

in_ns() { local ns="$1"; shift; ip netns exec "${ns}" "$@"; }

# ---------------------------------------------------------------- down

cmd_down() {
    need_root
    need_tools ip
    local ns pid pids tries
    # coturn first, by the pid we kept.
    if [[ -f "${STATE}/turnserver.pid" ]]; then
        pid="$(cat "${STATE}/turnserver.pid")"
        if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
            kill "${pid}" 2>/dev/null || true
            # Wait (up to 3 s) until it is gone: SIGKILL after 1 s if it still runs;
            # a zombie is left to init, whose reaping we wait for so that no
            # turnserver shows in the process list after `down`.
            for tries in $(seq 1 30); do
                [[ -r "/proc/${pid}/stat" ]] || break
                if [[ ${tries} -eq 10 && "$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null)" != Z ]]; then
                    kill -9 "${pid}" 2>/dev/null || true
                fi
                sleep 0.1
            done
        fi
    fi
    # Then anything else still running inside a lab namespace.
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        pids=""
        for ns in "${NAMESPACES[@]}"; do
            if ns_exists "${ns}"; then
                pids+=" $(ip netns pids "${ns}" 2>/dev/null | tr '\n' ' ')"
            fi
        done
        pids="$(echo "${pids}" | xargs)"
        [[ -z "${pids}" ]] && break
        if [[ ${tries} -lt 5 ]]; then
            # shellcheck disable=SC2086 # a list of pids
            kill ${pids} 2>/dev/null || true
        else
            # shellcheck disable=SC2086
            kill -9 ${pids} 2>/dev/null || true
        fi
        sleep 0.1
    done
    for ns in "${NAMESPACES[@]}"; do
        if ns_exists "${ns}"; then
            ip netns del "${ns}"
        fi
    done
    # Remove only the files the lab writes (never rm -r a user-given path).
    if [[ -d "${STATE}" ]]; then
        rm -f "${STATE}/turnserver.pid" "${STATE}/turnserver.log" "${STATE}/turnserver.out" \
            "${STATE}/turndb" "${STATE}/kinds" "${STATE}/turnserver.pid.coturn" "${STATE}/link" \
            "${STATE}/turn-cert.pem" "${STATE}/turn-key.pem" \
            "${STATE}"/link-delay-r[ab].pid "${STATE}"/link-delay-r[ab].out \
            "${STATE}"/turnserver*.log
        rmdir "${STATE}" 2>/dev/null || say "left ${STATE} (it holds files the lab did not write)"
    fi
}

# ---------------------------------------------------------------- up

# nat_rules KIND LAN_CIDR WAN_IP : the nftables ruleset of one router.
# The router's interfaces are "wan" (public side) and "lan".
#
# What each kind is, in RFC 4787 terms (mapping = which public addr:port a LAN flow gets; filtering =
# which packets from outside reach a LAN host through that mapping; port preservation = whether the
# public port is the host's own port). check-nat.sh verifies all three for each router.
#
#   kind             mapping (RFC 4787 4.1)            filtering (RFC 4787 5)           port preserved
#   masquerade       endpoint-independent               address-and-port-dependent       yes
#   port-restricted  endpoint-independent               address-and-port-dependent       no (port XOR 0x4000)
#   symmetric        address-and-port-dependent         address-and-port-dependent       no (random per flow)
#   sequential       address-and-port-dependent         address-and-port-dependent       no (the next port per flow)
#   full-cone        endpoint-independent               endpoint-independent (UDP)       yes
#   tcp-only         no UDP at all, either way; any TCP out (masqueraded, port preserved). Also called udp-blocked.
#   https-only       only TCP to port 443 goes out (masqueraded); everything else is dropped, UDP both ways
#   public           no NAT, no filter: the host has a public address (198.18.1.2 / 198.18.2.2) routed as it is
#   none             no NAT: routed, every packet from the WAN let in, private LAN routed from lab-srv (debugging)
#
# Filtering comes from conntrack: a masqueraded flow's replies are let in only from the exact remote
# addr:port the host sent to (its 5-tuple), and the forward chain drops every other packet from the
# WAN; the input chain drops unsolicited WAN packets to the router itself, so that a peer's early
# punch packet cannot make a conntrack entry that steals the host's mapping (NATLAB-NOTES.md).
# masquerade keeps the host's port when it is free (nf_nat's default for SNAT without a port range).
# port-restricted maps each UDP port to a fixed other port, the host's port with bit 14 flipped
# (40000 -> 56384, 50000 -> 33616): one mapping per local port whatever the destination (so still
# endpoint-independent), never the host's own port. full-cone adds a map of learned mappings (public
# port -> host addr:port) that sends anything arriving on a mapped port inward. symmetric lets the
# kernel pick a random port for every new flow (`masquerade fully-random`, ports from 1024 up). sequential gives
# every new flow (UDP or TCP) the port after the previous flow's (20000, 20001, ... 24095, then 20000 again; nftables'
# `numgen inc`, evaluated once per new conntrack entry), as many carrier NATs do.
# tcp-only and udp-blocked are one router: both names meant "all UDP dropped both ways, any TCP out, masqueraded"
# (and nothing else out: the forward chain's policy drops ICMP and every other protocol from the LAN too).
# https-only is tcp-only narrowed to TCP destination port 443 (an office proxy's firewall without the proxy).
# public is a router that only routes: its LAN is a public subnet, reachable from the whole public network.
nat_rules() {
    local kind="$1" lan="$2" wan_ip="$3"
    local out_rule="iifname \"lan\" oifname \"wan\" accept"
    local back_rule="iifname \"wan\" oifname \"lan\" ct state established,related accept"
    local nat_rule="oifname \"wan\" ip saddr ${lan} masquerade"
    local extra_forward="" extra_chains="" input_rules
    input_rules='iifname "wan" ct state established,related accept
        iifname "wan" drop'
    case "${kind}" in
        masquerade)
            # EIM, APDF, port preserved: plain masquerade, conntrack's 5-tuple does the filtering.
            ;;
        port-restricted)
            # EIM, APDF, port NOT preserved: UDP is SNATed to a fixed port per local port (bit 14
            # flipped; nft computes it from the packet, so the map needs no entries); TCP as masquerade.
            nat_rule="oifname \"wan\" ip saddr ${lan} meta l4proto udp snat ip to ${wan_ip} : udp sport ^ 0x4000
        oifname \"wan\" ip saddr ${lan} masquerade"
            ;;
        symmetric)
            # ADPM (a new random port per flow), APDF, port not preserved.
            nat_rule="oifname \"wan\" ip saddr ${lan} masquerade fully-random"
            ;;
        sequential)
            # ADPM with ports in sequence (one more per new flow, UDP and TCP alike, from 20000), APDF, port not preserved. numgen's
            # value is an integer in host byte order, so a port written straight from it comes out byte-swapped
            # (20000 -> 8270); a map from the counter to the port (an inet_service, network order) gives the port.
            local i seq_ports=""
            for ((i = 0; i < SEQUENTIAL_PORTS; i++)); do seq_ports+="${i} : $((SEQUENTIAL_FIRST + i)), "; done
            nat_rule="oifname \"wan\" ip saddr ${lan} meta l4proto { tcp, udp } snat ip to ${wan_ip} : numgen inc mod ${SEQUENTIAL_PORTS} map { ${seq_ports%, } }"
            ;;
        full-cone)
            # EIM, EIF, port preserved: learn each UDP mapping (public port -> inner addr.port)
            # after SNAT, and send anything arriving on it inward.
            extra_forward='iifname "wan" oifname "lan" ct status dnat accept'
            extra_chains="
    map fc {
        type inet_service : ipv4_addr . inet_service
        flags dynamic,timeout
        timeout 10m
    }
    chain learn {
        type filter hook postrouting priority srcnat + 1; policy accept;
        oifname \"wan\" meta l4proto udp ct status snat update @fc { ct reply proto-dst : ct original ip saddr . ct original proto-src }
    }
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        iifname \"wan\" meta l4proto udp dnat ip to udp dport map @fc
    }"
            ;;
        tcp-only | udp-blocked)
            # Only TCP goes out (masqueraded); UDP is dropped both ways.
            out_rule='iifname "lan" oifname "wan" meta l4proto tcp accept'
            extra_forward='meta l4proto udp counter drop'
            input_rules='meta l4proto udp iifname "wan" counter drop
        iifname "wan" ct state established,related accept
        iifname "wan" drop'
            ;;
        https-only)
            # Only TCP to port 443 goes out (masqueraded); UDP is dropped both ways, any other TCP port by the policy.
            out_rule='iifname "lan" oifname "wan" tcp dport 443 accept'
            extra_forward='meta l4proto udp counter drop'
            input_rules='meta l4proto udp iifname "wan" counter drop
        iifname "wan" ct state established,related accept
        iifname "wan" drop'
            ;;
        public)
            # No NAT and no filter: the LAN is a public subnet, everything is routed both ways.
            nat_rule=""
            out_rule='iifname "lan" oifname "wan" accept'
            back_rule='iifname "wan" oifname "lan" accept'
            input_rules=""
            ;;
        none)
            # Routed, no NAT (for debugging): lab-srv gets a route to this LAN.
            nat_rule=""
            back_rule='iifname "wan" oifname "lan" accept'
            ;;
        *) die "unknown NAT kind '${kind}' (one of: ${KINDS})" ;;
    esac
    cat <<EOF
table ip lab {
    chain input {
        type filter hook input priority filter; policy accept;
        ${input_rules}
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ${extra_forward}
        ${out_rule}
        ${back_rule}
    }
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        ${nat_rule}
    }${extra_chains}
}
EOF
}

# veth NS1 IF1 NS2 IF2 : a veth pair created directly inside the two namespaces.
veth() {
    ip link add name "$2" netns "$1" type veth peer name "$4" netns "$3"
}

# lan_of N KIND : "<LAN> <gateway> <host address>" of side N (1 = A, 2 = B): a private LAN behind a NAT, or a
# public subnet for a public router.
lan_of() {
    if [[ "$2" == public ]]; then
        echo "198.18.$1.0/24 198.18.$1.1 198.18.$1.2"
    else
        echo "10.10.$1.0/24 10.10.$1.1 10.10.$1.2"
    fi
}

setup_router() {
    local r="$1" wan_ip="$2" lan_net="$3" lan_gw="$4" host_ip="$5" host="$6" kind="$7"
    veth "${r}" wan lab-sw "${r#lab-}"
    ip -n lab-sw link set "${r#lab-}" master br0 up
    ip -n "${r}" addr add "${wan_ip}/24" dev wan
    ip -n "${r}" link set wan up
    veth "${r}" lan "${host}" eth0
    ip -n "${r}" addr add "${lan_gw}/24" dev lan
    ip -n "${r}" link set lan up
    ip -n "${host}" addr add "${host_ip}/24" dev eth0
    ip -n "${host}" link set eth0 up
    ip -n "${host}" route add default via "${lan_gw}"
    in_ns "${r}" sysctl -qw net.ipv4.ip_forward=1
    nat_rules "${kind}" "${lan_net}" "${wan_ip}" | in_ns "${r}" nft -f -
    in_ns "${r}" conntrack -F >/dev/null 2>&1 || true
    if [[ "${kind}" == none ]]; then
        ip -n lab-srv route add "${lan_net}" via "${wan_ip}"
    fi
}

turn_answers() {
    local ip port
    for ip in "${SRV_IP1}" "${SRV_IP2}"; do
        timeout 0.5 ip netns exec lab-srv turnutils_stunclient -p "${TURN_PORT}" "${ip}" 2>/dev/null |
            grep -q 'UDP reflexive addr' || return 1
        for port in "${TURN_PORT}" "${TURN_TLS_PORT}"; do
            timeout 2 ip netns exec lab-srv bash -c "exec 3<>/dev/tcp/${ip}/${port}" 2>/dev/null || return 1
        done
    done
}

# The TURN servers' certificate for TLS on 443: self-signed, P-256, for the three server addresses (clients pin its
# SHA-256 fingerprint: `openssl x509 -in $STATE/turn-cert.pem -noout -fingerprint -sha256`).
make_certificate() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj "/CN=lab TURN" \
        -addext "subjectAltName=IP:${SRV_IP1},IP:${SRV_IP2},IP:${SRV_IP3}" \
        -keyout "${STATE}/turn-key.pem" -out "${STATE}/turn-cert.pem" >/dev/null 2>&1 ||
        die "openssl could not make the TURN certificate"
    chmod 600 "${STATE}/turn-key.pem"
}

start_coturn() {
    local pid
    rm -f "${STATE}/turndb"
    make_certificate
    # -n: ignore /etc/turnserver.conf. The userdb is a private file in the state dir. TLS on 443 (coturn's TLS
    # listener also takes plain TCP, so 443 serves both; its alternate TLS port 444 is unused); no DTLS.
    ip netns exec lab-srv turnserver -n --no-cli --no-dtls \
        --listening-ip "${SRV_IP1}" --listening-ip "${SRV_IP2}" --relay-ip "${SRV_IP1}" \
        --listening-port "${TURN_PORT}" --alt-listening-port "${TURN_ALT_PORT}" \
        --tls-listening-port "${TURN_TLS_PORT}" --cert "${STATE}/turn-cert.pem" --pkey "${STATE}/turn-key.pem" \
        --lt-cred-mech --user "${TURN_USER}:${TURN_PASS}" --realm "${TURN_REALM}" \
        --userdb "${STATE}/turndb" --pidfile "${STATE}/turnserver.pid.coturn" \
        --log-file "${STATE}/turnserver.log" --simple-log --no-stdout-log ${P2P_LAB_COTURN_ARGS:-} \
        </dev/null >"${STATE}/turnserver.out" 2>&1 &
    pid=$!
    echo "${pid}" >"${STATE}/turnserver.pid"
    for _ in $(seq 1 50); do
        kill -0 "${pid}" 2>/dev/null || die "turnserver exited at start (its output follows)"
        if turn_answers; then
            return 0
        fi
        sleep 0.1
    done
    die "turnserver did not answer on ${SRV_IP1}/${SRV_IP2}:${TURN_PORT} (and TCP ${TURN_TLS_PORT}) within a few seconds"
}

on_up_failure() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ ${rc} -ne 0 ]]; then
        say "up failed (exit ${rc}); tearing the lab down"
        if [[ -s "${STATE}/turnserver.out" ]]; then
            tail -n 20 "${STATE}/turnserver.out" >&2 || true
        fi
        cmd_down || true
    fi
    exit "${rc}"
}

cmd_up() {
    [[ $# -eq 2 ]] || usage
    local ka="$1" kb="$2" k
    for k in "${ka}" "${kb}"; do
        [[ " ${KINDS} ${ALIASES} " == *" ${k} "* ]] || die "unknown NAT kind '${k}' (one of: ${KINDS})"
    done
    need_root
    need_tools ip nft conntrack turnserver turnutils_stunclient openssl
    cmd_down
    # Any failure from here on, and Ctrl-C or a TERM, takes down what was built (exit runs the EXIT trap).
    trap on_up_failure EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "${STATE}"
    chmod 700 "${STATE}"
    local ns
    for ns in "${NAMESPACES[@]}"; do
        ip netns add "${ns}"
        ip -n "${ns}" link set lo up
    done
    # The public network: a bridge in its own namespace.
    ip -n lab-sw link add br0 type bridge
    ip -n lab-sw link set br0 up
    veth lab-srv eth0 lab-sw srv
    ip -n lab-sw link set srv master br0 up
    ip -n lab-srv addr add "${SRV_IP1}/24" dev eth0
    ip -n lab-srv addr add "${SRV_IP2}/24" dev eth0
    ip -n lab-srv addr add "${SRV_IP3}/24" dev eth0
    ip -n lab-srv addr add "${SRV_IP4}/24" dev eth0
    ip -n lab-srv link set eth0 up
    # Like any server on the Internet, lab-srv has a default route (its gateway does not exist: what goes there
    # vanishes) and no route to the private ranges (RFC 1918, RFC 6598): a datagram to a peer's private host
    # candidate fails at once (EHOSTUNREACH), as a provider's border router answers it with ICMP unreachable.
    # coturn 4.6.1 closes an allocation after such a send error on its relay socket and answers the client's
    # next request 438, then 400: a TURN client must notice and allocate again (RFC 8656 §7, §9).
    ip -n lab-srv route add default via 198.18.0.254
    local private
    for private in 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10; do
        ip -n lab-srv route add unreachable "${private}"
    done
    # shellcheck disable=SC2046 # lan_of prints three words: the LAN, its gateway, the host's address
    setup_router lab-ra 198.18.0.1 $(lan_of 1 "${ka}") lab-a "${ka}"
    # shellcheck disable=SC2046
    setup_router lab-rb 198.18.0.2 $(lan_of 2 "${kb}") lab-b "${kb}"
    # A public LAN is reachable from the whole public network: lab-srv and the other router route to it.
    if [[ "${ka}" == public ]]; then
        ip -n lab-srv route add 198.18.1.0/24 via 198.18.0.1
        ip -n lab-rb route add 198.18.1.0/24 via 198.18.0.1
    fi
    if [[ "${kb}" == public ]]; then
        ip -n lab-srv route add 198.18.2.0/24 via 198.18.0.2
        ip -n lab-ra route add 198.18.2.0/24 via 198.18.0.2
    fi
    printf 'ra=%s\nrb=%s\n' "${ka}" "${kb}" >"${STATE}/kinds"
    start_coturn
    trap - EXIT INT TERM
    say "up: lab-ra=${ka} lab-rb=${kb}; coturn pid $(cat "${STATE}/turnserver.pid") on ${SRV_IP1},${SRV_IP2}:${TURN_PORT} (udp+tcp) and :${TURN_TLS_PORT} (tcp+tls, ${STATE}/turn-cert.pem), user ${TURN_USER}/${TURN_PASS} realm ${TURN_REALM}"
}

# ---------------------------------------------------------------- link profiles

LINK_DELAY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/link-delay"

# stop_link_delay R : takes router R's link profile away: its NFQUEUE rule first (without a reader the queue would
# drop everything), then its link-delay (TERM: it accepts what it still holds and prints its counters).
stop_link_delay() {
    local r="$1" pid
    if ns_exists "lab-${r}"; then
        ip netns exec "lab-${r}" iptables-nft -t raw -F PREROUTING 2>/dev/null || true
    fi
    if [[ -f "${STATE}/link-delay-${r}.pid" ]]; then
        pid="$(cat "${STATE}/link-delay-${r}.pid")"
        if kill "${pid}" 2>/dev/null; then
            for _ in $(seq 1 20); do
                kill -0 "${pid}" 2>/dev/null || break
                sleep 0.05
            done
        fi
        rm -f "${STATE}/link-delay-${r}.pid"
        grep -h 'packets' "${STATE}/link-delay-${r}.out" 2>/dev/null | sed "s/^/lab-${r} /" >&2 || true
    fi
}

# P2P_LAB_LINK_TRACE=<dir>: each link-delay writes a line per packet to <dir>/ra.trace and rb.trace (link-delay.c).
# cmd_link DELAY_MS LOSS_PCT [JITTER_MS] | off : each side's access link, in the direction out of its LAN: router R
# sends what its host sends to the public network (`iptables-nft -t raw -A PREROUTING -i lan -j NFQUEUE`, before
# conntrack and NAT, so the flow's first packets are NATed in the order they are released) to tests/lab/link-delay,
# which drops each with LOSS_PCT % and lets the others go after DELAY_MS (+- JITTER_MS, uniform; then reordered). A
# datagram from lab-a to lab-b crosses one profile (router A's); the answer crosses router B's: with the same profile
# on both sides the round trip between the hosts is 2 x DELAY_MS, as with netem on each host's uplink. A host's
# round trip to lab-srv carries its own side's delay once. (This kernel has no netem, CONFIG_NET_SCH_NETEM, nor nft's
# queue expression, CONFIG_NFT_QUEUE: the xtables NFQUEUE target through nft_compat is what queues.)
cmd_link() {
    need_root
    ns_exists lab-ra || die "the lab is not up"
    local r
    if [[ $# -eq 1 && "$1" == off ]]; then
        for r in ra rb; do stop_link_delay "${r}"; done
        rm -f "${STATE}/link"
        say "link: no profile"
        return 0
    fi
    [[ ($# -eq 2 || $# -eq 3) && "$1" =~ ^[0-9]+(\.[0-9]+)?$ && "$2" =~ ^[0-9]+(\.[0-9]+)?$ && "${3:-0}" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
        die "usage: lab.sh link <delay-ms> <loss-%> [jitter-ms] | lab.sh link off"
    local delay="$1" loss="$2" jitter="${3:-0}" pid
    need_tools iptables-nft
    "${LINK_DELAY}/build.sh" >&2 || die "could not build tests/lab/link-delay (apt-get install -y libnetfilter-queue-dev gcc pkg-config)"
    for r in ra rb; do
        stop_link_delay "${r}"
        ip netns exec "lab-${r}" "${LINK_DELAY}/bin/link-delay" --queue 0 --delay "${delay}" --loss "${loss}" \
            --jitter "${jitter}" --realtime ${P2P_LAB_LINK_TRACE:+--trace "${P2P_LAB_LINK_TRACE}/${r}.trace"} </dev/null >"${STATE}/link-delay-${r}.out" 2>&1 &
        pid=$!
        echo "${pid}" >"${STATE}/link-delay-${r}.pid"
        for _ in $(seq 1 100); do
            grep -q ' ready' "${STATE}/link-delay-${r}.out" 2>/dev/null && break
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.02
        done
        grep -q ' ready' "${STATE}/link-delay-${r}.out" 2>/dev/null ||
            die "link-delay did not start in lab-${r}: $(cat "${STATE}/link-delay-${r}.out")"
        ip netns exec "lab-${r}" iptables-nft -t raw -A PREROUTING -i lan -j NFQUEUE --queue-num 0
    done
    echo "delay=${delay}ms loss=${loss}% jitter=${jitter}ms" >"${STATE}/link"
    say "link: each side's uplink (router -> public network): ${delay} ms (+-${jitter} ms) and ${loss}% loss (link-delay on NFQUEUE)"
}

# cmd_forward_tcp PORT : router B lets TCP PORT in from the public network to lab-b (a port forward), so that a plain
# TCP transfer from lab-a takes the same routers and links as a direct ICE path between the two hosts.
cmd_forward_tcp() {
    [[ $# -eq 1 && "$1" =~ ^[0-9]+$ ]] || die "usage: lab.sh forward-tcp <port>"
    need_root
    ns_exists lab-rb || die "the lab is not up"
    printf 'table ip labfwd {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  iifname "wan" tcp dport %s dnat ip to 10.10.2.2\n }\n}\n' "$1" |
        ip netns exec lab-rb nft -f -
    ip netns exec lab-rb nft insert rule ip lab forward iifname '"wan"' oifname '"lan"' ct status dnat tcp dport "$1" accept
}

# ---------------------------------------------------------------- exec / status

cmd_exec() {
    [[ $# -ge 2 ]] || usage
    local ns
    ns="$(host_ns "$1")"
    shift
    need_root
    ns_exists "${ns}" || die "namespace ${ns} does not exist (is the lab up?)"
    exec ip netns exec "${ns}" "$@"
}

cmd_status() {
    local ns up=0 pid
    for ns in "${NAMESPACES[@]}"; do
        if ns_exists "${ns}"; then
            printf 'namespace %s: up\n' "${ns}"
            up=1
        fi
    done
    if [[ ${up} -eq 0 ]]; then
        echo "lab: down"
        return 0
    fi
    if [[ -f "${STATE}/kinds" ]]; then
        sed 's/^ra=/nat lab-ra: /; s/^rb=/nat lab-rb: /' "${STATE}/kinds"
    fi
    if [[ -f "${STATE}/turnserver.pid" ]]; then
        pid="$(cat "${STATE}/turnserver.pid")"
        if kill -0 "${pid}" 2>/dev/null; then
            echo "coturn: pid ${pid}, ${SRV_IP1},${SRV_IP2}:${TURN_PORT} udp+tcp, :${TURN_TLS_PORT} tcp+tls, user ${TURN_USER}:${TURN_PASS} realm ${TURN_REALM}, log ${STATE}/turnserver.log"
        else
            echo "coturn: pid ${pid} NOT running (log ${STATE}/turnserver.log)"
        fi
    else
        echo "coturn: not started"
    fi
}

main() {
    [[ $# -ge 1 ]] || usage
    local cmd="$1"
    shift
    case "${cmd}" in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        exec) cmd_exec "$@" ;;
        status) cmd_status ;;
        link) cmd_link "$@" ;;
        forward-tcp) cmd_forward_tcp "$@" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"
