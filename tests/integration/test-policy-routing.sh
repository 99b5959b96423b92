#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-policy-routing: per-ENI policy routing that provably works, made by the
# real `ec2netctl apply` from the (fake) IMDS, in the namespace VPC of lib.sh
# whose router drops every packet whose source the ENI it left does not own.
#
# Two topologies, each in a child process of its own (one after the other,
# unless one is named on the command line):
#   shared    eth0 and eth1 share subnet A, eth2 is in subnet B (as the baseline)
#   disjoint  eth0, eth1, eth2 each in a subnet of their own (A, B, C)
# Each has secondary IPv4s, IPv6s, Elastic IPs, a host in every subnet, the
# remote host and a container on a local bridge, and starts from the state a
# DHCP client leaves (vpc_dhcp_primary) plus foreign objects.
#
# For each topology, in this order:
#  (4) foreign objects are set up first: an address a DHCP client added on the
#      primary, a route (IPv4, IPv6) in table 10001 and a rule (IPv4, IPv6) at
#      priority 10001, none with protocol 236;
#  (5) `ec2netctl plan` lists operations, sends no netlink notification and
#      leaves the kernel state identical;
#  (6) without ec2net's layout, at least one of the traffic checks of (1)
#      fails (so this test can fail);
#  (1) after `ec2netctl apply` (exit 0): every IPv4 and IPv6 address of every
#      ENI answers the remote host, the same-subnet and the other-subnet hosts;
#      every Elastic IP answers the remote host; the container reaches every
#      IPv4 of the instance and the remote host; unbound traffic from the
#      instance reaches the remote host and every host; the source check
#      dropped nothing (its counters, read around the checks). apply
#      performed exactly the operations plan listed; every pre-existing
#      address, rule and route is still there, unchanged;
#  (2) a second apply exits 0, prints no operation, sends no netlink
#      notification (ip monitor) and changes nothing;
#  (3) one secondary IPv4 of eth1 is unassigned (VPC and IMDS); apply removes
#      that address and its rule, and nothing else changes (the only lines
#      gone from addr/rule/route are the ones naming that address; none new);
#      traffic still flows for every remaining address;
#  (4) the foreign objects are all still there after (1) and (3).
# It prints the wall time of the first and of the no-op apply and the number
# of operations (figures, not assertions).
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

CTL="$EC2NET_BUILD_DIR/tools/ec2netctl"
[[ -x "$CTL" ]] || die "ec2netctl not built: $CTL"

# ---------------------------------------------------------------------------
# Without an argument: each topology in turn, as a child process with its own
# namespaces and cleanup.

