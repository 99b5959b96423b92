#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-ctl-status: `ec2netctl status` for a three-ENI instance (IPv4 and IPv6,
# secondary addresses, delegated prefixes, Elastic IPs, a second network card)
# matches what the test wrote into the fake IMDS and what the kernel holds.
#
# 1. After `ec2netctl apply`, `status --json`: every field of every interface
#    is checked against the metadata (ENI id, device, card, table, primary,
#    primary and secondary IPv4, IPv6, prefixes, Elastic IPs) and the kernel
#    (`ip -j link`: name, ifindex, MTU, up; `ip -j rule`: the rules of its table
#    are exactly its addresses and prefixes); every interface is in sync and
#    "configured"; the daemon is reported not running. The human output is
#    printed (and checked for the 80-column limit; colour only on a terminal,
#    and not with NO_COLOR).
# 2. One of our rules is deleted by hand: that interface is out of sync and
#    its pending list names the missing rule; the two others stay in sync.
# 3. `status IFACE` (by name and by the eni-... altname) shows only that
#    interface; status changed nothing (kernel state and state directory).
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=test-ctl-common.sh
source "$(dirname "$0")/test-ctl-common.sh"

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_subnet C 10.0.3.0/24
vpc_eni eth0 0e:e2:00:00:05:00 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10 \
        --eip 203.0.113.10=10.0.1.10
vpc_eni eth1 0e:e2:00:00:05:01 B 1 -- 10.0.2.20 10.0.2.21 10.0.2.22 -6 2001:db8:2::20 \
        2001:db8:2::21 --prefix4 10.0.2.64/28 --prefix6 2001:db8:2:1::/80 --eip 203.0.113.21=10.0.2.21
vpc_eni eth2 0e:e2:00:00:05:02 C 0 1 -- 10.0.3.30 10.0.3.31
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?
ctl_setup

ctl "$E2N_TMP/apply.out" ec2netctl apply >/dev/null || fail "apply failed: $(cat "$E2N_TMP/apply.out.err")"

