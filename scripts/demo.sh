#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo: as root on Debian 12, installs what it needs, builds, and simulates an EC2 instance in
# network namespaces (a VPC router with the source/destination check, a remote host, a fake
# IMDS). Then it hot-attaches a second ENI with secondary addresses and an Elastic IP, has
# ec2net configure it, prints the rules and routes it made and the time it took, proves that
# traffic to every address flows, and removes everything it created.
set -uo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "demo.sh: needs root (network namespaces); run it with sudo" >&2; exit 1; }
bash scripts/deps.sh || exit 1
if [[ ! -f build/build.ninja ]]; then meson setup build >/dev/null || exit 1; fi
ninja -C build >/dev/null || exit 1

export EC2NET_SOURCE_DIR=$PWD EC2NET_BUILD_DIR=$PWD/build
# shellcheck source=../tests/integration/lib.sh
source tests/integration/lib.sh >/dev/null

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
now_ns() { date +%s%N; }

say "1. A simulated instance: one ENI (eth0), configured by DHCP, in a VPC that drops packets whose source the ENI does not own"
{
        vpc_init
        vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
        vpc_subnet B 10.0.2.0/24
        vpc_eni eth0 0e:e2:00:00:00:10 A 0 -- 10.0.1.10 -6 2001:db8:1::10
        vpc_dhcp_primary
        vpc_metadata "$E2N_TMP/md.json"
        vpc_start_imds "$E2N_TMP/md.json"
} >"$E2N_TMP/setup.log" 2>&1 || { cat "$E2N_TMP/setup.log"; exit 1; }
CTL=("$EC2NET_BUILD_DIR/tools/ec2netctl" --imds-endpoint http://169.254.169.254 --state-dir "$E2N_TMP/state")
ip netns exec "$INST_NS" "${CTL[@]}" apply -q

say "2. Hot-attach eth1 (device 1, subnet B) with two secondary IPv4s and an Elastic IP"
{
        vpc_eni eth1 0e:e2:00:00:00:11 B 1 -- 10.0.2.20 10.0.2.21 10.0.2.22 --eip 203.0.113.20=10.0.2.20
        vpc_metadata "$E2N_TMP/md.json"
        ip netns exec "$INST_NS" "${PY[@]}" -c '
import sys, urllib.request as u
u.urlopen(u.Request("http://169.254.169.254/_fake/tree", data=open(sys.argv[1], "rb").read(), method="POST"))
' "$E2N_TMP/md.json"
} >>"$E2N_TMP/setup.log" 2>&1 || { cat "$E2N_TMP/setup.log"; exit 1; }
echo "before ec2net, from the remote host:"
expect_no_pings "$REMOTE_NS" 10.0.2.20 10.0.2.21 10.0.2.22 203.0.113.20 | sed 's/^/  /'

say "3. ec2netctl apply eth1 (what ec2ifup does; the daemon will do it on the udev event)"
t0=$(now_ns)
ip netns exec "$INST_NS" "${CTL[@]}" apply eth1
rc=$?
t1=$(now_ns)
printf 'configured in %d.%03d ms (exit %d)\n' $(((t1 - t0) / 1000000)) $(((t1 - t0) / 1000 % 1000)) "$rc"

say "4. What the kernel has now (the instance namespace)"
ip -n "$INST_NS" rule | sed 's/^/  /'
ip -n "$INST_NS" route show table 10001 | sed 's/^/  table 10001: /'
ip -n "$INST_NS" -br addr show dev eth1 | sed 's/^/  /'

say "5. Traffic, through the VPC's source/destination check"
ok=0
expect_pings "$REMOTE_NS" 10.0.1.10 10.0.2.20 10.0.2.21 10.0.2.22 203.0.113.20 | sed 's/^/  /' || ok=1
drops=$(vpc_srccheck_drops)
echo "  packets dropped by the source check: $drops"

say "6. A second pass changes nothing"
ip netns exec "$INST_NS" "${CTL[@]}" apply

say "Cleaning up"
vpc_cleanup >/dev/null 2>&1
[[ $rc == 0 && $ok == 0 ]] && echo "demo: OK" || { echo "demo: FAILED"; exit 1; }
