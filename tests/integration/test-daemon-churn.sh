#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-churn [CYCLES] [MAX_ENIS]: ENIs attached and detached at random
# against the running ec2netd, then the end state is exact and nothing leaked.
#
# The instance has its primary ENI and MAX_ENIS (default 3) secondary ENIs
# (device numbers 1..MAX_ENIS, each with two IPv4 and one IPv6 address), all
# detached at first. Each of CYCLES (default 20) cycles toggles a random subset
# of them: an attach moves the ENI's veth into the instance (the kernel's uevent
# is all the daemon gets) and lists it in IMDS, a detach moves it out and drops
# it from IMDS, in a random order (IMDS before or after the link) and with a
# random pause of 0-40 ms between steps (none at all a third of the time). The
# seed is printed; E2N_SEED=N repeats a run.
#
# At the end, once the daemon has settled (a pass with nothing to do):
#  * `ec2netctl plan` (the same IMDS and kernel, no daemon) has nothing to do;
#  * every attached ENI has exactly one rule per address in its table, and its
#    addresses; no detached ENI's table has a rule or a route;
#  * no rule appears twice;
#  * the daemon's descriptors (/proc/PID/fd) did not grow after the warm-up
#    (the first cycles), nor its RSS beyond a small bound (3 MiB; 32 MiB under
#    ASan, with its quarantine cut to 8 MiB, or valgrind);
#  * traffic flows to every attached ENI's addresses through the VPC's source
#    check.
# Prints cycles per second and the fd and RSS figures.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

CYCLES=${1:-20}
MAX_ENIS=${2:-3}
SEED=${E2N_SEED:-$((($(date +%s%N) / 1000) % 1000000))}
RANDOM=$SEED
WARMUP=$((CYCLES / 5 > 3 ? CYCLES / 5 : 3))
((WARMUP < CYCLES)) || WARMUP=$((CYCLES / 2))
e2n_log "== churn: $CYCLES cycles of up to $MAX_ENIS ENIs, seed $SEED (E2N_SEED=$SEED repeats it)"

vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:07:00 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
for ((d = 1; d <= MAX_ENIS; d++)); do
        vpc_eni "eth$d" "$(printf '0e:e2:00:00:07:%02x' "$d")" B "$d" -- "10.0.2.$((10 * d))" \
                "10.0.2.$((10 * d + 1))" -6 "2001:db8:2::$((10 * d))" >/dev/null
done
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"

# The tree with every ENI, cut once into a head and one fragment per MAC, so
# that a tree listing the attached ones is a concatenation (no python per step).
"${PY[@]}" - "$E2N_TMP/metadata.json" "$E2N_TMP/frag" <<'PYEOF' || die "fragments"
import json, os, sys
tree = json.load(open(sys.argv[1]))
macs = tree["meta-data"]["network"]["interfaces"]["macs"]
os.makedirs(sys.argv[2])
for mac, m in macs.items():
    with open(os.path.join(sys.argv[2], mac), "w") as f:
        f.write(json.dumps(mac) + ": " + json.dumps(m))
tree["meta-data"]["network"]["interfaces"]["macs"] = "@MACS@"
head, tail = json.dumps(tree).split('"@MACS@"')
open(os.path.join(sys.argv[2], "head"), "w").write(head)
open(os.path.join(sys.argv[2], "tail"), "w").write(tail)
PYEOF

declare -A ATTACHED=() FRAG=()
for i in eth0 "${E2N_ENIS[@]}" head tail; do
        f=${ENI_MAC[$i]:-$i}
        FRAG[$i]=$(<"$E2N_TMP/frag/$f")
done
# imds_sync: IMDS lists eth0 and the attached ENIs.
imds_sync() {
        local i body="${FRAG[head]}{${FRAG[eth0]}"
        for ((i = 1; i <= MAX_ENIS; i++)); do
                [[ -n "${ATTACHED[eth$i]:-}" ]] && body+=,${FRAG[eth$i]}
        done
        body+="}${FRAG[tail]}"
        e2n_imds_ctl tree "$body" >/dev/null 2>&1 || die "IMDS update"
}
# Every secondary starts detached: out of the instance, in the router's namespace.
for ((d = 1; d <= MAX_ENIS; d++)); do
        ip -n "$INST_NS" link set "eth$d" netns "$VPC_NS" || die "detach eth$d"
