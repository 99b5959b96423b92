#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-restart: stopping and starting ec2netd changes nothing.
#
# With two ENIs configured by a first daemon: SIGTERM makes it exit 0 and
# leaves the kernel state exactly as it was (e2n_kstate before and after);
# a second daemon's startup pass adopts what is there: `ip monitor` in the
# instance shows no netlink change from before its start until after its
# READY=1 and one more refresh; traffic still flows. SIGHUP with a broken
# config keeps the old one (no change either), with a good one it rescans.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:02:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 0e:e2:00:00:02:11 B 1 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20 --prefix4 10.0.2.64/28
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?

CONF="$E2N_TMP/ec2net.conf"
printf '[Daemon]\nRefreshSec=60\n' >"$CONF"

e2n_daemon_start --config "$CONF" --refresh 1
[[ $(e2n_rules_of "$INST_NS" 10001) == 4 ]] || fail "eth1 rules: $(ip -n "$INST_NS" rule show)"
check expect_pings "$REMOTE_NS" 10.0.1.10 10.0.1.11 10.0.2.20 10.0.2.21

e2n_monitor_start "$INST_NS"
BEFORE=$(e2n_kstate "$INST_NS")
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] && e2n_log "ok: exit 0 on SIGTERM" || fail "ec2netd exited $rc on SIGTERM"
STOPPED=$(e2n_kstate "$INST_NS")
[[ "$BEFORE" == "$STOPPED" ]] && e2n_log "ok: SIGTERM left the network as it was" \
        || fail "SIGTERM changed the network: $(diff <(echo "$BEFORE") <(echo "$STOPPED"))"

LOG_LINES=$(grep -c . "$E2N_TMP/ec2netd.log")
e2n_daemon_start --config "$CONF" --refresh 1
sleep 1.5 # one refresh at least
EVENTS=$(e2n_monitor_stop)
if [[ -z "$EVENTS" ]]; then
        e2n_log "ok: no netlink change during stop, start and a refresh"
else
        fail "netlink changes during the restart:"$'\n'"$EVENTS"
fi
grep -E 'Pass: nothing to do' "$E2N_TMP/ec2netd.log" >/dev/null 2>&1 || true

# SIGHUP with a broken config: kept, logged, nothing changes.
printf '[Daemon]\nRefreshSec=sometimes\n' >"$CONF"
e2n_monitor_start "$INST_NS"
kill -HUP "$E2N_DAEMON_PID"
sleep 0.5
grep -q 'RefreshSec' "$E2N_TMP/ec2netd.log" && e2n_log "ok: the bad key is reported" \
        || fail "the bad config was not reported"
grep -q 'RELOADING=1' "$E2N_TMP/notify.log" && e2n_log "ok: RELOADING=1" || fail "no RELOADING=1"
kill -0 "$E2N_DAEMON_PID" || fail "ec2netd died on a bad config"
printf '[Daemon]\nRefreshSec=60\n' >"$CONF"
kill -HUP "$E2N_DAEMON_PID"
sleep 0.5
EVENTS=$(e2n_monitor_stop)
[[ -z "$EVENTS" ]] && e2n_log "ok: no netlink change on SIGHUP" || fail "SIGHUP changed:"$'\n'"$EVENTS"
grep -q 'Configuration reloaded' "$E2N_TMP/ec2netd.log" || fail "the good config was not loaded"
check expect_pings "$REMOTE_NS" 10.0.1.10 10.0.1.11 10.0.2.20 10.0.2.21
# Nothing above debug for passes that changed nothing: the log (info level) of
# the second daemon has no notice of changes.
if tail -n +"$((LOG_LINES + 1))" "$E2N_TMP/ec2netd.log" | grep -E ': [0-9]+ added, [0-9]+ removed'; then
        fail "the second daemon logged changes"
else
        e2n_log "ok: the second daemon logged no change"
fi

rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"
e2n_finish