if [[ $# -eq 0 ]]; then
        T0=$SECONDS
        rc=0
        CHILD=""
        trap '[[ -n "$CHILD" ]] && kill "$CHILD" 2>/dev/null && wait "$CHILD"; exit 143' TERM
        trap '[[ -n "$CHILD" ]] && kill "$CHILD" 2>/dev/null && wait "$CHILD"; exit 130' INT
        declare -A RC=()
        for t in shared disjoint; do
                printf '\n######## topology %s\n' "$t"
                "$0" "$t" &
                CHILD=$!
                wait "$CHILD"
                RC[$t]=$?
                CHILD=""
        done
        printf '\n######## summary\n'
        for t in shared disjoint; do
                printf '%s: %s\n' "$t" "$( ((RC[$t] == 0)) && echo PASS || echo "FAIL (exit ${RC[$t]})")"
                ((RC[$t] == 0)) || rc=1
        done
        printf 'both topologies in %s s\n' "$((SECONDS - T0))"
        exit "$rc"
fi

TOPOLOGY=$1
T0=$SECONDS
FAILED=0
# check CMD...: run a check; a group check returns how many of its parts failed.
check() { "$@"; FAILED=$((FAILED + $?)); }
ok() { e2n_log "ok: $*"; }
# phase TITLE: a header in the log, with the time since the start.
T0_US=${EPOCHREALTIME/./}
phase() { e2n_log ""; e2n_log "== $* [$(( (${EPOCHREALTIME/./} - T0_US) / 1000 )) ms]"; }
bad() { e2n_fail "$*"; FAILED=$((FAILED + 1)); }
# verdict EXPR OK_TEXT FAIL_TEXT: ok when the arithmetic EXPR holds, else bad.
verdict() { if (($1)); then ok "$2"; else bad "$3"; fi; }

# ---------------------------------------------------------------------------
# Topology

phase "topology $TOPOLOGY"
vpc_init
case $TOPOLOGY in
shared)
        vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
        vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
        vpc_eni eth0 0e:e2:00:00:00:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10 2001:db8:1::11
        vpc_eni eth1 0e:e2:00:00:00:11 A 1 -- 10.0.1.20 10.0.1.21 10.0.1.22 -6 2001:db8:1::20 \
                --eip 203.0.113.20=10.0.1.20
        vpc_eni eth2 0e:e2:00:00:00:12 B 2 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20
        vpc_host hostA A 10.0.1.50 2001:db8:1::50
        vpc_host hostB B 10.0.2.50 2001:db8:2::50
        REMOVED=10.0.1.21
        ;;
disjoint)
        vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
        vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
        vpc_subnet C 10.0.3.0/24 2001:db8:3::/64
        vpc_eni eth0 0e:e2:00:00:00:20 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
        vpc_eni eth1 0e:e2:00:00:00:21 B 1 -- 10.0.2.20 10.0.2.21 10.0.2.22 \
                -6 2001:db8:2::20 2001:db8:2::21 --eip 203.0.113.20=10.0.2.20
        vpc_eni eth2 0e:e2:00:00:00:22 C 2 -- 10.0.3.30 10.0.3.31 -6 2001:db8:3::30 \
                --eip 203.0.113.31=10.0.3.31
        vpc_host hostA A 10.0.1.50 2001:db8:1::50
        vpc_host hostB B 10.0.2.50 2001:db8:2::50
        vpc_host hostC C 10.0.3.50 2001:db8:3::50
        REMOVED=10.0.2.21
        ;;
*)
        die "unknown topology '$TOPOLOGY' (shared, disjoint)"
        ;;
esac
vpc_container
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || die "cannot start the fake IMDS"
vpc_dhcp_primary

# The links settle (docker0's operstate goes from UNKNOWN to UP a moment after
# its port comes up), so that what the snapshots and monitors below see
# changing is what ec2netctl changed.
for ((i = 0; i < 100; i++)); do
        ip -n "$INST_NS" -o link show | grep -v ' lo: ' | grep -qv ' state UP ' || break
        sleep 0.05
done
run "$INST_NS" ip -o link show

mkdir -p "$E2N_TMP/state"
: >"$E2N_TMP/ec2net.conf"

# ctl OUT VERB...: ec2netctl in the instance, with an empty configuration, the
# fake IMDS and a state directory of this test; stdout goes to OUT and is
# shown, as is stderr. Returns ec2netctl's exit code.
ctl() {
        local out=$1 rc
        shift
        local cmd=("$CTL" --config "$E2N_TMP/ec2net.conf" --imds-endpoint "http://$IMDS4"
                --state-dir "$E2N_TMP/state" "$@")
        printf '+ [%s] %s\n' "$(e2n_label "$INST_NS")" "$(printf '%q ' "${cmd[@]}")"
        ip netns exec "$INST_NS" "${cmd[@]}" >"$out" 2>"$out.err"
        rc=$?
        sed 's/^/    | /' "$out" "$out.err"
        return "$rc"
}

