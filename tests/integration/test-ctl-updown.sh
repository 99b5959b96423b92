#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-ctl-updown: ec2ifdown and ec2ifup on a secondary ENI, with ec2netd
# running (RefreshSec=1) all along.
#
# 1. ec2ifdown eth1 (exit 0): the remote host's pings to eth1's addresses stop,
#    the primary's still flow; every address, route and rule ec2net owns on
#    eth1 (table 10001) is gone, the link is down, the mark file exists; the
#    foreign address on eth1, the foreign rule at priority 10001 and the
#    foreign route in table 10001 are still there; status says "down".
# 2. The daemon does not undo it: ~3 s (three refreshes, and the drift pass
#    the link change caused) later eth1 is still down and bare, while a rule
#    of eth0 deleted by hand in the meantime was put back (so the daemon was
#    running passes); `status` sees the daemon (pid from the state file).
#    After a daemon restart eth1 is still down.
# 3. ec2ifup eth1 (exit 0): the link is up, the mark is gone, the rules of
#    table 10001 are back and pings flow again; status says "configured".
# 4. ec2ifdown on the primary ENI without --force: exit 1, a one-line message
#    naming it, nothing changed (e2n_kstate before == after), no mark.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=test-ctl-common.sh
source "$(dirname "$0")/test-ctl-common.sh"

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:06:00 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 0e:e2:00:00:06:01 B 1 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?
ctl_setup
printf '[Daemon]\nRefreshSec=1\n' >"$E2N_TMP/ec2net.conf"
MAC1=0e:e2:00:00:06:01
E1=(10.0.2.20 10.0.2.21 2001:db8:2::20)
E0=(10.0.1.10 10.0.1.11 2001:db8:1::10)

# Foreign objects (no protocol 236) that ec2ifdown must leave alone.
run "$INST_NS" ip addr add 10.0.2.99/32 dev eth1 || die "foreign address"
run "$INST_NS" ip rule add from 10.0.2.99 lookup 10001 priority 10001 || die "foreign rule"
run "$INST_NS" ip route add 192.0.2.0/24 dev lo table 10001 || die "foreign route"

e2n_daemon_start --config "$E2N_TMP/ec2net.conf"
[[ $(e2n_rules_of "$INST_NS" 10001) == 4 ]] || fail "eth1 not configured by the daemon: $(ip -n "$INST_NS" rule show)"
check expect_pings "$REMOTE_NS" "${E0[@]}" "${E1[@]}"

# owned_on_eth1: what ec2net owns on eth1 or in table 10001, one per line:
# eth1's ENI addresses (only ec2net configures eth1; iproute2 6.1 does not show
# an address's protocol) and the routes and rules with protocol 236.
owned_on_eth1() {
        ip -n "$INST_NS" -o addr show dev eth1 | grep -E ' (10\.0\.2\.2[01]|2001:db8:2::20)/'
        ip -n "$INST_NS" rule show table 10001 | grep -E 'proto (ec2net|236)'
        ip -n "$INST_NS" -6 rule show table 10001 | grep -E 'proto (ec2net|236)'
        ip -n "$INST_NS" route show table 10001 proto 236
        ip -n "$INST_NS" -6 route show table 10001 proto 236
}
foreign_present() {
        ip -n "$INST_NS" addr show dev eth1 | grep -q 'inet 10.0.2.99/32' \
                && ip -n "$INST_NS" rule show priority 10001 | grep -q 'from 10.0.2.99 lookup 10001' \
                && ip -n "$INST_NS" route show table 10001 | grep -q '^192.0.2.0/24 dev lo'
}
link_up() { ip -n "$INST_NS" -o link show "$1" | grep -q '[<,]UP[,>]'; }
status_of() { # status_of IFACE FIELD: one field of `status --json IFACE`
        ip netns exec "$INST_NS" "$CTL" --config "$E2N_TMP/ec2net.conf" --imds-endpoint "http://$IMDS4" \
                --state-dir "$E2N_TMP/state" status --json "$1" \
                | "${PY[@]}" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["interfaces"][0][sys.argv[1]]))' "$2"
}
check_down() { # check_down WHEN
        local o
        o=$(owned_on_eth1)
        [[ -z "$o" ]] && ok "$1: nothing ec2net owns left on eth1" || fail "$1: owned objects left: $o"
        link_up eth1 && fail "$1: eth1 is up" || ok "$1: eth1 is down"
        [[ -e "$E2N_TMP/state/down/$MAC1" ]] && ok "$1: the down mark is set" || fail "$1: no down mark"
        foreign_present && ok "$1: the foreign address, rule and route are there" \
                || fail "$1: a foreign object is gone: $(ip -n "$INST_NS" rule; ip -n "$INST_NS" addr show dev eth1)"
}

# --- 1. ec2ifdown
N_OWNED=$(owned_on_eth1 | grep -c .)
[[ $N_OWNED == 10 ]] && ok "before: 10 objects ec2net owns on eth1 (3 addresses, 4 routes, 3 rules)" \
        || fail "before: $N_OWNED owned objects on eth1: $(owned_on_eth1)"
