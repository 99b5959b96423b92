#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-nonblock: ec2netd's loop never waits for IMDS (issue 4).
#
# The fake IMDS answers the MAC listing only after 20 s, so every read of the
# instance hangs on it (each attempt times out after TimeoutSec=3, then the
# retries) for about 13 s. While such a read is in flight:
# 1. an ENI is detached: its rules are gone before the read ends (the daemon
#    log shows no read completed yet), and WATCHDOG=1 keeps reaching the
#    NOTIFY_SOCKET listener (WatchdogSec=1s) while the read goes on; when the
#    read fails nothing else changes;
# 2. an ENI leaves and comes back at another device number (2 -> 3) while
#    IMDS is slow: it is not configured from the metadata read before (no
#    rule of table 10002 while the read is in flight); once IMDS answers it
#    gets table 10003;
# 3. SIGTERM: ec2netd exits 0 without waiting for the read, the network as it
#    was.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

count() { grep -c -- "$1" "$2"; }

vpc_init
LOG=$E2N_TMP/ec2netd.log
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24
vpc_eni eth0 0e:e2:00:00:04:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 0e:e2:00:00:04:11 B 1 -- 10.0.2.20 10.0.2.21
vpc_eni eth2 0e:e2:00:00:04:12 B 2 -- 10.0.2.30
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?

CONF=$E2N_TMP/ec2net.conf
printf '[IMDS]\nTimeoutSec=3\n' >"$CONF"
WATCHDOG_USEC=1000000 e2n_daemon_start --config "$CONF" --log-level debug --refresh 0
[[ $(e2n_rules_of "$INST_NS" 10001) == 2 && $(e2n_rules_of "$INST_NS" 10002) == 1 ]] \
        && e2n_log "ok: eth1 and eth2 configured (tables 10001, 10002)" \
        || fail "eth1, eth2 not configured: $(ip -n "$INST_NS" rule show)"
grep -q '^WATCHDOG=1' "$E2N_TMP/notify.log" || fail "no WATCHDOG=1 at all"

# Every read of the instance now waits for the listing: 3 s per attempt, 4
# attempts, then "Cannot read IMDS".
e2n_imds_ctl fault '{"path": "meta-data/network/interfaces/macs/", "kind": "delay", "delay_ms": 20000, "count": -1}'

# --- 1. detach and watchdog during a slow read
READS0=$(count 'IMDS read:' "$LOG")
FAILS0=$(count 'Cannot read IMDS' "$LOG")
WD0=$(count '^WATCHDOG=1' "$E2N_TMP/notify.log")
run "$INST_NS" kill -HUP "$E2N_DAEMON_PID"
e2n_wait_for 2 grep -q 'Reloading' "$LOG" >/dev/null || fail "no reload"
vpc_eni_detach eth1
if ms=$(e2n_wait_for 4 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 0 ]]'); then
        if (($(count 'IMDS read:' "$LOG") == READS0 && $(count 'Cannot read IMDS' "$LOG") == FAILS0)); then
                e2n_log "ok: eth1's rules gone $ms ms after the detach, while IMDS was still being read"
        else
                fail "the read ended before eth1's rules went ($ms ms): not proven"
        fi
else
        fail "rules of table 10001 left during the IMDS read: $(ip -n "$INST_NS" rule show)"
fi
[[ $(e2n_rules_of "$INST_NS" 10000) == 3 ]] || fail "eth0 lost rules: $(ip -n "$INST_NS" rule show)"
BEFORE=$(e2n_kstate "$INST_NS")
# Two seconds more of the read, which lasts about 12.7 s (4 attempts of 3 s
# and the backoff): WatchdogSec=1s means a ping every half second or so; a
# loop blocked in the read would send none.
sleep 2
WD=$(($(count '^WATCHDOG=1' "$E2N_TMP/notify.log") - WD0))
if (($(count 'IMDS read:' "$LOG") != READS0 || $(count 'Cannot read IMDS' "$LOG") != FAILS0)); then
        fail "the read ended too soon to count the watchdog pings during it"
