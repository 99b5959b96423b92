#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-events: ec2netd's event sources and the systemd watchdog.
#
# 1. --uevent-source auto, with no udevd running (no /run/udev/control),
#    watches the kernel's uevents (the debug log says so).
# 2. Two interfaces attached within the same millisecond: two ENIs that IMDS
#    already lists leave the instance (their rules go) and come back in one
#    `ip -batch`. Both end configured exactly as the startup pass configured
#    them (e2n_kstate equal, both tables), each by one pass that added what it
#    lacked (no repeated or failed operation), and traffic flows to both. The
#    time from the batch to both configured and the number of passes the
#    burst took (STATUS= messages) are printed.
# 3. No WATCHDOG_USEC: no WATCHDOG=1 at all.
# 4. WATCHDOG_USEC=200000 and WATCHDOG_PID (set as systemd does, to the
#    daemon's own pid): WATCHDOG=1 arrives repeatedly, in a plausible number
#    for one second (the loop pings every 1/2 to 3/4 of the period), and keeps
#    arriving while passes run back to back (SIGHUP every 100 ms). The pings
#    during one pass held by a slow IMDS are printed (the loop is blocked while
#    a pass reads IMDS; the unit's WatchdogSec=3min allows for it).
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_subnet C 10.0.3.0/24
vpc_eni eth0 0e:e2:00:00:06:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 0e:e2:00:00:06:11 B 1 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20
vpc_eni eth2 0e:e2:00:00:06:12 C 2 -- 10.0.3.30 10.0.3.31 10.0.3.32
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?

fake() { # fake OP [JSON]: a control request to the fake IMDS
        ip netns exec "$INST_NS" "${PY[@]}" -c 'import sys, urllib.request as u
print(u.urlopen(u.Request("http://169.254.169.254/_fake/" + sys.argv[1], data=sys.argv[2].encode(), method="POST"), timeout=2).read().decode())' "$1" "${2:-}"
}
count() { grep -c -- "$1" "$2"; } # count PATTERN FILE
# kstate: e2n_kstate without interface indexes (a link moved to another
# namespace and back may get a new one).
kstate() { e2n_kstate "$INST_NS" | sed -E 's/^(link|addr): [0-9]+: /\1: /; s/@if[0-9]+:/:/' | LC_ALL=C sort; }
configured() { [[ $(e2n_rules_of "$INST_NS" 10001) == 3 && $(e2n_rules_of "$INST_NS" 10002) == 3 ]]; }

# --- 1. auto picks the kernel source without udevd
e2n_daemon_start --log-level debug --uevent-source auto
if [[ -e /run/udev/control ]]; then
        e2n_log "skip: udevd runs on this machine (/run/udev/control), auto would pick udev"
elif grep -q 'Watching kernel uevents' "$E2N_TMP/ec2netd.log"; then
        e2n_log "ok: --uevent-source auto watches kernel uevents when udevd does not run"
else
        fail "auto did not pick the kernel source: $(grep -i watching "$E2N_TMP/ec2netd.log")"
fi
configured || fail "eth1 and eth2 not configured at startup: $(ip -n "$INST_NS" rule show)"
EXPECTED=$(kstate)

# --- 2. two ENIs attached in one batch
run "$INST_NS" ip -batch - <<EOF || die "move out"
link set eth1 netns $VPC_NS
link set eth2 netns $VPC_NS
EOF
if ms=$(e2n_wait_for 5 eval '[[ $(e2n_rules_of "$INST_NS" 10001)$(e2n_rules_of "$INST_NS" 10002) == 00 ]]'); then
        e2n_log "ok: the rules of both went $ms ms after they left"
else
        fail "rules left after the links went: $(ip -n "$INST_NS" rule show)"
fi
sleep 0.5 # the passes of the detach are over
LOG0=$(grep -c . "$E2N_TMP/ec2netd.log")
STATUS0=$(count '^STATUS=' "$E2N_TMP/notify.log")
T0=$(date +%s%N)
run "$VPC_NS" ip -batch - <<EOF || die "move back"
link set eth1 netns $INST_NS
link set eth2 netns $INST_NS
EOF
if ms=$(e2n_wait_for 10 configured); then
        e2n_log "both configured $((($(date +%s%N) - T0) / 1000000)) ms after the batch (polled from here; the daemon's own figures follow)"
else
        fail "not both configured after $ms ms: $(ip -n "$INST_NS" rule show)"
fi
sleep 1 # let trailing events (IPv6 link-local addresses, ...) settle
NEW_LOG=$(tail -n +"$((LOG0 + 1))" "$E2N_TMP/ec2netd.log")
PASSES=$(($(count '^STATUS=' "$E2N_TMP/notify.log") - STATUS0))
UEVENTS=$(grep -c 'uevent: add' <<<"$NEW_LOG")
RTNL=$(grep -c 'rtnetlink: message' <<<"$NEW_LOG")
e2n_log "the burst: $UEVENTS add uevents and $RTNL rtnetlink messages handled in $PASSES passes"
grep -E '^eth[12]: ([0-9]+ added|Configured)' <<<"$NEW_LOG"
for i in eth1 eth2; do
        n=$(grep -cE "^$i: [0-9]+ added, 0 removed" <<<"$NEW_LOG")
        ((n == 1)) && e2n_log "ok: $i configured by one pass" \
                || fail "$i changed by $n passes: $(grep -E "^$i: " <<<"$NEW_LOG")"
