#!/usr/bin/env bash
# Checks that each NAT router of the lab behaves as the kind it was brought up
# with (run after `lab.sh up <natA> <natB>`, as root).
#
# Mapping: from lab-a and from lab-b, STUN Binding requests from ONE local UDP
# port to 198.18.0.10:3478 and 198.18.0.11:3478 (coturn on lab-srv). The same
# mapped port to both = endpoint-independent mapping (masquerade,
# port-restricted, full-cone); different ports = address-dependent mapping
# (symmetric, sequential; sequential's second port is the first one plus 1); no
# answer = UDP blocked; the host's own address = no NAT.
#
# Port preservation: the mapped port of that STUN query against the local port:
# kept by masquerade and full-cone, the local port with bit 14 flipped (XOR
# 0x4000) by port-restricted, any other port by symmetric, a port of 20000-24095
# by sequential.
#
# Filtering (udp-probe.pl): from another local port the host sends a probe to
# 198.18.0.10:4000 on lab-srv, which answers three times: from 198.18.0.10:4000
# (the address the host sent to), from 198.18.0.10:4001 (same address, another
# port) and from 198.18.0.11:4000 (another address). Which answers reach the
# host is the filtering: all three = endpoint-independent (full-cone, public, none);
# the first only = address-and-port-dependent (masquerade, port-restricted,
# symmetric); the first two = address-dependent (no kind has it). The port the
# server saw is checked against the local port too (port preservation again,
# on a flow of our own, not STUN's).
#
# coturn 4.6.1's turnutils_stunclient has no option for the local port, so the
# STUN queries are made with turnutils_natdiscovery (same package), which has one
# (-l): its mapping test (-m) sends test I to 198.18.0.10:3478 and test II to
# 198.18.0.11:3478 from the same socket.
#
# TCP: to 198.18.0.10:3478 connects from each host (also behind tcp-only), except
# behind https-only, where it must fail; to 198.18.0.10:443 (coturn's TCP/TLS
# port) connects from every host. A public host also takes a TCP connect from
# lab-srv that it did not ask for.
#
# Also checked: no router has a route to the other LAN (unless that LAN is
# public), and lab-srv has a default route, routes to public LANs and none to the
# LANs' private addresses.
#
# Exits non-zero, naming the router, when a verdict does not match its kind.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB="${HERE}/lab.sh"
STATE="${P2P_LAB_STATE:-/run/p2p-lab}"
SRV1=198.18.0.10
SRV2=198.18.0.11
PORT=3478
TLS_PORT=443 # coturn's TLS listener, which also takes plain TCP
INBOUND_PORT=4100 # a public host listens here for lab-srv's unsolicited TCP connect
PROBE_PORT=4000 # udp-probe.pl answers from 4000 and 4001 on SRV1, 4000 on SRV2

command -v turnutils_natdiscovery >/dev/null 2>&1 ||
    { echo "check-nat: turnutils_natdiscovery is missing: install the Debian package coturn." >&2; exit 1; }
[[ -f "${STATE}/kinds" ]] || { echo "check-nat: the lab is not up (no ${STATE}/kinds); run lab.sh up <natA> <natB>" >&2; exit 1; }

kind_of() { sed -n "s/^$1=//p" "${STATE}/kinds"; }
# host_ip HOST: the address of the host's eth0 (private behind a NAT, public behind a `public` router).
host_ip() { "${LAB}" exec "$1" ip -4 -o addr show dev eth0 | awk '{split($4, a, "/"); print a[1]; exit}'; }
# tcp_connects HOST IP PORT: a TCP connect from HOST to IP:PORT succeeds within 3 s.
tcp_connects() { timeout 3 "${LAB}" exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }

# mapping HOST IP LPORT: prints "<mapped to SRV1> <mapped to SRV2>" ("-" where no answer).
mapping() {
    local out
    out="$(timeout 6 "${LAB}" exec "$1" turnutils_natdiscovery -m -L "$2" -l "$3" "${SRV1}" 2>&1 || true)"
    awk -v s1="${SRV1}:${PORT}" -v s2="${SRV2}:${PORT}" '
        /RFC 5780 response/ { n = $NF; origin = "" }
        /Response origin:/ { origin = $NF }
        /UDP reflexive addr:/ {
            if (n == 1 && origin == s1 && m1 == "") m1 = $NF
            if (n == 2 && origin == s2 && m2 == "") m2 = $NF
        }
        END { printf "%s %s\n", (m1 == "" ? "-" : m1), (m2 == "" ? "-" : m2) }
    ' <<<"${out}"
}

