#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-ctl-scan: ec2ifscan configures an ENI that appeared while nothing ran.
#
# The instance is configured with `ec2netctl apply`; then, with no daemon, a
# second ENI (eth1) is attached (its veth appears, IMDS lists it). Before
# ec2ifscan: no rule looks up its table 10001 and its addresses do not answer
# the remote host. ec2ifscan exits 0 and prints one line, for eth1 only (eth0
# was configured already); after it the 3 rules of 10001 are there, traffic to
# eth1's addresses flows, and a second ec2ifscan prints nothing.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=test-ctl-common.sh
source "$(dirname "$0")/test-ctl-common.sh"

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:07:00 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?
ctl_setup
ctl "$E2N_TMP/apply.out" ec2netctl apply >/dev/null || fail "apply failed"

# eth1 is attached while nothing runs.
vpc_eni eth1 0e:e2:00:00:07:01 B 1 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20
run "$INST_NS" ip link set eth1 up
vpc_imds_update
E1=(10.0.2.20 10.0.2.21 2001:db8:2::20)

[[ $(e2n_rules_of "$INST_NS" 10001) == 0 ]] && ok "before: no rule looks up table 10001" \
        || fail "before: rules of 10001: $(ip -n "$INST_NS" rule show)"
check expect_no_pings "$REMOTE_NS" "${E1[@]}"

ctl "$E2N_TMP/scan.out" ec2ifscan && ok "ec2ifscan exited 0" || fail "ec2ifscan failed"
if [[ $(cat "$E2N_TMP/scan.out") =~ ^eth1:\ configured\ \([0-9]+\ operations\)$ ]]; then
        ok "ec2ifscan printed one line, for eth1"
else
        fail "ec2ifscan output: $(cat "$E2N_TMP/scan.out")"
fi
[[ $(e2n_rules_of "$INST_NS" 10001) == 3 ]] && ok "after: the 3 rules of table 10001" \
        || fail "after: rules of 10001: $(ip -n "$INST_NS" rule show)"
[[ $(e2n_rules_of "$INST_NS" 10000) == 3 ]] || fail "eth0 rules: $(ip -n "$INST_NS" rule show)"
check expect_pings "$REMOTE_NS" "${E1[@]}" 10.0.1.10 10.0.1.11 2001:db8:1::10
[[ $(vpc_srccheck_drops) == 0 ]] || fail "the source check dropped packets: $(vpc_show_drops)"

ctl "$E2N_TMP/scan2.out" ec2netctl scan && ok "a second scan exited 0" || fail "second scan failed"
[[ ! -s "$E2N_TMP/scan2.out" ]] && ok "a second scan configured nothing" \
        || fail "second scan printed: $(cat "$E2N_TMP/scan2.out")"

ctl_finish