done
"${PY[@]}" -c 'import json, sys
t = json.load(open(sys.argv[1])); m = t["meta-data"]["network"]["interfaces"]["macs"]
for k in list(m):
    if k != sys.argv[2]: del m[k]
json.dump(t, open(sys.argv[1], "w"))' "$E2N_TMP/metadata.json" "${ENI_MAC[eth0]}"
vpc_start_imds "$E2N_TMP/metadata.json" || exit 77

# Under AddressSanitizer, freed memory waits in a quarantine of up to 256 MiB,
# which would hide the RSS trend: a small one keeps use-after-free detection
# (for recent frees) and makes RSS meaningful. Harmless for other builds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
e2n_daemon_start --config /dev/null --refresh 0

pause() { # 0-40 ms, or none a third of the time
        local r=$((RANDOM % 3))
        ((r == 0)) || sleep "0.0$((RANDOM % 40 / 10))$((RANDOM % 10))"
}
attach() {
        local i=$1
        ATTACHED[$i]=1
        if ((RANDOM % 2)); then
                imds_sync; pause
                ip -n "$VPC_NS" link set "$i" netns "$INST_NS" || die "attach $i"
        else
                ip -n "$VPC_NS" link set "$i" netns "$INST_NS" || die "attach $i"
                pause; imds_sync
        fi
}
detach() {
        local i=$1
        unset "ATTACHED[$i]"
        if ((RANDOM % 2)); then
                imds_sync; pause
                ip -n "$INST_NS" link set "$i" netns "$VPC_NS" || die "detach $i"
        else
                ip -n "$INST_NS" link set "$i" netns "$VPC_NS" || die "detach $i"
                pause; imds_sync
        fi
}

FDS0="" RSS0="" T0=$(date +%s%N) OPS=0
for ((c = 1; c <= CYCLES; c++)); do
        # A random subset of 1..MAX_ENIS ENIs, each toggled.
        n=$((1 + RANDOM % MAX_ENIS))
        picked=()
        for ((k = 0; k < n; k++)); do
                picked+=("eth$((1 + RANDOM % MAX_ENIS))")
        done
        for i in $(printf '%s\n' "${picked[@]}" | sort -u); do
                if [[ -n "${ATTACHED[$i]:-}" ]]; then detach "$i"; else attach "$i"; fi
                OPS=$((OPS + 1))
                pause
        done
        kill -0 "$E2N_DAEMON_PID" 2>/dev/null || { cat "$E2N_TMP/ec2netd.log"; die "ec2netd died in cycle $c"; }
        if ((c == WARMUP)); then
                FDS0=$(e2n_daemon_fds)
                RSS0=$(e2n_daemon_rss)
        fi
        ((c % 50 == 0)) && e2n_log "cycle $c: attached: ${!ATTACHED[*]}"