# probe HOST IP LPORT: udp-probe.pl's line, "mapped=<addr:port> same=<0|1> other-port=<0|1> other-addr=<0|1>".
probe() {
    timeout 5 "${LAB}" exec "$1" perl "${HERE}/udp-probe.pl" ask "$2" "$3" "${SRV1}" "${PROBE_PORT}" 2>&1 || true
}

# The answering side of the probe, on lab-srv, for as long as this script runs.
answerer=""
stop_answerer() { [[ -z "${answerer}" ]] || kill "${answerer}" 2>/dev/null || true; }
trap stop_answerer EXIT
answer_log="$(mktemp)"
"${LAB}" exec srv perl "${HERE}/udp-probe.pl" answer "${SRV1}" "${SRV2}" "${PROBE_PORT}" >"${answer_log}" 2>&1 &
answerer=$!
for _ in $(seq 1 30); do
    grep -qx ready "${answer_log}" && break
    kill -0 "${answerer}" 2>/dev/null || break
    sleep 0.1
done
grep -qx ready "${answer_log}" || { echo "check-nat: udp-probe.pl did not start on lab-srv: $(cat "${answer_log}")" >&2; rm -f "${answer_log}"; exit 1; }
rm -f "${answer_log}"

# port_verdict KIND LPORT MAPPED_PORT: ok, or what is wrong
port_verdict() {
    local kind="$1" lport="$2" mport="$3"
    case "${kind}" in
        masquerade | full-cone | none | public | tcp-only | udp-blocked | https-only)
            [[ "${mport}" == "${lport}" ]] && echo ok || echo "port ${mport} is not the local port ${lport} (${kind} preserves it)" ;;
        port-restricted)
            [[ "${mport}" == $((lport ^ 0x4000)) ]] && echo ok || echo "port ${mport} is not ${lport} XOR 0x4000 = $((lport ^ 0x4000))" ;;
        symmetric)
            [[ "${mport}" != "${lport}" ]] && echo ok || echo "port ${mport} is the local port (symmetric picks a random one)" ;;
        sequential)
            [[ "${mport}" -ge 20000 && "${mport}" -le 24095 ]] && echo ok || echo "port ${mport} is not in 20000-24095 (sequential's range)" ;;
        *) echo "unknown kind ${kind}" ;;
    esac
}

failures=()