# The operations ec2netctl printed: lines "<+|-|~> object   # reason".
ops_of() { grep -E '^[-+~] ' "$1" | sed 's/   #.*//'; }
nops() { grep -cE '^[-+~] ' "$1"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# The addresses of the current description.
collect() {
        local i p
        ALL4=() ALL6=() EIPS=()
        for i in "${E2N_ENIS[@]}"; do
                read -ra a <<<"${ENI_ADDR4[$i]}"
                ALL4+=("${a[@]}")
                read -ra a <<<"${ENI_ADDR6[$i]}"
                ALL6+=("${a[@]}")
                for p in ${ENI_EIPS[$i]}; do
                        EIPS+=("${p%%=*}")
                done
        done
}

# reach: the traffic checks of (1), all at once; returns the number that failed.
reach() {
        local h g=(expect_pings_batch "$REMOTE_NS" "${ALL4[@]}" "${ALL6[@]}" "${EIPS[@]}")
        for h in "${E2N_HOSTS[@]}"; do
                g+=(-- expect_pings_batch "${HOST_NS[$h]}" "${ALL4[@]}" "${ALL6[@]}")
        done
        g+=(-- expect_pings_batch "$CONTAINER_NS" "${ALL4[@]}" "$REMOTE4")
        # Unbound traffic from the instance. (Traffic bound to each address
        # takes the routing decision of the replies above.)
        g+=(-- expect_pings_batch "$INST_NS" "$REMOTE4" "$REMOTE6")
        for h in "${E2N_HOSTS[@]}"; do
                g+=("${HOST_ADDR4[$h]}" "${HOST_ADDR6[$h]}")
        done
        e2n_parallel "${g[@]}"
}

snapshot() { e2n_kstate "$INST_NS" >"$1"; }

# same_state A B WHAT: the two snapshots are identical.
same_state() {
        if cmp -s "$1" "$2"; then
                ok "$3: the kernel state is identical"
        else
                bad "$3: the kernel state changed:"
                diff "$1" "$2" | grep '^[<>]'
        fi
}

# no_events FILE WHAT: the monitor saw nothing.
no_events() {
        if [[ ! -s "$1" ]]; then
                ok "$2: no netlink notification"
        else
                bad "$2: netlink notifications:"
                cat "$1"
        fi
}

# still_there SNAPSHOT WHAT: every line of FOREIGN is in SNAPSHOT.
still_there() {
        local l missing=0
        while IFS= read -r l; do
                if ! grep -qxF -- "$l" "$1"; then
                        bad "$2: foreign object gone or changed: $l"
                        missing=1
                fi
        done <"$E2N_TMP/foreign"
        ((missing)) || ok "$2: all $(wc -l <"$E2N_TMP/foreign") foreign objects are there, unchanged"
}

collect
# shellcheck disable=SC2004
T1=$((10000 + 100 * ${ENI_CARD[eth1]:-0} + ENI_DEV[eth1]))
read -r GW1 _ <<<"${SUBNET_GW4[${ENI_SUBNET[eth1]}]}"

# ---------------------------------------------------------------------------
phase "(4) foreign objects, before ec2net runs"
# A second address a DHCP client added on the primary (with a lease lifetime),
# a route of each family in eth1's table and a rule of each family at its
# priority, none with protocol 236.
run "$INST_NS" ip addr add 100.64.0.10/24 dev eth0 valid_lft 3600 preferred_lft 3600 || die "foreign addr"
run "$INST_NS" ip route add 192.0.2.0/24 via "$GW1" dev eth1 onlink table "$T1" || die "foreign route"
run "$INST_NS" ip -6 route add 2001:db8:99::/64 via "$VPC_GW6_LL" dev eth1 table "$T1" || die "foreign route6"
run "$INST_NS" ip rule add from 192.0.2.99 lookup "$T1" priority "$T1" || die "foreign rule"
run "$INST_NS" ip -6 rule add from 2001:db8:99::99 lookup "$T1" priority "$T1" || die "foreign rule6"
snapshot "$E2N_TMP/s.initial"
# Foreign: the objects above, and what the DHCP client left (vpc_dhcp_primary:
# the primary's addresses and its default and RA routes).
P4=${ENI_ADDR4[eth0]%% *}
P6=${ENI_ADDR6[eth0]%% *}
grep -E "100\.64\.0\.10/|192\.0\.2\.|2001:db8:99:|proto (dhcp|ra)|inet ${P4//./\\.}/|inet6 $P6/" \
        "$E2N_TMP/s.initial" >"$E2N_TMP/foreign"
e2n_log "foreign objects:"
sed 's/^/    /' "$E2N_TMP/foreign"
[[ $(wc -l <"$E2N_TMP/foreign") -ge 9 ]] || bad "expected at least 9 foreign objects"

# ---------------------------------------------------------------------------
phase "(5) plan changes nothing"
e2n_monitor_start "$INST_NS"
ctl "$E2N_TMP/plan.out" plan
rc=$?
e2n_monitor_stop >"$E2N_TMP/plan.events"
snapshot "$E2N_TMP/s.after-plan"
verdict "rc == 0" "plan: exit 0" "plan: exit $rc"
NPLAN=$(nops "$E2N_TMP/plan.out")
verdict "NPLAN > 0" "plan lists $NPLAN operations" "plan lists no operation"
no_events "$E2N_TMP/plan.events" "plan"
same_state "$E2N_TMP/s.initial" "$E2N_TMP/s.after-plan" "plan"

# ---------------------------------------------------------------------------
phase "(6) without ec2net's layout, traffic fails"
# The failures are expected here: say so in the log.
reach | sed 's/^FAIL: /expected, without ec2net: /'
n=${PIPESTATUS[0]}
if ((n > 0)); then
        ok "without ec2net $n traffic check(s) fail, as they must"
else
        bad "without ec2net every traffic check passes: this test could not fail"
fi

# ---------------------------------------------------------------------------
phase "(1) ec2netctl apply, then every flow works"
t=$(date +%s%N)
ctl "$E2N_TMP/apply1.out" apply
rc=$?
MS_APPLY1=$(ms_since "$t")
NAPPLY1=$(nops "$E2N_TMP/apply1.out")
verdict "rc == 0" "apply: exit 0" "apply: exit $rc"
verdict "NAPPLY1 > 0" "apply performed $NAPPLY1 operations" "apply performed no operation"
if diff <(ops_of "$E2N_TMP/plan.out" | LC_ALL=C sort) <(ops_of "$E2N_TMP/apply1.out" | LC_ALL=C sort) \
        >"$E2N_TMP/plan-vs-apply"; then
        ok "apply performed exactly the operations plan listed"
else
        bad "apply did not perform the operations plan listed (< plan, > apply):"
        cat "$E2N_TMP/plan-vs-apply"
fi
snapshot "$E2N_TMP/s.applied"
run "$INST_NS" ip rule
run "$INST_NS" ip -6 rule
# The first pass from a DHCP state only adds: every address, rule and route
# that was there is still there, unchanged (links do change: group, MTU, altnames).
grep -v '^link: ' "$E2N_TMP/s.initial" | LC_ALL=C comm -23 - "$E2N_TMP/s.applied" >"$E2N_TMP/gone"
if [[ ! -s "$E2N_TMP/gone" ]]; then
        ok "apply: every address, rule and route that was there is still there, unchanged"
else
        bad "apply removed or changed objects it did not make:"
        cat "$E2N_TMP/gone"
fi
still_there "$E2N_TMP/s.applied" "after apply"

drops_before=$(vpc_srccheck_drops)
reach
n=$?
verdict "n == 0" "with ec2net every traffic check passes" "with ec2net $n traffic check(s) fail"
vpc_show_drops
drops=$(($(vpc_srccheck_drops) - drops_before))
verdict "drops == 0" "the source check dropped nothing" "the source check dropped $drops packets"

# ---------------------------------------------------------------------------
phase "(2) a second apply changes nothing"
snapshot "$E2N_TMP/s.before-noop"
e2n_monitor_start "$INST_NS"
t=$(date +%s%N)
ctl "$E2N_TMP/apply2.out" apply
rc=$?
MS_APPLY2=$(ms_since "$t")
e2n_monitor_stop >"$E2N_TMP/apply2.events"
snapshot "$E2N_TMP/s.after-noop"
NAPPLY2=$(nops "$E2N_TMP/apply2.out")
verdict "rc == 0" "second apply: exit 0" "second apply: exit $rc"
verdict "NAPPLY2 == 0" "second apply: no operation" "second apply performed $NAPPLY2 operations"
no_events "$E2N_TMP/apply2.events" "second apply"
same_state "$E2N_TMP/s.before-noop" "$E2N_TMP/s.after-noop" "second apply"

# ---------------------------------------------------------------------------
phase "(3) a secondary IPv4 unassigned: apply removes its address and rule, nothing else"
vpc_eni_unassign eth1 "$REMOVED"
vpc_imds_update "$E2N_TMP/metadata.json"
collect
snapshot "$E2N_TMP/s.before-remove"
ctl "$E2N_TMP/apply3.out" apply
rc=$?
snapshot "$E2N_TMP/s.after-remove"
NAPPLY3=$(nops "$E2N_TMP/apply3.out")
verdict "rc == 0" "apply after the removal: exit 0" "apply after the removal: exit $rc"
RE=" ${REMOVED//./\\.}[/ ]|^rule4: .* from ${REMOVED//./\\.} "
diff "$E2N_TMP/s.before-remove" "$E2N_TMP/s.after-remove" >"$E2N_TMP/remove.diff"
grep '^> ' "$E2N_TMP/remove.diff" >"$E2N_TMP/remove.added"
grep '^< ' "$E2N_TMP/remove.diff" | sed 's/^< //' >"$E2N_TMP/remove.gone"
if [[ -s "$E2N_TMP/remove.added" ]]; then
        bad "apply after the removal added or changed objects:"
        cat "$E2N_TMP/remove.added"
fi
if grep -vE "$RE" "$E2N_TMP/remove.gone" >"$E2N_TMP/remove.other"; then
        bad "apply after the removal removed objects other than $REMOVED's:"
        cat "$E2N_TMP/remove.other"
fi
if grep -qE "^addr: .* inet $REMOVED/32 " "$E2N_TMP/remove.gone" \
        && grep -qE "^rule4: [0-9]+:[[:space:]]+from $REMOVED lookup $T1\b" "$E2N_TMP/remove.gone"; then
        ok "apply removed $REMOVED's address and rule"
else
        bad "apply did not remove $REMOVED's address and rule; gone:"
        cat "$E2N_TMP/remove.gone"
fi
if ! grep -qE "$RE" "$E2N_TMP/s.after-remove"; then
        ok "no object names $REMOVED any more"
else
        bad "objects still name $REMOVED:"
        grep -E "$RE" "$E2N_TMP/s.after-remove"
fi
[[ -s "$E2N_TMP/remove.added" || -s "$E2N_TMP/remove.other" ]] \
        || ok "nothing else changed (diff of addr, rule, route show table all, link)"
verdict "NAPPLY3 == 2" "apply printed 2 operations" "apply printed $NAPPLY3 operations, expected 2"
still_there "$E2N_TMP/s.after-remove" "after the removal"

drops_before=$(vpc_srccheck_drops)
reach
n=$?
verdict "n == 0" "after the removal every traffic check passes" "after the removal $n traffic check(s) fail"
drops=$(($(vpc_srccheck_drops) - drops_before))
verdict "drops == 0" "the source check dropped nothing" "the source check dropped $drops packets"

# ---------------------------------------------------------------------------
phase "end"
e2n_log "figure: first apply $MS_APPLY1 ms, $NAPPLY1 operations (plan listed $NPLAN)"
e2n_log "figure: no-op apply $MS_APPLY2 ms, $NAPPLY2 operations"
e2n_log "figure: ec2netctl's own account, first apply: $(tail -n1 "$E2N_TMP/apply1.out.err")"
e2n_log "figure: ec2netctl's own account, no-op apply: $(tail -n1 "$E2N_TMP/apply2.out.err")"
e2n_log "figure: removal apply, $NAPPLY3 operations"
if ((FAILED > 0)); then
        e2n_log "FAILED: $FAILED check(s) in $((SECONDS - T0)) s"
        run "$INST_NS" ip -d link show
        run "$INST_NS" ip addr
        run "$INST_NS" ip rule
        run "$INST_NS" ip -6 rule
        run "$INST_NS" ip route show table all
        run "$INST_NS" ip -6 route show table all
        exit 1
fi
e2n_log "PASS ($TOPOLOGY) in $((SECONDS - T0)) s"
