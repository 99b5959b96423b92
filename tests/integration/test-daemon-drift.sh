#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-drift: ec2netd does not fight another agent in a tight loop.
#
# Another agent deletes one of our rules every few milliseconds. ec2netd puts
# it back at most DRIFT_MAX times within DRIFT_WINDOW, logs "another agent keeps changing it" once,
# then leaves that interface alone: while the agent goes on deleting, no
# repair (counted from `ip monitor`: additions of that rule). Once the agent
# has stopped and the hold-off is over, the rule is back and traffic flows
# from its address. The other ENI's rules are never touched.
# (test-daemon-attach.sh covers a single deletion repaired at once.)
#
# Needs root; exit 77 (skip) otherwise, except in CI. About 45 s (the
# hold-off is 30 s).

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

# The limits, as the daemon defines them.
manager_define() {
        sed -n "s/^#define $1 (\{0,1\}\([0-9]*\).*/\1/p" "$EC2NET_SOURCE_DIR/daemon/manager.c"
}
DRIFT_MAX=$(manager_define DRIFT_MAX)
HOLDOFF_SEC=$(manager_define DRIFT_HOLDOFF_USEC)
[[ -n "$DRIFT_MAX" && -n "$HOLDOFF_SEC" ]] || die "DRIFT_MAX or DRIFT_HOLDOFF_USEC not found in manager.c"
e2n_log "DRIFT_MAX=$DRIFT_MAX, hold-off ${HOLDOFF_SEC}s"

vpc_init
vpc_subnet A 10.0.1.0/24
vpc_subnet B 10.0.2.0/24
vpc_eni eth0 0e:e2:00:00:05:10 A 0 -- 10.0.1.10 10.0.1.11
vpc_eni eth1 0e:e2:00:00:05:11 B 1 -- 10.0.2.20 10.0.2.21
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?

# No refresh during the test: only drift starts passes.
e2n_daemon_start --log-level debug --refresh 0
[[ $(e2n_rules_of "$INST_NS" 10001) == 2 ]] || die "eth1 not configured: $(ip -n "$INST_NS" rule show)"
check expect_pings "$REMOTE_NS" 10.0.2.21
RULES0=$(ip -n "$INST_NS" -4 rule show table 10000)

# repairs: how many times the monitor saw the fought rule added.
RULE_RE='^\[[^]]*\] *10001:[[:space:]]+from 10\.0\.2\.21 lookup 10001 proto (ec2net|236)'
repairs() { grep -cE "$RULE_RE" "$E2N_MON_FILE"; }

e2n_monitor_start "$INST_NS"
# The other agent: one shell in the instance, deleting the rule every 5 ms.
run_bg "$INST_NS" bash -c 'while :; do
        ip rule del from 10.0.2.21 lookup 10001 priority 10001 2>/dev/null
        sleep 0.005
done'
FIGHTER_PID=$E2N_LAST_PID
T0=$(date +%s%N)

if ms=$(e2n_wait_for 20 grep -q 'another agent keeps changing it' "$E2N_TMP/ec2netd.log"); then
        e2n_log "ok: ec2netd gave up fighting after $ms ms: $(grep 'another agent' "$E2N_TMP/ec2netd.log")"
else
        fail "no 'another agent keeps changing it' after $ms ms"
fi
AT_WARNING=$(repairs)
# The agent goes on for a while; ec2netd must leave the rule alone. (Counted
# from 1 s after the warning, so that a late line of the monitor is no harm.)
sleep 1
C1=$(repairs)
sleep 2
C2=$(repairs)
kill "$FIGHTER_PID" 2>/dev/null
wait "$FIGHTER_PID" 2>/dev/null
FOUGHT_MS=$((($(date +%s%N) - T0) / 1000000))
ip netns exec "$INST_NS" ip rule del from 10.0.2.21 lookup 10001 priority 10001 2>/dev/null
e2n_log "the agent ran for $FOUGHT_MS ms; ec2netd repaired $AT_WARNING times until its warning, $C2 in all"
if ((C2 >= 1 && C2 <= DRIFT_MAX)); then
        e2n_log "ok: $C2 repairs, at most DRIFT_MAX = $DRIFT_MAX"
else
        fail "$C2 repairs, expected 1..$DRIFT_MAX"
fi
((C2 == C1)) && e2n_log "ok: no repair in the last 2 s of the fight" \
        || fail "$((C2 - C1)) repairs in the last 2 s of the fight, while backing off"
n=$(grep -c 'another agent keeps changing it' "$E2N_TMP/ec2netd.log")
((n == 1)) && e2n_log "ok: the warning was logged once" || fail "the warning was logged $n times"

# The hold-off ends: the rule comes back by itself (no event needed).
if ms=$(e2n_wait_for $((HOLDOFF_SEC + 15)) eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 2 ]]'); then
        e2n_log "ok: the rule is back, $(((FOUGHT_MS + ms) / 1000)) s after the agent started"
else
        fail "the rule is not back after the hold-off: $(ip -n "$INST_NS" rule show)"
fi
EVENTS=$(e2n_monitor_stop)
TOTAL=$(grep -cE '10001:[[:space:]]+from 10\.0\.2\.21 lookup 10001 proto (ec2net|236)' <<<"$EVENTS" | head -1)
e2n_log "rule additions and deletions seen in all: $TOTAL"
check expect_pings "$REMOTE_NS" 10.0.2.21 10.0.2.20 10.0.1.11
[[ "$(ip -n "$INST_NS" -4 rule show table 10000)" == "$RULES0" ]] \
        && e2n_log "ok: eth0's rules untouched" || fail "eth0's rules changed: $(ip -n "$INST_NS" rule show)"

rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"
e2n_finish "$E2N_TMP/ec2netd.log" 200
