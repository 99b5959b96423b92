#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-vpc-baseline: the test world can tell good from bad.
#
# 1. Without ec2net (the DHCP-like state plus every ENI address added by hand,
#    no policy routing), traffic to the addresses of the second and third ENI
#    fails: the replies leave through the wrong ENI and the VPC's source check
#    drops them (its counter says so).
# 2. With the kernel state of design.md section 3 applied by hand
#    (apply_layout_by_hand), everything passes: every address of every ENI from
#    the remote host, a host in the same subnet and a host in another subnet,
#    the Elastic IP, a container on a local bridge, traffic from every address,
#    unbound traffic; and the source check drops nothing.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

T0=$SECONDS
FAILED=0
# check CMD...: run a check; a group check returns how many of its parts failed.
check() { "$@"; FAILED=$((FAILED + $?)); }

# ---------------------------------------------------------------------------
# Topology

EIP1=203.0.113.20

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:00:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 0e:e2:00:00:00:11 A 1 -- 10.0.1.20 10.0.1.21 -6 2001:db8:1::20 --eip "$EIP1=10.0.1.20"
vpc_eni eth2 0e:e2:00:00:00:12 B 2 -- 10.0.2.20 10.0.2.21
vpc_host hostA A 10.0.1.50 2001:db8:1::50
vpc_host hostB B 10.0.2.50 2001:db8:2::50
vpc_container

HOSTA=${HOST_NS[hostA]}
HOSTB=${HOST_NS[hostB]}

# Every address of every ENI, by family.
ALL4=() ALL6=()
for i in "${E2N_ENIS[@]}"; do
        read -ra a <<<"${ENI_ADDR4[$i]}"
        ALL4+=("${a[@]}")
        read -ra a <<<"${ENI_ADDR6[$i]}"
        ALL6+=("${a[@]}")
done

