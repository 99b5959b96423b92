#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-attach: ec2netd follows ENIs as they come and go.
#
# 1. Startup: READY=1 and STATUS= reach the NOTIFY_SOCKET listener after the
#    first pass, which configured the primary ENI.
# 2. Hot attach: a new ENI appears while the daemon runs, its metadata reaches
#    IMDS only afterwards (the daemon retries with backoff); it is configured
#    and traffic flows through the VPC's source check. Then the ENI is
#    re-attached five times with IMDS already listing it (moved out of the
#    instance and back): the time from the link appearing to its last rule is
#    printed, and the median.
# 3. Drift: one of our rules deleted by someone else is back within a second.
# 4. Detach: the veth is deleted; no rule of its table is left.
# 5. SIGTERM: exit 0, configuration left in place.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:01:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_host hostB B 10.0.2.50
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?

# --- 1. startup and sd_notify
e2n_daemon_start --log-level debug
grep -q '^READY=1' "$E2N_TMP/notify.log" && e2n_log "ok: READY=1" || fail "no READY=1"
if grep -q '^STATUS=1 interfaces managed, last pass' "$E2N_TMP/notify.log"; then
        e2n_log "ok: $(grep '^STATUS=' "$E2N_TMP/notify.log" | tail -1)"
else
        fail "no STATUS= with the count: $(cat "$E2N_TMP/notify.log")"
fi
[[ $(e2n_rules_of "$INST_NS" 10000) == 3 ]] && e2n_log "ok: eth0 has its 3 rules" \
        || fail "eth0 rules: $(ip -n "$INST_NS" rule show)"
"${PY[@]}" -c 'import json, sys
s = json.load(open(sys.argv[1]))
assert s["last-pass"]["result"] == "ok"
assert [(i["name"], i["table"], i["interface-id"][:4]) for i in s["interfaces"]] == [("eth0", 10000, "eni-")], s
' "$E2N_TMP/state/state.json" \
        && e2n_log "ok: state.json lists eth0" || fail "state.json: $(cat "$E2N_TMP/state/state.json")"

# --- 2. hot attach, metadata after the link
e2n_attach_latency "$INST_NS" eth1 10001 3 "$E2N_TMP/lat.0"
LAT_PID=$E2N_LAST_PID
vpc_eni eth1 0e:e2:00:00:01:11 B 1 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20
vpc_imds_update
for ((i = 0; i < 500; i++)); do
        [[ -s "$E2N_TMP/lat.0" ]] && break
        sleep 0.01
done
[[ -s "$E2N_TMP/lat.0" ]] && e2n_log "ok: eth1 configured $(cat "$E2N_TMP/lat.0") ms after it appeared (IMDS updated after the link)" \
        || fail "eth1 not configured: $(ip -n "$INST_NS" rule show)"
kill "$LAT_PID" 2>/dev/null
check expect_pings "$REMOTE_NS" 10.0.1.10 10.0.2.20 10.0.2.21
check expect_pings "${HOST_NS[hostB]}" 10.0.2.20 10.0.2.21
[[ $(vpc_srccheck_drops) == 0 ]] || fail "the source check dropped packets: $(vpc_show_drops)"

# Re-attach with IMDS already listing it: out of the instance and back.
LATS=()
for run in 1 2 3 4 5; do
        run "$INST_NS" ip link set eth1 netns "$VPC_NS" || die "move eth1 out"
        for ((i = 0; i < 200; i++)); do
                [[ $(e2n_rules_of "$INST_NS" 10001) == 0 ]] && break
                sleep 0.01
        done
        [[ $(e2n_rules_of "$INST_NS" 10001) == 0 ]] || fail "run $run: rules of 10001 left after the link went"
        e2n_attach_latency "$INST_NS" eth1 10001 3 "$E2N_TMP/lat.$run"
        LAT_PID=$E2N_LAST_PID
        sleep 0.2 # the poller is waiting for the link
        ip netns exec "$VPC_NS" ip link set eth1 netns "$INST_NS" || die "move eth1 back"
        for ((i = 0; i < 300; i++)); do
                [[ -s "$E2N_TMP/lat.$run" ]] && break
                sleep 0.01
        done
        kill "$LAT_PID" 2>/dev/null
        if [[ -s "$E2N_TMP/lat.$run" ]]; then
                LATS+=("$(cat "$E2N_TMP/lat.$run")")
        else
                fail "run $run: eth1 not configured within 3 s"
        fi
done
if ((${#LATS[@]} > 0)); then
        MEDIAN=$(printf '%s\n' "${LATS[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        e2n_log "attach-to-configured latency (ms): ${LATS[*]}; median $MEDIAN"
fi
check expect_pings "$REMOTE_NS" 10.0.2.20 10.0.2.21

# --- 3. drift
run "$INST_NS" ip rule del from 10.0.2.21 lookup 10001 priority 10001 || die "rule del"
if ms=$(e2n_wait_for 1 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 3 ]]'); then
        e2n_log "ok: the deleted rule is back after $ms ms"
else
        fail "the deleted rule is not back after $ms ms: $(ip -n "$INST_NS" rule show)"
fi
check expect_pings "$REMOTE_NS" 10.0.2.21

# --- 4. detach
vpc_eni_detach eth1
vpc_imds_update
if ms=$(e2n_wait_for 2 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 0 ]]'); then
        e2n_log "ok: no rule of table 10001 left, $ms ms after the detach"
else
        fail "rules of table 10001 left: $(ip -n "$INST_NS" rule show)"
fi
[[ $(e2n_rules_of "$INST_NS" 10000) == 3 ]] || fail "eth0 lost rules: $(ip -n "$INST_NS" rule show)"

# --- 5. SIGTERM leaves everything in place
RSS=$(awk '/VmRSS/ {print $2, $3}' "/proc/$E2N_DAEMON_PID/status")
e2n_log "ec2netd idle RSS: $RSS"
BEFORE=$(e2n_kstate "$INST_NS")
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] && e2n_log "ok: ec2netd exited 0 on SIGTERM" || fail "ec2netd exited $rc"
grep -q 'STOPPING=1' "$E2N_TMP/notify.log" || fail "no STOPPING=1"
AFTER=$(e2n_kstate "$INST_NS")
[[ "$BEFORE" == "$AFTER" ]] && e2n_log "ok: the network is as it was" \
        || fail "SIGTERM changed the network: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"

if grep -qi 'token' "$E2N_TMP/ec2netd.log"; then
        grep -i token "$E2N_TMP/ec2netd.log" | head -3
fi
[[ -n "${E2N_DAEMON_LOG_COPY:-}" ]] && cp "$E2N_TMP/ec2netd.log" "$E2N_DAEMON_LOG_COPY"
e2n_finish
