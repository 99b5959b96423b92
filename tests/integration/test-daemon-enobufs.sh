#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-enobufs [ROUTES]: ec2netd loses rtnetlink notifications (ENOBUFS
# on its monitor socket), resynchronises, and ends correct.
#
# A configured instance (eth0, eth1 with addresses); the daemon with no
# refresh timer (only events can bring anything back). It is stopped
# (SIGSTOP) and, in one `ip -batch`, ROUTES (default 30000) foreign blackhole
# routes are added in table 500 and all but 100 deleted again, one of our rules
# is deleted in the middle of them, and a foreign rule is added: far more
# notifications than its socket's buffer holds (16 MiB). Then SIGCONT:
#  * the daemon logs that it lost events and resynchronises;
#  * our rule is back; the foreign routes and rule are untouched: the final
#    e2n_kstate is exactly the state after the flood plus our rule;
#  * the time from SIGCONT to the rule being back is printed.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

ROUTES=${1:-30000}

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:09:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 0e:e2:00:00:09:11 B 1 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit 77

# Debug level: the resynchronisation is logged there.
e2n_daemon_start --config /dev/null --refresh 0 --log-level debug
[[ $(e2n_rules_of "$INST_NS" 10001) == 3 ]] || fail "eth1 not configured: $(ip -n "$INST_NS" rule show)"
RULE=$(ip -n "$INST_NS" -4 rule show from 10.0.2.21 table 10001)
[[ -n "$RULE" ]] || die "no rule from 10.0.2.21"

"${PY[@]}" - "$ROUTES" >"$E2N_TMP/flood.batch" <<'PYEOF'
import sys
n = int(sys.argv[1])
addr = lambda i: "100.%d.%d.%d/32" % (64 + i // 65536, i // 256 % 256, i % 256)
for i in range(n):
    print("route add blackhole %s table 500 proto static" % addr(i))
    if i == n // 2:
        print("rule del from 10.0.2.21 lookup 10001 priority 10001")
        print("rule add from 192.0.2.1 lookup 500 priority 600 proto static")
for i in range(100, n):
    print("route del blackhole %s table 500" % addr(i))
PYEOF

LOG0=$(wc -l <"$E2N_TMP/ec2netd.log")
printf '+ kill -STOP %s\n' "$E2N_DAEMON_PID"
kill -STOP "$E2N_DAEMON_PID"
e2n_log "+ [inst] ip -batch $E2N_TMP/flood.batch ($(grep -c . "$E2N_TMP/flood.batch") commands)"
ip netns exec "$INST_NS" ip -batch "$E2N_TMP/flood.batch" || die "flood"
FLOODED=$(e2n_kstate "$INST_NS")
[[ $(ip -n "$INST_NS" -4 route show table 500 | grep -c .) == 100 ]] || die "the flood left $(ip -n "$INST_NS" -4 route show table 500 | grep -c .) routes"
EXPECTED=$(printf '%s\nrule4: %s\n' "$FLOODED" "$RULE" | sed 's/[[:space:]]*$//' | LC_ALL=C sort)

printf '+ kill -CONT %s\n' "$E2N_DAEMON_PID"
kill -CONT "$E2N_DAEMON_PID"
if ms=$(e2n_wait_for 10 eval '[[ -n "$(ip -n "$INST_NS" -4 rule show from 10.0.2.21 table 10001)" ]]'); then
        e2n_log "ok: our rule is back $ms ms after the daemon resumed"
else
        fail "our rule is not back after $ms ms"
fi
if e2n_wait_for 5 eval 'tail -n +"$((LOG0 + 1))" "$E2N_TMP/ec2netd.log" | grep -Eqi "ENOBUFS|events lost|resynchronis"' >/dev/null; then
        e2n_log "ok: logged: $(tail -n +"$((LOG0 + 1))" "$E2N_TMP/ec2netd.log" | grep -Ei -m1 'ENOBUFS|events lost|resynchronis')"
else
        fail "no log line about lost events"
fi
# Let whatever the resynchronisation started finish: a pass after this point.
STAMP=$(e2n_state_stamp)
kill -HUP "$E2N_DAEMON_PID"
e2n_daemon_wait_pass 10 "$STAMP" || fail "no pass after SIGHUP"
FINAL=$(e2n_kstate "$INST_NS")
if [[ "$FINAL" == "$EXPECTED" ]]; then
        e2n_log "ok: the state is the flood's plus our rule: foreign routes and rule untouched"
else
        fail "the final state differs from the expected one:"$'\n'"$(diff <(echo "$EXPECTED") <(echo "$FINAL") | head -40)"
fi
kill -0 "$E2N_DAEMON_PID" 2>/dev/null || fail "ec2netd died"
check_pings() { expect_pings_batch "$REMOTE_NS" 10.0.1.10 10.0.2.20 10.0.2.21; }
check_pings || FAILED=$((FAILED + 1))

rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] && e2n_log "ok: ec2netd exited 0" || fail "ec2netd exited $rc"
e2n_finish "$E2N_TMP/ec2netd.log" 60