# The metadata of this topology, and the fake IMDS serving it (when it exists).
vpc_metadata "$E2N_TMP/metadata.json"
if [[ -f "$EC2NET_SOURCE_DIR/tests/integration/fake_imds.py" ]]; then
        vpc_start_imds "$E2N_TMP/metadata.json"
        mac0=$(ip netns exec "$INST_NS" "${PY[@]}" -c '
import urllib.request as u
t = u.urlopen(u.Request("http://169.254.169.254/latest/api/token", method="PUT",
    headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=1).read().decode()
print(u.urlopen(u.Request("http://169.254.169.254/latest/meta-data/mac",
    headers={"X-aws-ec2-metadata-token": t}), timeout=1).read().decode())')
        if [[ "$mac0" == "${ENI_MAC[eth0]}" ]]; then
                e2n_log "ok: IMDS in the instance serves mac = $mac0"
        else
                e2n_fail "IMDS in the instance: mac is '$mac0', expected ${ENI_MAC[eth0]}"
                FAILED=$((FAILED + 1))
        fi
else
        e2n_log "fake_imds.py not there yet: IMDS not started"
fi

# ---------------------------------------------------------------------------
# Phase 1: without ec2net

e2n_log ""
e2n_log "== phase 1: DHCP-like state plus the ENI addresses, no policy routing"
vpc_dhcp_primary

# What an administrator (or ec2-net-utils without its rules) would add: the
# primaries with their subnet prefix, secondaries as /32, IPv6 as /128.
add_addresses_by_hand() {
        local i a s first
        for i in "${E2N_ENIS[@]}"; do
                s=${ENI_SUBNET[$i]}
                first=1
                for a in ${ENI_ADDR4[$i]}; do
                        if [[ $first == 1 ]]; then
                                run "$INST_NS" ip addr replace "$a/${SUBNET_CIDR4[$s]#*/}" dev "$i"
                                first=0
                        else
                                run "$INST_NS" ip addr replace "$a/32" dev "$i" noprefixroute
                        fi
                done
                for a in ${ENI_ADDR6[$i]}; do
                        run "$INST_NS" ip addr replace "$a/128" dev "$i" noprefixroute
                done
        done
}
add_addresses_by_hand

vpc_show_drops
drops0_before=$(vpc_srccheck_drops eth0)
drops2_before=$(vpc_srccheck_drops eth2)

# The world works at all: the primary ENI answers from the remote host.
check expect_pings "$REMOTE_NS" 10.0.1.10 10.0.1.11 2001:db8:1::10

# Replies from eth1 and eth2 leave through eth0 (main default route) and are
# dropped by eth0's source check; so are the replies through the Elastic IP.
check expect_no_pings "$REMOTE_NS" 10.0.1.20 10.0.1.21 2001:db8:1::20 10.0.2.20 10.0.2.21 "$EIP1"
# From the host in subnet B, replies from eth0 and eth1 are captured by eth2's
# connected route in the main table and dropped by eth2's source check.
check expect_no_pings "$HOSTB" 10.0.1.10 10.0.1.20 10.0.1.21

vpc_show_drops
drops0=$(( $(vpc_srccheck_drops eth0) - drops0_before ))
drops2=$(( $(vpc_srccheck_drops eth2) - drops2_before ))
if (( drops0 >= 6 )); then
        e2n_log "ok: eth0's source check dropped $drops0 packets (>= 6: the replies of eth1, eth2 and the EIP)"
else
        e2n_fail "eth0's source check dropped $drops0 packets, expected at least 6"
        FAILED=$((FAILED + 1))
fi
if (( drops2 >= 3 )); then
        e2n_log "ok: eth2's source check dropped $drops2 packets (>= 3: replies to subnet B from eth0 and eth1)"
else
        e2n_fail "eth2's source check dropped $drops2 packets, expected at least 3"
        FAILED=$((FAILED + 1))
fi

# ---------------------------------------------------------------------------
# Phase 2: the layout of design.md section 3, by hand

# apply_layout_by_hand: for every ENI (card c, device d): table
# T = 10000 + 100c + d with the default route via the subnet gateway and the
# subnet route with src = ENI primary (IPv6: default via fe80:ec2::1 and the
# subnet); the link in group 236; rule priority 9999 "lookup main
# suppress_prefixlength 0 suppress_ifgroup 236" for both families; "from ADDR
# lookup T priority T" for every address and prefix, the primary included.
# Everything with protocol 236. (Addresses are already there: this iproute2
# cannot mark them with IFA_PROTO.)
apply_layout_by_hand() {
        local i s t gw primary a
        for i in "${E2N_ENIS[@]}"; do
                s=${ENI_SUBNET[$i]}
                # shellcheck disable=SC2004 # the :-0 default needs the ${}
                t=$((10000 + 100 * ${ENI_CARD[$i]:-0} + ENI_DEV[$i]))
                gw=${SUBNET_GW4[$s]}
                read -r primary _ <<<"${ENI_ADDR4[$i]}"
                run "$INST_NS" ip link set dev "$i" group 236
                if [[ -n "$primary" ]]; then
                        run "$INST_NS" ip route replace "${SUBNET_CIDR4[$s]}" dev "$i" scope link \
                                src "$primary" table "$t" proto 236
                        run "$INST_NS" ip route replace default via "$gw" dev "$i" table "$t" proto 236
                fi
                if [[ -n "${ENI_ADDR6[$i]}${ENI_PREFIX6[$i]}" && -n "${SUBNET_CIDR6[$s]:-}" ]]; then
                        run "$INST_NS" ip -6 route replace "${SUBNET_CIDR6[$s]}" dev "$i" table "$t" proto 236
                        run "$INST_NS" ip -6 route replace default via "$VPC_GW6_LL" dev "$i" table "$t" \
                                proto 236
                fi
                for a in ${ENI_ADDR4[$i]} ${ENI_PREFIX4[$i]}; do
                        run "$INST_NS" ip rule add from "$a" lookup "$t" priority "$t" proto 236
                done
                for a in ${ENI_ADDR6[$i]} ${ENI_PREFIX6[$i]}; do
                        run "$INST_NS" ip -6 rule add from "$a" lookup "$t" priority "$t" proto 236
                done
        done
        run "$INST_NS" ip rule add priority 9999 lookup main suppress_prefixlength 0 \
                suppress_ifgroup 236 proto 236
        run "$INST_NS" ip -6 rule add priority 9999 lookup main suppress_prefixlength 0 \
                suppress_ifgroup 236 proto 236
}

e2n_log ""
e2n_log "== phase 2: design.md section 3 applied by hand"
apply_layout_by_hand
run "$INST_NS" ip rule
run "$INST_NS" ip -6 rule
vpc_show_drops
drops_before=$(vpc_srccheck_drops)

vpc_tcp_listen "$INST_NS" 8080
vpc_tcp_listen "$REMOTE_NS" 8081

# Every address of every ENI from the remote host, the same-subnet host and
# the other-subnet host; the Elastic IP from the remote host.
check expect_pings "$REMOTE_NS" "${ALL4[@]}" "${ALL6[@]}" "$EIP1"
check expect_pings "$HOSTA" "${ALL4[@]}" "${ALL6[@]}"
check expect_pings "$HOSTB" "${ALL4[@]}" "${ALL6[@]}"
# The container reaches every IPv4 address of the instance, both hosts and the
# remote host (masqueraded).
check expect_pings "$CONTAINER_NS" "${ALL4[@]}" "$REMOTE4" 10.0.1.50 10.0.2.50

# The same over TCP, and the addresses the far end sees.
for a in "${ALL4[@]}"; do
        check expect_tcp "$REMOTE_NS" "$a" 8080 "" "$REMOTE4"
done
for a in "${ALL6[@]}"; do
        check expect_tcp "$REMOTE_NS" "$a" 8080 "" "$REMOTE6"
done
check expect_tcp "$REMOTE_NS" "$EIP1" 8080 "" "$REMOTE4"
check expect_tcp "$HOSTA" 10.0.1.21 8080 "" 10.0.1.50
check expect_tcp "$HOSTB" 10.0.1.10 8080 "" 10.0.2.50
check expect_tcp "$HOSTB" 2001:db8:1::20 8080 "" 2001:db8:2::50
check expect_tcp "$CONTAINER_NS" 10.0.2.21 8080 "" "$CONTAINER4"
check expect_tcp "$CONTAINER_NS" "$REMOTE4" 8081 "" 10.0.1.10

# Traffic from every address of the instance reaches the remote host and both
# hosts; eth1's primary leaves as its Elastic IP.
for a in "${ALL4[@]}"; do
        check expect_pings "$INST_NS" -I "$a" "$REMOTE4" 10.0.1.50 10.0.2.50
done
for a in "${ALL6[@]}"; do
        check expect_pings "$INST_NS" -I "$a" "$REMOTE6" 2001:db8:1::50 2001:db8:2::50
done
check expect_tcp "$INST_NS" "$REMOTE4" 8081 10.0.1.20 "$EIP1"
check expect_tcp "$INST_NS" "$REMOTE4" 8081 10.0.2.21 10.0.2.21
check expect_tcp "$INST_NS" "$REMOTE6" 8081 2001:db8:1::20 2001:db8:1::20
# Unbound traffic takes the primary's address.
check expect_tcp "$INST_NS" "$REMOTE4" 8081 "" 10.0.1.10
check expect_tcp "$INST_NS" "$REMOTE6" 8081 "" 2001:db8:1::10
check expect_pings "$INST_NS" 10.0.1.50 10.0.2.50 2001:db8:1::50 2001:db8:2::50

# Strict reverse-path filtering on the instance changes nothing.
run_quiet "$INST_NS" sysctl -w net.ipv4.conf.all.rp_filter=1
check expect_pings "$REMOTE_NS" "${ALL4[@]}" "$EIP1"
check expect_pings "$HOSTB" "${ALL4[@]}"
check expect_pings "$CONTAINER_NS" "$REMOTE4" 10.0.2.50
run_quiet "$INST_NS" sysctl -w net.ipv4.conf.all.rp_filter="$E2N_INSTANCE_RP_FILTER"

vpc_show_drops
drops_after=$(vpc_srccheck_drops)
if (( drops_after == drops_before )); then
        e2n_log "ok: the source check dropped nothing in phase 2"
else
        e2n_fail "the source check dropped $((drops_after - drops_before)) packets in phase 2"
        FAILED=$((FAILED + 1))
fi

e2n_log ""
if (( FAILED > 0 )); then
        e2n_log "FAILED: $FAILED check(s) in $((SECONDS - T0)) s"
        run "$INST_NS" ip -d link show
        run "$INST_NS" ip addr
        run "$INST_NS" ip route show table all
        run "$VPC_NS" ip neigh
        run "$VPC_NS" nft list ruleset
        exit 1
fi
e2n_log "PASS in $((SECONDS - T0)) s"
