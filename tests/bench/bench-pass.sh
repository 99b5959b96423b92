#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: one ec2netctl apply over N ENIs with A IPv4 and A IPv6 addresses each, then a no-op
# pass, in a namespace of its own with the fake IMDS on 169.254.169.254. Prints figures; asserts
# nothing. Usage: bench-pass.sh [ENIS=15] [ADDRS=50] [RUNS=5]   (root; builds in ./build)
set -uo pipefail
ENIS=${1:-15} ADDRS=${2:-50} RUNS=${3:-5}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${EC2NET_BUILD_DIR:-$SRC/build}
CTL=$BUILD/tools/ec2netctl
NS=e2nb$$
TMP=$(mktemp -d /tmp/e2nb.XXXXXX)
PYBIN=$(python3 -c 'import sys; print(sys.executable)')
cleanup() {
        [[ -n ${IMDS_PID:-} ]] && kill "$IMDS_PID" 2>/dev/null
        ip netns del "$NS" 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
[[ $(id -u) == 0 ]] || { echo "bench-pass: needs root" >&2; exit 77; }
[[ -x $CTL ]] || { echo "bench-pass: build first (ninja -C $BUILD)" >&2; exit 1; }

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n "$NS" addr add 169.254.169.254/32 dev lo
for ((i = 0; i < ENIS; i++)); do
        mac=$(printf '0e:be:00:00:%02x:%02x' $((i / 256)) $((i % 256)))
        ip -n "$NS" link add "eni$i" address "$mac" type veth peer name "peer$i"
        ip -n "$NS" link set "peer$i" up
done

"$PYBIN" - "$ENIS" "$ADDRS" >"$TMP/md.json" <<'PY'
import json, sys
enis, addrs = int(sys.argv[1]), int(sys.argv[2])
macs = {}
for i in range(enis):
    mac = "0e:be:00:00:%02x:%02x" % (i // 256, i % 256)
    v4 = ["10.%d.%d.%d" % (i, j // 250, 10 + j % 250) for j in range(addrs)]
    v6 = ["2001:db8:%x::%x" % (i, 0x10 + j) for j in range(addrs)]
    macs[mac] = {
        "device-number": str(i), "interface-id": "eni-%017x" % (0xbe0000 + i),
        "local-ipv4s": "\n".join(v4), "subnet-ipv4-cidr-block": "10.%d.0.0/16" % i,
        "vpc-ipv4-cidr-blocks": "10.0.0.0/8",
        "ipv6s": "\n".join(v6), "subnet-ipv6-cidr-blocks": "2001:db8:%x::/64" % i,
    }
print(json.dumps({"meta-data": {"mac": "0e:be:00:00:00:00",
                                "network": {"interfaces": {"macs": macs}}}}))
PY
ip netns exec "$NS" "$PYBIN" -S "$SRC/tests/integration/fake_imds.py" --data "$TMP/md.json" \
        --listen 169.254.169.254 --port 80 --port-file "$TMP/port" >/dev/null 2>&1 &
IMDS_PID=$!
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done

run_ctl() { ip netns exec "$NS" "$CTL" --imds-endpoint http://169.254.169.254 --state-dir "$TMP/state" "$@"; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
summary() { grep -E '^[0-9]+ operations' "$1"; }

echo "ENIs=$ENIS, $ADDRS IPv4 + $ADDRS IPv6 each, on $(nproc) cores, $(uname -r)"
printf '%-8s %10s %8s %9s %9s %10s %8s\n' pass wall_ms ops nl_sent nl_recv imds_req imds_ms
for ((r = 1; r <= RUNS; r++)); do
        # Start from the DHCP-like state: remove everything of ours. `ip rule
        # flush` is IPv4 unless told -6, and it deletes while it dumps, missing
        # some of a few hundred rules: repeat until none is left, and check it
        # (rows after the first were not a cold start before).
        for fam in -4 -6; do
                # (grep -c, not -q: with pipefail, -q's early exit fails ip with SIGPIPE)
                for ((k = 0; k < 20; k++)); do
                        (($(ip -n "$NS" "$fam" rule show | grep -c -E ' proto (236|ec2net)') > 0)) || break
                        ip -n "$NS" "$fam" rule flush proto 236 2>/dev/null
                done
        done
        # Links as created: down, MTU 1500, default group, no altnames.
        : >"$TMP/reset"
        : >"$TMP/reset6"
        for ((i = 0; i < ENIS; i++)); do
                printf 'addr flush dev eni%d\nroute flush table %d\n' "$i" $((10000 + i)) >>"$TMP/reset"
                printf 'link set dev eni%d down mtu 1500 group default\n' "$i" >>"$TMP/reset"
                printf 'route flush table %d\n' $((10000 + i)) >>"$TMP/reset6"
        done
        ip -n "$NS" -o link show | sed -n -E 's/^[0-9]+: (eni[0-9]+)@.*/\1/p' | while read -r l; do
                ip -n "$NS" -o link show dev "$l" | grep -o 'altname [^ \\]*' | sed "s/^/link property del dev $l /"
        done >>"$TMP/reset"
        ip -n "$NS" -force -batch "$TMP/reset" 2>/dev/null
        ip -n "$NS" -6 -force -batch "$TMP/reset6" 2>/dev/null
        sleep 0.2 # what the kernel does after a link goes down, done before we observe
        left=$( { ip -n "$NS" -4 rule show; ip -n "$NS" -6 rule show; } | grep -c -E ' proto (236|ec2net)')
        left=$((left + $(ip -n "$NS" -o addr show | grep -c -E ' inet6? (10|2001:db8)')))
        left=$((left + $(ip -n "$NS" -o link show | grep -c altname)))
        ((left == 0)) || { echo "bench-pass: $left rules, addresses or altnames left after the reset" >&2; exit 1; }
        for pass in first noop; do
                t0=$(date +%s%N)
                run_ctl apply 2>"$TMP/err" >/dev/null
                rc=$?
                t1=$(date +%s%N)
                read -r ops _ <<<"$(summary "$TMP/err")"
                line=$(summary "$TMP/err")
                nls=$(sed -E 's/.*netlink ([0-9]+) sent.*/\1/' <<<"$line")
                nlr=$(sed -E 's/.*sent, ([0-9]+) received.*/\1/' <<<"$line")
                req=$(sed -E 's/.*IMDS ([0-9]+) requests.*/\1/' <<<"$line")
                ims=$(sed -E 's/.*requests in ([0-9.]+) ms.*/\1/' <<<"$line")
                printf '%-8s %10s %8s %9s %9s %10s %8s  rc=%d\n' "$pass" "$(ms "$t0" "$t1")" "$ops" "$nls" "$nlr" "$req" "$ims" "$rc"
                sed -E "s/.*(observe.*)/         \1/" <<<"$line"
        done
done
