#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo: as root on Debian 12, installs what it needs, builds, and simulates an EC2 instance in
# network namespaces (a VPC router with the source/destination check, a remote host, a fake
# IMDS) running ec2netd. Then it hot-attaches a second ENI with secondary addresses and an
# Elastic IP, prints what the daemon made of it and the time from the link appearing to its last
# rule, proves that traffic to every address flows, and removes everything it created.
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

say "2. Start ec2netd in the instance (it configures eth0 at start, then sends READY=1)"
e2n_daemon_start >>"$E2N_TMP/setup.log" 2>&1 || { cat "$E2N_TMP/setup.log"; exit 1; }
echo "ec2netd running, pid $E2N_DAEMON_PID"

say "3. Hot-attach eth1 (device 1, subnet B) with two secondary IPv4s and an Elastic IP"
{
        # The ENI is made in the VPC namespace and published in IMDS first, as EC2 does;
        # moving it into the instance is the attach: the daemon sees the kernel's uevent.
        vpc_eni eth1 0e:e2:00:00:00:11 B 1 -- 10.0.2.20 10.0.2.21 10.0.2.22 --eip 203.0.113.20=10.0.2.20
        run "$INST_NS" ip link set eth1 netns "$VPC_NS"
        vpc_imds_update
} >>"$E2N_TMP/setup.log" 2>&1 || { cat "$E2N_TMP/setup.log"; exit 1; }
echo "before the attach, from the remote host:"
expect_no_pings "$REMOTE_NS" 10.0.2.20 10.0.2.21 10.0.2.22 203.0.113.20 2>&1 | grep -v '^+' | sed 's/^/  /'
e2n_attach_latency "$INST_NS" eth1 10001 3 "$E2N_TMP/latency" >/dev/null
sleep 0.2
ip netns exec "$VPC_NS" ip link set eth1 netns "$INST_NS"
for _ in $(seq 250); do [[ -s $E2N_TMP/latency ]] && break; sleep 0.02; done
rc=1
if [[ -s $E2N_TMP/latency ]]; then
        rc=0
        echo "attached -> configured (link appeared -> last source rule in place): $(cat "$E2N_TMP/latency") ms"
else
        echo "eth1 was not configured within 5 s"
fi
echo "ec2netd said:"
grep -E 'eth1' "$E2N_TMP/ec2netd.log" | tail -3 | sed 's/^/  /'

say "4. What the kernel has now (the instance namespace)"
ip -n "$INST_NS" rule | sed 's/^/  /'
ip -n "$INST_NS" route show table 10001 | sed 's/^/  table 10001: /'
ip -n "$INST_NS" -br addr show dev eth1 | sed 's/^/  /'

say "5. Traffic, through the VPC's source/destination check"
ok=0
expect_pings "$REMOTE_NS" 10.0.1.10 10.0.2.20 10.0.2.21 10.0.2.22 203.0.113.20 2>&1 | grep -v '^+' | sed 's/^/  /'
((PIPESTATUS[0] == 0)) || ok=1
drops=$(vpc_srccheck_drops)
echo "  packets dropped by the source check: $drops"

say "6. Nothing left to do: ec2netctl plan lists no operation"
ip netns exec "$INST_NS" "${CTL[@]}" plan | sed 's/^/  /'
echo "  (plan printed $(ip netns exec "$INST_NS" "${CTL[@]}" plan | wc -l) operations)"
e2n_daemon_stop >/dev/null 2>&1

say "Cleaning up"
vpc_cleanup >/dev/null 2>&1
[[ $rc == 0 && $ok == 0 ]] && echo "demo: OK" || { echo "demo: FAILED"; exit 1; }