elif ((WD >= 3)); then
        e2n_log "ok: $WD WATCHDOG=1 while the read was in flight"
else
        fail "only $WD WATCHDOG=1 in over 2 s of reading IMDS"
fi
if ms=$(e2n_wait_for 30 eval '(($(count "Cannot read IMDS" "$LOG") > FAILS0))'); then
        e2n_log "ok: the slow read failed after $ms more ms"
else
        fail "the slow read did not end: $(tail -5 "$LOG")"
fi
AFTER=$(e2n_kstate "$INST_NS")
[[ "$BEFORE" == "$AFTER" ]] && e2n_log "ok: the failed read changed nothing" \
        || fail "the failed read changed the network: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"

# --- 2. back at another device number while IMDS is slow
run "$INST_NS" ip link set eth2 netns "$VPC_NS" || die "move eth2 out"
e2n_wait_for 4 eval '[[ $(e2n_rules_of "$INST_NS" 10002) == 0 ]]' >/dev/null \
        || fail "rules of 10002 left after eth2 went: $(ip -n "$INST_NS" rule show)"
ENI_DEV[eth2]=3
vpc_imds_update
READS0=$(count 'IMDS read' "$LOG")
run "$VPC_NS" ip link set eth2 netns "$INST_NS" || die "move eth2 back"
sleep 1 # the read for eth2 waits for the listing; kernel-only passes ran
if (($(count 'IMDS read' "$LOG") != READS0)); then
        fail "the read for eth2 ended too soon: not proven"
elif [[ $(e2n_rules_of "$INST_NS" 10002) == 0 && $(e2n_rules_of "$INST_NS" 10003) == 0 ]]; then
        e2n_log "ok: eth2 not configured from the old metadata while IMDS is read"
else
        fail "eth2 configured before IMDS said what it is: $(ip -n "$INST_NS" rule show)"
fi
e2n_imds_ctl clear-faults
if ms=$(e2n_wait_for 10 eval '[[ $(e2n_rules_of "$INST_NS" 10003) == 1 ]]'); then
        e2n_log "ok: eth2 configured with table 10003 $ms ms after IMDS answered again"
else
        fail "eth2 not configured with 10003: $(ip -n "$INST_NS" rule show)"
fi
[[ $(e2n_rules_of "$INST_NS" 10002) == 0 ]] || fail "table 10002 rules: $(ip -n "$INST_NS" rule show)"
e2n_imds_ctl fault '{"path": "meta-data/network/interfaces/macs/", "kind": "delay", "delay_ms": 20000, "count": -1}'

# --- 3. SIGTERM during a slow read
READS0=$(count 'IMDS read:' "$LOG")
FAILS0=$(count 'Cannot read IMDS' "$LOG")
N0=$(count 'Reloading' "$LOG")
run "$INST_NS" kill -HUP "$E2N_DAEMON_PID"
e2n_wait_for 2 eval '(($(count Reloading "$LOG") > N0))' >/dev/null || fail "no second reload"
sleep 0.3 # the read is waiting for the listing now
BEFORE=$(e2n_kstate "$INST_NS")
t0=$(date +%s%N)
rc=0
e2n_daemon_stop || rc=$?
t1=$(date +%s%N)
[[ $rc == 0 ]] && e2n_log "ok: ec2netd exited 0 on SIGTERM, $(((t1 - t0) / 1000000)) ms after it" \
        || fail "ec2netd exited $rc"
if (($(count 'IMDS read:' "$LOG") == READS0 && $(count 'Cannot read IMDS' "$LOG") == FAILS0)); then
        e2n_log "ok: it did not wait for the read in flight"
else
        fail "the read ended before ec2netd exited: not proven"
fi
AFTER=$(e2n_kstate "$INST_NS")
[[ "$BEFORE" == "$AFTER" ]] && e2n_log "ok: the network is as it was" \
        || fail "SIGTERM changed the network: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"

[[ -n "${E2N_DAEMON_LOG_COPY:-}" ]] && cp "$LOG" "$E2N_DAEMON_LOG_COPY"
e2n_finish "$LOG"
