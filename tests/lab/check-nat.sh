#!/usr/bin/env bash
# Checks that each NAT router of the lab behaves as the kind it was brought up
# with (run after `lab.sh up <natA> <natB>`, as root).
#
# Mapping: from lab-a and from lab-b, STUN Binding requests from ONE local UDP
# port to 198.18.0.10:3478 and 198.18.0.11:3478 (coturn on lab-srv). The same
# mapped port to both = endpoint-independent mapping (masquerade,
# port-restricted, full-cone); different ports = address-dependent mapping
# (symmetric); no answer = UDP blocked; the host's own address = no NAT.
#
# Filtering: an RFC 5780 CHANGE-REQUEST makes coturn answer from
# 198.18.0.11:3479 (another address and port) to the mapped address; that
# unsolicited packet reaches the host only through a full-cone router.
#
# coturn 4.6.1's turnutils_stunclient has no option for the local port, so the
# queries are made with turnutils_natdiscovery (same package), which has one
# (-l): its mapping test (-m) sends test I to 198.18.0.10:3478 and test II to
# 198.18.0.11:3478 from the same socket; its filtering test is -f.
#
# Also checked: TCP to 198.18.0.10:3478 connects from each host (also behind
# udp-blocked), and no router has a route to the other LAN.
#
# Exits non-zero, naming the router, when a verdict does not match its kind.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB="${HERE}/lab.sh"
STATE="${P2P_LAB_STATE:-/run/p2p-lab}"
SRV1=198.18.0.10
SRV2=198.18.0.11
PORT=3478

command -v turnutils_natdiscovery >/dev/null 2>&1 ||
    { echo "check-nat: turnutils_natdiscovery is missing: install the Debian package coturn." >&2; exit 1; }
[[ -f "${STATE}/kinds" ]] || { echo "check-nat: the lab is not up (no ${STATE}/kinds); run lab.sh up <natA> <natB>" >&2; exit 1; }

kind_of() { sed -n "s/^$1=//p" "${STATE}/kinds"; }

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

# filtering HOST IP LPORT: prints endpoint-independent | address-dependent |
# address-and-port-dependent | unknown
filtering() {
    local out
    out="$(timeout 15 "${LAB}" exec "$1" turnutils_natdiscovery -f -L "$2" -l "$3" "${SRV1}" 2>&1 || true)"
    case "${out}" in
        *"Endpoint Independent Filtering"*) echo endpoint-independent ;;
        *"Address and Port Dependent Filtering"*) echo address-and-port-dependent ;;
        *"Address Dependent Filtering"*) echo address-dependent ;;
        *) echo unknown ;;
    esac
}

failures=()

check_side() {
    local host="$1" ip="$2" router="$3" other_lan="$4"
    local kind lport m1 m2 verdict want fverdict fwant tcp
    kind="$(kind_of "${router#lab-}")"
    lport=$((20000 + RANDOM % 20000))
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
        symmetric) want=address-dependent ;;
        udp-blocked) want=udp-blocked ;;
        none) want=no-nat ;;
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

    if [[ "${kind}" != udp-blocked && "${verdict}" != udp-blocked ]]; then
        case "${kind}" in
            full-cone | none) fwant=endpoint-independent ;;
            *) fwant=address-and-port-dependent ;;
        esac
        fverdict="$(filtering "${host}" "${ip}" $((lport + 1)))"
        printf 'lab-%s behind %s [%s]: filtering %s' "${host}" "${router}" "${kind}" "${fverdict}"
        if [[ "${fverdict}" == "${fwant}" ]]; then
            echo " (ok)"
        else
            echo " (MISMATCH: ${kind} should give ${fwant})"
            failures+=("${router}: filtering ${fverdict}, expected ${fwant} for ${kind}")
        fi
    fi

    if timeout 3 "${LAB}" exec "${host}" bash -c "exec 3<>/dev/tcp/${SRV1}/${PORT}" 2>/dev/null; then
        tcp=connects
    else
        tcp=FAILS
    fi
    printf 'lab-%s behind %s [%s]: TCP to %s:%s %s' "${host}" "${router}" "${kind}" "${SRV1}" "${PORT}" "${tcp}"
    if [[ "${tcp}" == connects ]]; then
        echo " (ok)"
    else
        echo " (MISMATCH)"
        failures+=("${router}: TCP to ${SRV1}:${PORT} from lab-${host} fails")
    fi

    if "${LAB}" exec "${router#lab-}" ip route get "${other_lan}" >/dev/null 2>&1; then
        echo "${router}: has a route to ${other_lan} (MISMATCH: the LANs must be isolated)"
        failures+=("${router}: routes to the other LAN ${other_lan}")
    else
        echo "${router}: no route to the other LAN ${other_lan} (ok)"
    fi
}

check_side a 10.10.1.2 lab-ra 10.10.2.2
check_side b 10.10.2.2 lab-rb 10.10.1.2

if [[ ${#failures[@]} -gt 0 ]]; then
    printf 'check-nat: FAILED: %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "check-nat: all verdicts match (lab-ra=$(kind_of ra), lab-rb=$(kind_of rb))"