ctl "$E2N_TMP/down.out" ec2ifdown eth1 && ok "ec2ifdown eth1 exited 0" || fail "ec2ifdown eth1 failed"
check_down "after ec2ifdown"
check expect_no_pings "$REMOTE_NS" "${E1[@]}"
check expect_pings "$REMOTE_NS" "${E0[@]}"
[[ $(status_of eth1 state) == '"down"' && $(status_of eth1 down) == true ]] && ok "status: eth1 is down" \
        || fail "status of eth1: state $(status_of eth1 state), down $(status_of eth1 down)"

# --- 2. the daemon leaves it down
run "$INST_NS" ip rule del from 10.0.1.11 lookup 10000 priority 10000 || die "rule del"
REQ0=$(grep -c . "$E2N_TMP/imds.log")
sleep 3
REQ1=$(grep -c . "$E2N_TMP/imds.log")
((REQ1 > REQ0)) && ok "the daemon read IMDS again during the 3 s (refresh; $((REQ1 - REQ0)) requests)" \
        || fail "no IMDS request in 3 s: no refresh happened"
if e2n_wait_for 2 eval '[[ $(e2n_rules_of "$INST_NS" 10000) == 3 ]]' >/dev/null; then
        ok "the daemon put eth0's deleted rule back (it ran passes meanwhile)"
else
        fail "eth0's rule not put back: $(ip -n "$INST_NS" rule show)"
fi
check_down "3 s later, ec2netd running (RefreshSec=1)"
ctl "$E2N_TMP/status-d.json" ec2netctl status --json >/dev/null || fail "status failed"
"${PY[@]}" - "$E2N_TMP/status-d.json" "$E2N_DAEMON_PID" <<'PYEOF' && ok "status sees ec2netd (pid $E2N_DAEMON_PID) and its last pass" || fail "status does not see the daemon"
import json, sys
s = json.load(open(sys.argv[1]))
d = s["daemon"]
assert d["running"] is True and d["pid"] == int(sys.argv[2]), d
assert d["last-pass"]["result"] == "ok", d
PYEOF
ctl "$E2N_TMP/status-d.txt" ec2netctl status >/dev/null
grep -q "^Daemon: ec2netd running (pid $E2N_DAEMON_PID)" "$E2N_TMP/status-d.txt" || fail "text status: daemon not shown"
e2n_daemon_stop || fail "ec2netd exited non-zero"
e2n_daemon_start --config "$E2N_TMP/ec2net.conf"
sleep 1.5
check_down "after a daemon restart"

# --- 3. ec2ifup
ctl "$E2N_TMP/up.out" ec2ifup eth1 && ok "ec2ifup eth1 exited 0" || fail "ec2ifup eth1 failed"
link_up eth1 && ok "eth1 is up" || fail "eth1 is still down"
[[ -e "$E2N_TMP/state/down/$MAC1" ]] && fail "the down mark is still there" || ok "the down mark is gone"
[[ $(e2n_rules_of "$INST_NS" 10001) == 4 ]] && ok "table 10001 has its 3 rules again (+ the foreign one)" \
        || fail "rules of 10001: $(ip -n "$INST_NS" rule show)"
check expect_pings "$REMOTE_NS" "${E1[@]}" "${E0[@]}"
foreign_present && ok "the foreign objects are still there" || fail "a foreign object is gone"
sleep 1.5
[[ $(status_of eth1 state) == '"configured"' ]] && ok "status: eth1 configured, with the daemon running" \
        || fail "status of eth1: $(status_of eth1 state)"

# --- 4. the primary, without --force
BEFORE=$(e2n_kstate "$INST_NS")
rc=0
ctl "$E2N_TMP/down0.out" ec2ifdown eth0 || rc=$?
[[ $rc == 1 ]] && ok "ec2ifdown eth0 exited 1" || fail "ec2ifdown eth0 exited $rc"
[[ $(wc -l <"$E2N_TMP/down0.out.err") == 1 ]] && grep -q "eth0.*primary ENI.*--force" "$E2N_TMP/down0.out.err" \
        && ok "one line naming eth0 as the primary ENI and --force" || fail "message: $(cat "$E2N_TMP/down0.out.err")"
AFTER=$(e2n_kstate "$INST_NS")
[[ "$BEFORE" == "$AFTER" ]] && ok "nothing changed" || fail "changed: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"
[[ -e "$E2N_TMP/state/down/0e:e2:00:00:06:00" ]] && fail "eth0 got a down mark"

e2n_daemon_stop || fail "ec2netd exited non-zero"
# Its state file stays, with a pid that is no longer an ec2netd.
ctl "$E2N_TMP/status-stopped.txt" ec2netctl status >/dev/null || fail "status failed"
grep -q '^Daemon: no daemon' "$E2N_TMP/status-stopped.txt" && ok "status after the daemon stopped: no daemon" \
        || fail "status after the daemon stopped: $(head -1 "$E2N_TMP/status-stopped.txt")"
ctl_finish