check_side() {
    local host="$1" router="$2" other="$3"
    local kind ip other_ip other_kind lport m1 m2 verdict want fverdict fwant tcp pv line pmapped same oport oaddr port listener
    kind="$(kind_of "${router#lab-}")"
    other_kind="$(kind_of "r${other}")"
    ip="$(host_ip "${host}")"
    other_ip="$(host_ip "${other}")"
    # a local port in Linux's ephemeral range (32768-60999), where p2p's own sockets are
    lport=$((32768 + RANDOM % 28000))
    read -r m1 m2 < <(mapping "${host}" "${ip}" "${lport}")
    if [[ "${m1}" == - && "${m2}" == - ]]; then
        verdict=udp-blocked
    elif [[ "${m1}" == - || "${m2}" == - ]]; then
        verdict=partial-answer
    elif [[ "${m1%:*}" == "${ip}" ]]; then
        verdict=no-nat
    elif [[ "${m1}" == "${m2}" ]]; then
        verdict=endpoint-independent
    else
        verdict=address-dependent
    fi
    case "${kind}" in
        masquerade | port-restricted | full-cone) want=endpoint-independent ;;
        symmetric | sequential) want=address-dependent ;;
        tcp-only | udp-blocked | https-only) want=udp-blocked ;;
        none | public) want=no-nat ;;
        *) want="?" ;;
    esac
    printf 'lab-%s (%s:%s) behind %s [%s]: mapped %s via %s:%s, %s via %s:%s -> mapping %s' \
        "${host}" "${ip}" "${lport}" "${router}" "${kind}" "${m1}" "${SRV1}" "${PORT}" "${m2}" "${SRV2}" "${PORT}" "${verdict}"
    if [[ "${verdict}" == "${want}" ]]; then
        echo " (ok)"
    else
        echo " (MISMATCH: ${kind} should give ${want})"
        failures+=("${router}: mapping ${verdict}, expected ${want} for ${kind}")
    fi

    if [[ "${kind}" == sequential && "${verdict}" == address-dependent ]]; then
        # the two flows of the mapping test are new in a row: the second mapping takes the next port
        printf 'lab-%s behind %s [%s]: mapped ports %s then %s' "${host}" "${router}" "${kind}" "${m1##*:}" "${m2##*:}"
        if [[ "${m2##*:}" == $(( ${m1##*:} + 1 )) ]]; then
            echo " (ok: in sequence)"
        else
            echo " (MISMATCH: not in sequence)"
            failures+=("${router}: sequential mapped ${m1##*:} then ${m2##*:}, expected ${m1##*:} then $(( ${m1##*:} + 1 ))")
        fi
    fi

    if [[ "${verdict}" == endpoint-independent || "${verdict}" == address-dependent ]]; then
        pv="$(port_verdict "${kind}" "${lport}" "${m1##*:}")"
        printf 'lab-%s behind %s [%s]: local port %s mapped to %s' "${host}" "${router}" "${kind}" "${lport}" "${m1##*:}"
        if [[ "${pv}" == ok ]]; then
            echo " (ok)"
        else
            echo " (MISMATCH: ${pv})"
            failures+=("${router}: STUN mapping ${pv}")
        fi
    fi

    if [[ "${want}" != udp-blocked && "${verdict}" != udp-blocked ]]; then
        case "${kind}" in
            full-cone | none | public) fwant=endpoint-independent ;;
            *) fwant=address-and-port-dependent ;;
        esac
        line="$(probe "${host}" "${ip}" $((lport + 2)))"
        pmapped="$(sed -n 's/.*mapped=\([^ ]*\).*/\1/p' <<<"${line}")"
        same="$(sed -n 's/.* same=\([01]\).*/\1/p' <<<"${line}")"
        oport="$(sed -n 's/.* other-port=\([01]\).*/\1/p' <<<"${line}")"
        oaddr="$(sed -n 's/.* other-addr=\([01]\).*/\1/p' <<<"${line}")"
        case "${same}${oport}${oaddr}" in
            111) fverdict=endpoint-independent ;;
            110) fverdict=address-dependent ;;
            100) fverdict=address-and-port-dependent ;;
            *) fverdict="unknown (${line})" ;;
        esac
        printf 'lab-%s behind %s [%s]: answers from %s:%s %s, from %s:%s (other port) %s, from %s:%s (other address) %s -> filtering %s' \
            "${host}" "${router}" "${kind}" "${SRV1}" "${PROBE_PORT}" "$([[ ${same} == 1 ]] && echo in || echo dropped)" \
            "${SRV1}" $((PROBE_PORT + 1)) "$([[ ${oport} == 1 ]] && echo in || echo dropped)" \
            "${SRV2}" "${PROBE_PORT}" "$([[ ${oaddr} == 1 ]] && echo in || echo dropped)" "${fverdict}"
        if [[ "${fverdict}" == "${fwant}" ]]; then
            echo " (ok)"
        else
            echo " (MISMATCH: ${kind} should give ${fwant})"
            failures+=("${router}: filtering ${fverdict}, expected ${fwant} for ${kind}")
        fi
        if [[ -n "${pmapped}" && "${pmapped}" != - ]]; then
            pv="$(port_verdict "${kind}" $((lport + 2)) "${pmapped##*:}")"
            printf 'lab-%s behind %s [%s]: probe from local port %s seen from %s' "${host}" "${router}" "${kind}" $((lport + 2)) "${pmapped}"
            if [[ "${pv}" == ok ]]; then
                echo " (ok)"
            else
                echo " (MISMATCH: ${pv})"
                failures+=("${router}: probe ${pv}")
            fi
        fi
    fi

    for port in "${PORT}" "${TLS_PORT}"; do
        if tcp_connects "${host}" "${SRV1}" "${port}"; then tcp=connects; else tcp=fails; fi
        # https-only lets TCP out to port 443 only; every other kind lets any TCP out
        if [[ "${kind}" == https-only && "${port}" != "${TLS_PORT}" ]]; then want=fails; else want=connects; fi
        printf 'lab-%s behind %s [%s]: TCP to %s:%s %s' "${host}" "${router}" "${kind}" "${SRV1}" "${port}" "${tcp}"
        if [[ "${tcp}" == "${want}" ]]; then
            echo " (ok)"
        else
            echo " (MISMATCH: expected it to ${want/s/} behind ${kind})"
            failures+=("${router}: TCP to ${SRV1}:${port} from lab-${host} ${tcp}, expected it to ${want/s/} behind ${kind}")
        fi
    done

    if [[ "${kind}" == public ]]; then
        # nothing filters: a connect from the public network that the host never asked for gets through
        "${LAB}" exec "${host}" perl "${HERE}/tcp-rate.pl" listen "${INBOUND_PORT}" >/dev/null 2>&1 &
        listener=$!
        for _ in $(seq 1 30); do
            "${LAB}" exec "${host}" bash -c "exec 3<>/dev/tcp/127.0.0.1/${INBOUND_PORT}" 2>/dev/null && break
            sleep 0.1
        done
        if tcp_connects srv "${ip}" "${INBOUND_PORT}"; then tcp=connects; else tcp=fails; fi
        kill "${listener}" 2>/dev/null || true
        printf 'lab-%s behind %s [%s]: unsolicited TCP from lab-srv to %s:%s %s' "${host}" "${router}" "${kind}" "${ip}" "${INBOUND_PORT}" "${tcp}"
        if [[ "${tcp}" == connects ]]; then
            echo " (ok)"
        else
            echo " (MISMATCH: a public host takes connects from anyone)"
            failures+=("${router}: unsolicited TCP to the public lab-${host} ${tcp}")
        fi
    fi

    if [[ "${other_kind}" == public ]]; then
        # a public LAN is part of the public network: every router reaches it
        if "${LAB}" exec "${router#lab-}" ip route get "${other_ip}" >/dev/null 2>&1; then
            echo "${router}: routes to the other, public LAN ${other_ip} (ok)"
        else
            echo "${router}: no route to the other, public LAN ${other_ip} (MISMATCH)"
            failures+=("${router}: no route to the public LAN ${other_ip}")
        fi
    elif "${LAB}" exec "${router#lab-}" ip route get "${other_ip}" >/dev/null 2>&1; then
        echo "${router}: has a route to ${other_ip} (MISMATCH: the LANs must be isolated)"
        failures+=("${router}: routes to the other LAN ${other_ip}")
    else
        echo "${router}: no route to the other LAN ${other_ip} (ok)"
    fi
}