done
T1=$(date +%s%N)
# End with something attached, so that the checks below see both kinds.
if ((${#ATTACHED[@]} == 0)); then
        attach "eth$((1 + RANDOM % MAX_ENIS))"
fi
e2n_log "$CYCLES cycles ($OPS attaches and detaches) in $(((T1 - T0) / 1000000)) ms:" \
        "$(awk -v c="$CYCLES" -v ns=$((T1 - T0)) 'BEGIN { printf "%.1f cycles/s", c / (ns / 1e9) }')"
e2n_log "attached at the end: ${!ATTACHED[*]}"

# settled: all attached ENIs have their rules, no detached one has any.
settled() {
        local d i
        for ((d = 1; d <= MAX_ENIS; d++)); do
                i=eth$d
                if [[ -n "${ATTACHED[$i]:-}" ]]; then
                        [[ $(e2n_rules_of "$INST_NS" $((10000 + d))) == 3 ]] || return 1
                else
                        [[ $(e2n_rules_of "$INST_NS" $((10000 + d))) == 0 ]] || return 1
                fi
        done
}
if ms=$(e2n_wait_for 30 settled); then
        e2n_log "ok: settled $ms ms after the last change"
else
        fail "not settled after $ms ms: $(ip -n "$INST_NS" rule show)"
fi
# One more pass over everything (a refresh) must find nothing to do either.
STAMP=$(e2n_state_stamp)
kill -HUP "$E2N_DAEMON_PID"
e2n_daemon_wait_pass 10 "$STAMP" || fail "no pass after SIGHUP"
grep -q '"operations": 0' "$E2N_TMP/state/state.json" && e2n_log "ok: a full pass finds nothing to do" \
        || fail "a full pass still changed things: $(cat "$E2N_TMP/state/state.json")"

# The daemon-free view: ec2netctl plan over the same IMDS and kernel.
PLAN=$(ip netns exec "$INST_NS" "$EC2NET_BUILD_DIR/tools/ec2netctl" --config /dev/null \
        --imds-endpoint "http://$IMDS4" --state-dir "$E2N_TMP/state" plan 2>&1)
if grep -qE '^[-+~] ' <<<"$PLAN"; then
        fail "ec2netctl plan would still change:"$'\n'"$PLAN"
else
        e2n_log "ok: ec2netctl plan has nothing to do"
fi

# Exact objects per ENI.
for ((d = 1; d <= MAX_ENIS; d++)); do
        i=eth$d t=$((10000 + d))
        rules=$(ip -n "$INST_NS" -4 rule show table $t; ip -n "$INST_NS" -6 rule show table $t)
        rules=${rules//proto ec2net/proto 236}
        routes=$(ip -n "$INST_NS" -4 route show table $t; ip -n "$INST_NS" -6 route show table $t)
        if [[ -n "${ATTACHED[$i]:-}" ]]; then
                want=$(printf '%s\n' "$t:	from 10.0.2.$((10 * d)) lookup $t proto 236" \
                        "$t:	from 10.0.2.$((10 * d + 1)) lookup $t proto 236" \
                        "$t:	from 2001:db8:2::$((10 * d)) lookup $t proto 236" | sort)
                got=$(sort <<<"$rules")
                [[ "$got" == "$want" ]] || fail "$i: rules"$'\n'"$got"$'\n'"expected"$'\n'"$want"
                addrs=$(ip -n "$INST_NS" -o addr show dev "$i" scope global | awk '{print $4}' | sort | tr '\n' ' ')
                [[ "$addrs" == "10.0.2.$((10 * d))/24 10.0.2.$((10 * d + 1))/32 2001:db8:2::$((10 * d))/128 " ]] \
                        || fail "$i: addresses $addrs"
                [[ -n "$routes" ]] || fail "$i: no routes in table $t"
        else
                [[ -z "$rules$routes" ]] || fail "detached $i left in table $t:"$'\n'"$rules"$'\n'"$routes"
        fi
done
DUPS=$(e2n_rule_dups "$INST_NS")
[[ -z "$DUPS" ]] && e2n_log "ok: no duplicate rule" || fail "duplicate rules:"$'\n'"$DUPS"
((FAILED == 0)) && e2n_log "ok: every ENI has exactly its objects, detached ones none"

# Leaks: descriptors and memory after the warm-up (cycle $WARMUP) and now.
FDS1=$(e2n_daemon_fds)
RSS1=$(e2n_daemon_rss)
RSS_BOUND=3072
if grep -q libasan "/proc/$E2N_DAEMON_PID/maps" 2>/dev/null || [[ -n "$E2N_DAEMON_WRAPPER" ]]; then
        RSS_BOUND=32768
fi
e2n_log "ec2netd after warm-up (cycle $WARMUP): $FDS0 fds, RSS $RSS0 kB; at the end: $FDS1 fds, RSS $RSS1 kB (growth bound $RSS_BOUND kB)"
((FDS1 <= FDS0 + 1)) && e2n_log "ok: no descriptor leaked" \
        || fail "descriptors grew from $FDS0 to $FDS1: $(ls -l "/proc/$E2N_DAEMON_PID/fd")"
((RSS1 <= RSS0 + RSS_BOUND)) && e2n_log "ok: RSS flat" || fail "RSS grew from $RSS0 to $RSS1 kB"

# Traffic through the source check to whatever is attached.
DESTS=(10.0.1.10)
for ((d = 1; d <= MAX_ENIS; d++)); do
        [[ -n "${ATTACHED[eth$d]:-}" ]] && DESTS+=("10.0.2.$((10 * d))" "10.0.2.$((10 * d + 1))")
done
expect_pings_batch "$REMOTE_NS" "${DESTS[@]}" || FAILED=$((FAILED + 1))

rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] && e2n_log "ok: ec2netd exited 0" || fail "ec2netd exited $rc"
E2N_FAIL_NOTE="seed $SEED"
e2n_finish "$E2N_TMP/ec2netd.log" 60