# status_check JSON EXPECT_OUT_OF_SYNC_IFACE MISSING_RULE_FROM: every field
# against metadata.json and the kernel of the instance.
status_check() {
        ip -n "$INST_NS" -j link show >"$E2N_TMP/links.json"
        { ip -n "$INST_NS" -j -4 rule show; ip -n "$INST_NS" -j -6 rule show; } >"$E2N_TMP/rules.json"
        "${PY[@]}" - "$1" "$E2N_TMP/metadata.json" "$E2N_TMP/links.json" "$E2N_TMP/rules.json" \
                "${2:-}" "${3:-}" <<'PYEOF'
import ipaddress, json, sys
status = json.load(open(sys.argv[1]))
md = json.load(open(sys.argv[2]))["meta-data"]
links = {l["address"]: l for l in json.load(open(sys.argv[3]))}
rules = []
dec = json.JSONDecoder()
text = open(sys.argv[4]).read().strip()
while text:
    obj, end = dec.raw_decode(text)
    rules += obj
    text = text[end:].strip()
bad_if, missing_from = sys.argv[5], sys.argv[6]
errors = []
def eq(what, got, want):
    if got != want:
        errors.append("%s: got %r, want %r" % (what, got, want))
def lines(v):
    return [x for x in v.split("\n") if x] if v else []

macs = md["network"]["interfaces"]["macs"]
eq("daemon running", status["daemon"]["running"], False)
eq("daemon pid", status["daemon"]["pid"], None)
eq("primary-mac", status["primary-mac"], md["mac"])
eq("interfaces", sorted(i["mac"] for i in status["interfaces"]), sorted(macs))
for i in status["interfaces"]:
    m, k = macs[i["mac"]], links[i["mac"]]
    w = k["ifname"]
    card, dev = int(m.get("network-card", "0")), int(m["device-number"])
    table = 10000 + 100 * card + dev
    eq(w + " name", i["name"], k["ifname"])
    eq(w + " ifindex", i["ifindex"], k["ifindex"])
    eq(w + " link.up", i["link"]["up"], "UP" in k["flags"])
    eq(w + " link.mtu", i["link"]["mtu"], k["mtu"])
    eq(w + " interface-id", i["interface-id"], m["interface-id"])
    eq(w + " device-number", i["device-number"], dev)
    eq(w + " network-card", i["network-card"], card)
    eq(w + " table", i["table"], table)
    eq(w + " primary", i["primary"], i["mac"] == md["mac"])
    v4 = lines(m.get("local-ipv4s"))
    eq(w + " local-ipv4s", i["local-ipv4s"], v4)
    eq(w + " primary-ipv4", i["primary-ipv4"], v4[0])
    eq(w + " secondary-ipv4s", i["secondary-ipv4s"], v4[1:])
    eq(w + " subnet-ipv4-cidr-block", i["subnet-ipv4-cidr-block"], m["subnet-ipv4-cidr-block"])
    eq(w + " ipv6s", i["ipv6s"], lines(m.get("ipv6s")))
    eq(w + " ipv4-prefixes", i["ipv4-prefixes"], lines(m.get("ipv4-prefix")))
    eq(w + " ipv6-prefixes", i["ipv6-prefixes"], lines(m.get("ipv6-prefix")))
    eq(w + " public-ipv4s", i["public-ipv4s"], lines(m.get("public-ipv4s")))
    eq(w + " elastic-ips", sorted((e["public"], e["private"]) for e in i["elastic-ips"]),
       sorted(m.get("ipv4-associations", {}).items()))
    eq(w + " down", i["down"], False)
    # The kernel: the sources of the rules of its table are its addresses and prefixes.
    want = set(v4 + lines(m.get("ipv6s")) + lines(m.get("ipv4-prefix")) + lines(m.get("ipv6-prefix")))
    want = {str(ipaddress.ip_network(a)) for a in want}
    have = {str(ipaddress.ip_network(r["src"] + "/" + str(r.get("srclen", 128 if ":" in r["src"] else 32))))
            for r in rules if r.get("table") == str(table) and "src" in r}
    if w == bad_if:
        eq(w + " in-sync", i["in-sync"], False)
        eq(w + " state", i["state"], "pending")
        missing = {str(ipaddress.ip_network(missing_from))}
        eq(w + " kernel rules", have, want - missing)
        objs = [p["object"] for p in i["pending"]]
        eq(w + " pending", [(p["action"], p["type"]) for p in i["pending"]], [("add", "rule")])
        if not objs or ("from " + missing_from + " ") not in objs[0]:
            errors.append(w + " pending does not name the rule from " + missing_from + ": %r" % objs)
    else:
        eq(w + " in-sync", i["in-sync"], True)
        eq(w + " state", i["state"], "configured")
        eq(w + " pending", i["pending"], [])
        eq(w + " kernel rules", have, want)
for e in errors:
    print("FAIL: status --json: " + e)
if not errors:
    print("ok: status --json: %d interfaces, every field matches IMDS and the kernel%s" % (
        len(status["interfaces"]), (" (" + bad_if + " out of sync)") if bad_if else ""))
sys.exit(1 if errors else 0)
PYEOF
}

# --- 1. after apply
BEFORE=$(e2n_kstate "$INST_NS")
state_dir_snapshot() { find "$E2N_TMP/state" -printf '%p %y %s %T@\n' | sort; }
STATE_BEFORE=$(state_dir_snapshot)
ctl "$E2N_TMP/status.txt" ec2netctl status || fail "status exited non-zero"
ctl "$E2N_TMP/status.json" ec2netctl status --json >/dev/null || fail "status --json exited non-zero"
check status_check "$E2N_TMP/status.json"
if awk 'length($0) > 80 { bad = 1 } END { exit bad }' "$E2N_TMP/status.txt"; then
        ok "every line of the human output fits 80 columns"
else
        fail "lines over 80 columns: $(awk 'length($0) > 80' "$E2N_TMP/status.txt")"
fi
grep -q $'\033' "$E2N_TMP/status.txt" && fail "colour codes although stdout is not a terminal"
for i in eth0 eth1 eth2; do
        grep -q "^● [0-9]*: $i\$" "$E2N_TMP/status.txt" || fail "no block for $i in the human output"