done
((UEVENTS == 2)) || fail "expected 2 add uevents, got $UEVENTS"
((PASSES >= 1 && PASSES <= UEVENTS + RTNL)) \
        && e2n_log "ok: $PASSES passes for $((UEVENTS + RTNL)) events" \
        || fail "$PASSES passes for $((UEVENTS + RTNL)) events"
if grep -E 'Failed|failed' <<<"$NEW_LOG"; then
        fail "failed operations"
fi
D1=$(grep -E '^eth1: [0-9]+ added' <<<"$NEW_LOG" | sed 's/.* in //')
D2=$(grep -E '^eth2: [0-9]+ added' <<<"$NEW_LOG" | sed 's/.* in //')
[[ -n "$D1" && "$D1" == "$D2" ]] && e2n_log "both in the same pass (one pass took $D1)" \
        || e2n_log "in separate passes ($D1, $D2)"
ACTUAL=$(kstate)
[[ "$ACTUAL" == "$EXPECTED" ]] && e2n_log "ok: the state is exactly the startup's" \
        || fail "state differs from the startup's: $(diff <(echo "$EXPECTED") <(echo "$ACTUAL"))"
check expect_pings "$REMOTE_NS" 10.0.2.20 10.0.2.21 10.0.3.30 10.0.3.31 10.0.3.32 10.0.1.11
check expect_pings "$REMOTE_NS" 2001:db8:2::20

# --- 3. no watchdog unless asked
n=$(count '^WATCHDOG=' "$E2N_TMP/notify.log")
((n == 0)) && e2n_log "ok: no WATCHDOG=1 without WATCHDOG_USEC" || fail "$n WATCHDOG=1 without WATCHDOG_USEC"
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"

# --- 4. the watchdog
# A wrapper in place of the binary: WATCHDOG_PID is the pid the daemon will
# have (exec keeps it), as systemd sets it.
mkdir -p "$E2N_TMP/wd/daemon"
cat >"$E2N_TMP/wd/daemon/ec2netd" <<EOF
#!/bin/bash
export WATCHDOG_USEC=200000 WATCHDOG_PID=\$\$
exec "$EC2NET_BUILD_DIR/daemon/ec2netd" "\$@"
EOF
chmod +x "$E2N_TMP/wd/daemon/ec2netd"
EC2NET_BUILD_DIR="$E2N_TMP/wd" e2n_daemon_start
W0=$(count '^WATCHDOG=1' "$E2N_TMP/notify.log")
sleep 1
IDLE=$(($(count '^WATCHDOG=1' "$E2N_TMP/notify.log") - W0))
e2n_log "WATCHDOG=1 in 1 s idle: $IDLE"
((IDLE >= 3 && IDLE <= 30)) && e2n_log "ok: the watchdog is pinged while idle" \
        || fail "$IDLE WATCHDOG=1 in 1 s with a 200 ms period"

W0=$(count '^WATCHDOG=1' "$E2N_TMP/notify.log")
R0=$(count '^RELOADING=1' "$E2N_TMP/notify.log")
for ((i = 0; i < 10; i++)); do
        kill -HUP "$E2N_DAEMON_PID"
        sleep 0.1
done
BUSY=$(($(count '^WATCHDOG=1' "$E2N_TMP/notify.log") - W0))
HUPS=$(($(count '^RELOADING=1' "$E2N_TMP/notify.log") - R0))
e2n_log "WATCHDOG=1 during $HUPS reloads with full passes in 1 s: $BUSY"
((BUSY >= 3)) && e2n_log "ok: the watchdog is pinged while passes run" \
        || fail "$BUSY WATCHDOG=1 in 1 s of back-to-back passes"

# One pass held by a slow IMDS (three requests delayed 300 ms each).
fake fault '{"kind": "delay", "delay_ms": 300, "path": "meta-data/network/interfaces/macs/*", "count": 3}' >/dev/null \
        || die "fault"
W0=$(count '^WATCHDOG=1' "$E2N_TMP/notify.log")
T0=$(date +%s%N)
kill -HUP "$E2N_DAEMON_PID"
sleep 1.5
SLOW=$(($(count '^WATCHDOG=1' "$E2N_TMP/notify.log") - W0))
fake clear-faults >/dev/null
e2n_log "WATCHDOG=1 in the 1.5 s around a pass with 0.9 s of slow IMDS: $SLOW"
W0=$(count '^WATCHDOG=1' "$E2N_TMP/notify.log")
sleep 0.5
((($(count '^WATCHDOG=1' "$E2N_TMP/notify.log") - W0) >= 1)) && e2n_log "ok: the pings go on after it" \
        || fail "no WATCHDOG=1 after the slow pass"
kill -0 "$E2N_DAEMON_PID" || fail "ec2netd died"
configured || fail "configuration lost: $(ip -n "$INST_NS" rule show)"

rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"
e2n_finish "$E2N_TMP/ec2netd.log" 200