check_side a lab-ra b
check_side b lab-rb a

# lab-srv, like a server on the Internet: a send to a private address fails at once (unreachable), one to a
# public address outside the lab goes to its (absent) gateway.
for side in a b; do
    lan="$(host_ip "${side}")"
    case "$(kind_of "r${side}")" in
        none) continue ;; # `none` routes a private LAN on purpose
        public)
            if "${LAB}" exec srv ip route get "${lan}" >/dev/null 2>&1; then
                echo "lab-srv: routes to the public ${lan} (ok)"
            else
                echo "lab-srv: no route to the public ${lan} (MISMATCH)"
                failures+=("lab-srv: no route to the public ${lan}")
            fi
            ;;
        *)
            if "${LAB}" exec srv ip route get "${lan}" >/dev/null 2>&1; then
                echo "lab-srv: has a route to the private ${lan} (MISMATCH: the public network must not reach the LANs)"
                failures+=("lab-srv: routes to ${lan}")
            else
                echo "lab-srv: no route to the private ${lan} (ok)"
            fi
            ;;
    esac
done
if "${LAB}" exec srv ip route get 203.0.113.1 >/dev/null 2>&1; then
    echo "lab-srv: default route for public addresses (ok)"
else
    echo "lab-srv: no default route (MISMATCH)"
    failures+=("lab-srv: no default route")
fi

if [[ ${#failures[@]} -gt 0 ]]; then
    printf 'check-nat: FAILED: %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "check-nat: all verdicts match (lab-ra=$(kind_of ra), lab-rb=$(kind_of rb))"