done
[[ $(grep -c 'State: configured' "$E2N_TMP/status.txt") == 3 ]] && ok "3 interfaces configured (text)" \
        || fail "not 3 'State: configured' lines"
grep -q 'no daemon' "$E2N_TMP/status.txt" && ok "text says: no daemon" || fail "text does not say 'no daemon'"
grep -q '203.0.113.21 -> 10.0.2.21' "$E2N_TMP/status.txt" || fail "the Elastic IP of eth1 is not shown"
# On a terminal (script(1) gives it a pty) colour, unless NO_COLOR is set.
STATUS_CMD=$(printf '%q ' "$CTL" --config "$E2N_TMP/ec2net.conf" --imds-endpoint "http://$IMDS4" \
        --state-dir "$E2N_TMP/state" status)
printf '+ [inst] script -qec %q /dev/null\n' "$STATUS_CMD"
ip netns exec "$INST_NS" env -u NO_COLOR script -qec "$STATUS_CMD" /dev/null >"$E2N_TMP/tty.txt" 2>&1
grep -q $'\033\[0;32m' "$E2N_TMP/tty.txt" && ok "colour on a terminal" || fail "no colour on a terminal"
ip netns exec "$INST_NS" env NO_COLOR=1 script -qec "$STATUS_CMD" /dev/null >"$E2N_TMP/tty-nc.txt" 2>&1
grep -q $'\033' "$E2N_TMP/tty-nc.txt" && fail "colour on a terminal with NO_COLOR=1" \
        || ok "no colour on a terminal with NO_COLOR=1"
echo "--- ec2netctl status (three ENIs, after apply)"
cat "$E2N_TMP/status.txt"
echo "---"

# --- 2. a rule deleted by hand
run "$INST_NS" ip rule del from 10.0.2.21 lookup 10001 priority 10001 || die "rule del"
ctl "$E2N_TMP/status2.json" ec2netctl status --json >/dev/null || fail "status --json exited non-zero"
check status_check "$E2N_TMP/status2.json" eth1 10.0.2.21
ctl "$E2N_TMP/status2.txt" ec2netctl status eth1 || fail "status eth1 exited non-zero"
grep -q 'State: not in sync: 1 change pending' "$E2N_TMP/status2.txt" \
        && grep -q 'missing: rule from 10.0.2.21 lookup 10001' "$E2N_TMP/status2.txt" \
        && ok "text says eth1 is not in sync and names the missing rule" \
        || fail "text of status eth1 does not name the missing rule"
run "$INST_NS" ip rule add from 10.0.2.21 lookup 10001 priority 10001 proto 236 || die "rule add"

# --- 3. status IFACE, by name and by altname; nothing changed
ctl "$E2N_TMP/one.json" ec2netctl status --json eth2 >/dev/null || fail "status eth2 exited non-zero"
ALT=$(ip -n "$INST_NS" -j link show eth1 | "${PY[@]}" -c 'import json,sys; print([a for a in json.load(sys.stdin)[0]["altnames"] if a.startswith("eni-")][0])')
ctl "$E2N_TMP/alt.json" ec2netctl status --json "$ALT" >/dev/null || fail "status $ALT exited non-zero"
"${PY[@]}" - "$E2N_TMP/one.json" "$E2N_TMP/alt.json" <<'PYEOF' && ok "status IFACE shows that interface only (by name and by altname)" || fail "status IFACE"
import json, sys
a = [i["name"] for i in json.load(open(sys.argv[1]))["interfaces"]]
b = [i["name"] for i in json.load(open(sys.argv[2]))["interfaces"]]
assert a == ["eth2"], a
assert b == ["eth1"], b
PYEOF
AFTER=$(e2n_kstate "$INST_NS")
[[ "$BEFORE" == "$AFTER" ]] && ok "status changed no kernel state" \
        || fail "kernel state changed: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"
[[ "$STATE_BEFORE" == "$(state_dir_snapshot)" ]] && ok "status wrote nothing to the state directory" \
        || fail "the state directory changed: $(diff <(echo "$STATE_BEFORE") <(state_dir_snapshot))"

ctl_finish
