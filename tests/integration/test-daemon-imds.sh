#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-imds: ec2netd when IMDS lags, fails, and changes.
#
# 1. IMDS lag: a new ENI's link appears; IMDS lists its MAC only 2 s later, and
#    first with device-number 0. It is never configured with table 10000 (no
#    rule or address of it appears); once IMDS shows device-number 1 it is
#    configured with table 10001 (the retry with backoff picks it up).
# 2. IMDS down (HTTP 500 on every request) over several refresh intervals
#    (--refresh 1), while a secondary address is unassigned in the VPC:
#    nothing is removed or changed. Faults cleared: the refresh converges
#    (the unassigned address and its rule go).
# 3. A secondary added to IMDS is picked up by the refresh.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

PRIMARY_MAC=0e:e2:00:00:03:10
vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet C 10.0.3.0/24
vpc_eni eth0 "$PRIMARY_MAC" A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?

# imds_push: the metadata of the description, with the top-level mac kept on
# the primary (vpc_metadata takes any device 0 for the primary).
imds_push() {
        vpc_metadata "$E2N_TMP/md.json"
        ip netns exec "$INST_NS" "${PY[@]}" - "$E2N_TMP/md.json" "$PRIMARY_MAC" <<'PYEOF' || die "push"
import json, sys, urllib.request as u
tree = json.load(open(sys.argv[1]))
tree["meta-data"]["mac"] = sys.argv[2]
u.urlopen(u.Request("http://169.254.169.254/_fake/tree", data=json.dumps(tree).encode(),
                    method="POST"), timeout=2).read()
PYEOF
        e2n_log "+ IMDS tree pushed"
}
fake() { # fake OP [JSON]
        ip netns exec "$INST_NS" "${PY[@]}" -c 'import sys, urllib.request as u
print(u.urlopen(u.Request("http://169.254.169.254/_fake/" + sys.argv[1], data=sys.argv[2].encode(), method="POST"), timeout=2).read().decode())' "$1" "${2:-}"
}

e2n_daemon_start --refresh 1

# --- 1. IMDS lag with a wrong device number first
vpc_eni eth1 0e:e2:00:00:03:11 C 1 -- 10.0.3.20 10.0.3.21
ENI_DEV[eth1]=0
sleep 2
imds_push
sleep 2
if ip -n "$INST_NS" rule show | grep -q '10.0.3.2' || ip -n "$INST_NS" addr show dev eth1 | grep -q 'inet 10'; then
        fail "eth1 was configured while IMDS said device-number 0: $(ip -n "$INST_NS" rule show)"
else
        e2n_log "ok: eth1 left alone while IMDS says device-number 0"
fi
ENI_DEV[eth1]=1
imds_push
if ms=$(e2n_wait_for 5 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 2 ]]'); then
        e2n_log "ok: eth1 configured with table 10001, $ms ms after IMDS got it right"
else
        fail "eth1 not configured: $(ip -n "$INST_NS" rule show)"
fi
[[ $(e2n_rules_of "$INST_NS" 10000) == 3 ]] || fail "table 10000 rules: $(ip -n "$INST_NS" rule show)"
check expect_pings "$REMOTE_NS" 10.0.3.20 10.0.3.21 10.0.1.10

# --- 2. IMDS down over several refreshes
fake fault '{"kind": "status", "status": 500, "count": -1}'
vpc_eni_unassign eth1 10.0.3.21
imds_push
BEFORE=$(e2n_kstate "$INST_NS")
sleep 4
AFTER=$(e2n_kstate "$INST_NS")
[[ "$BEFORE" == "$AFTER" ]] && e2n_log "ok: nothing changed during 4 s of IMDS errors" \
        || fail "IMDS errors changed the network: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"
grep -q 'Cannot read IMDS' "$E2N_TMP/ec2netd.log" && e2n_log "ok: the IMDS failure is logged" \
        || fail "no warning about IMDS"
fake clear-faults
if ms=$(e2n_wait_for 4 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 1 ]]'); then
        e2n_log "ok: converged $ms ms after IMDS came back (10.0.3.21 removed)"
else
        fail "not converged: $(ip -n "$INST_NS" rule show)"
fi

# --- 3. a secondary added to IMDS
vpc_eni_assign eth1 10.0.3.22
imds_push
if ms=$(e2n_wait_for 3 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 2 ]]'); then
        e2n_log "ok: the new secondary picked up by the refresh after $ms ms"
else
        fail "10.0.3.22 not configured: $(ip -n "$INST_NS" rule show)"
fi
check expect_pings "$REMOTE_NS" 10.0.3.20 10.0.3.22

rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"
e2n_finish
