#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-faults: ec2netd survives everything a broken IMDS can send, and
# changes nothing while it does (design.md §4 "Errors", imds.md §3-5).
#
# A configured instance (eth0 primary, eth1 with IPv4 and IPv6 addresses), the
# daemon refreshing every 0.3 s, with an IMDS time limit of 300 ms. For each fault below, injected into the fake
# IMDS while IMDS also starts to say something new about eth1 (10.0.2.22
# assigned, or unassigned again):
#   * the pass that met the fault completes (the fake's log shows the faulted
#     request, then the daemon rewrites its state file);
#   * the daemon is alive; the kernel state is exactly what it was (e2n_kstate:
#     the new address was not applied, nothing was removed);
#   * a log line names the path and the cause;
# then the fault is cleared and the daemon converges: 10.0.2.22 and its rule
# appear (or go), the last pass is "ok".
#
# Faults: every HTTP status the client tells apart (400, 401 on every request:
# the token renewal does not loop, 403, 404 on the MAC listing and on a listed
# key, 429 with Retry-After, 500, 503), a timeout, a TCP reset mid-body, a body
# that stalls mid-way, a 10 MiB body, a body with a NUL byte, non-UTF-8 bytes in
# a key and in the MAC listing, addresses and CIDRs out of range, a thousand
# entries in local-ipv4s (EC2 allows at most 50 IPv4 per ENI: the model refuses
# more than 256, so the ENI is invalid and left as it is), device-number 99999,
# and shell metacharacters in values: the file they would create never appears.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

MAC1=0e:e2:00:00:06:11
K=meta-data/network/interfaces/macs/$MAC1
LISTING=meta-data/network/interfaces/macs/
vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24 2001:db8:2::/64
vpc_eni eth0 0e:e2:00:00:06:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 "$MAC1" B 1 -- 10.0.2.20 10.0.2.21 -6 2001:db8:2::20
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit 77
PWNED="$E2N_TMP/pwned"

# A short IMDS time limit, so that the timeouts below cost little.
printf '[IMDS]\nTimeoutSec=300ms\n' >"$E2N_TMP/ec2net.conf"
e2n_daemon_start --config "$E2N_TMP/ec2net.conf" --refresh 0.3
[[ $(e2n_rules_of "$INST_NS" 10001) == 3 ]] || fail "eth1 not configured: $(ip -n "$INST_NS" rule show)"

# The two trees the toggle switches between (without and with 10.0.2.22 on
# eth1), written once: a python less per step.
vpc_metadata "$E2N_TMP/md.0.json" >/dev/null
vpc_eni_assign eth1 10.0.2.22 >/dev/null
vpc_metadata "$E2N_TMP/md.1.json" >/dev/null
vpc_eni_unassign eth1 10.0.2.22 >/dev/null

# push_tree [KEY VALUE]: the metadata of the description to the fake IMDS, with
# eth1's KEY (under its MAC directory) set to VALUE when given; one POST.
push_tree() {
        local f="$E2N_TMP/md.$TOGGLED.json"
        if [[ $# -gt 0 ]]; then
                "${PY[@]}" - "$f" "$E2N_TMP/md.json" "$MAC1" "$@" <<'PYEOF' || die "tree"
import json, sys
src, dst, mac, key, value = sys.argv[1:6]
tree = json.load(open(src))
tree["meta-data"]["network"]["interfaces"]["macs"][mac][key] = value
json.dump(tree, open(dst, "w"))
PYEOF
                f="$E2N_TMP/md.json"
        fi
        e2n_imds_ctl tree - <"$f" >/dev/null || die "tree push"
}

# wait_hit SECONDS PATH [fault]: wait until the fake's log shows a request for
# /latest/PATH (answered with a fault when "fault" is given).
wait_hit() {
        local limit=$(($1 * E2N_TIME_SCALE)) t0=$SECONDS entries
        while ((SECONDS - t0 <= limit)); do
                # One log entry a line: {"method": ..., "path": ..., ..., "fault": ...}.
                entries=$(e2n_imds_log | sed 's/}, {/}\n{/g' | grep -F "\"path\": \"/latest/$2\"")
                if [[ -n "$entries" && ( -z "${3:-}" || "$entries" == *'"fault"'* ) ]]; then
                        return 0
                fi
                sleep 0.05
        done
        return 1
}

# converged: IMDS and the kernel agree about 10.0.2.22 (the toggle), the last
# pass is "ok".
converged() {
        local want=$TOGGLED
        [[ $(ip -n "$INST_NS" -4 rule show from 10.0.2.22 table 10001 | grep -c .) == "$want" ]] || return 1
        [[ $(ip -n "$INST_NS" -4 addr show dev eth1 to 10.0.2.22 | grep -c inet) == "$want" ]] || return 1
        grep -q '"result": "ok"' "$E2N_TMP/state/state.json"
}

# toggle: IMDS is about to list 10.0.2.22 on eth1, or to stop listing it (the
# router needs no change: no traffic goes to that address).
TOGGLED=0
toggle() { TOGGLED=$((1 - TOGGLED)); }

# fault_case NAME LOG_REGEX SECONDS fault PATH JSON...  (each JSON a fault on PATH's
#                                                        request; PATH the one to see hit)
# fault_case NAME LOG_REGEX SECONDS value KEY VALUE     (eth1's KEY served as VALUE)
NCASES=0
fault_case() {
        local name=$1 re=$2 secs=$3 mode=$4 before after n0 ms log nreq puts path t0=$SECONDS
        shift 4
        NCASES=$((NCASES + 1))
        e2n_log "== fault: $name"
        before=$(e2n_kstate "$INST_NS")
        n0=$(wc -l <"$E2N_TMP/ec2netd.log")
        e2n_imds_ctl reset-log >/dev/null
        toggle
        if [[ $mode == fault ]]; then
                path=$1
                shift
                local spec
                for spec in "$@"; do
                        e2n_imds_ctl fault "$spec" >/dev/null || die "fault $spec"
                done
                push_tree
                wait_hit "$secs" "$path" fault || fail "$name: the fault on $path was never hit"
        else
                path=$K/$1
                push_tree "$1" "$2"
                wait_hit "$secs" "$path" || fail "$name: $path never read"
        fi
        # The pass that made the faulted request is over (if it still ran when the
        # hit was seen, its end; otherwise the end of the next one).
        e2n_daemon_wait_pass "$secs" || fail "$name: no pass completed within ${secs}s"
        if ! kill -0 "$E2N_DAEMON_PID" 2>/dev/null; then
                fail "$name: ec2netd died"
                cat "$E2N_TMP/ec2netd.log"
                exit 1
        fi
        after=$(e2n_kstate "$INST_NS")
        if [[ "$before" == "$after" ]]; then
                e2n_log "ok: $name: nothing changed"
        else
                fail "$name changed the network: $(diff <(echo "$before") <(echo "$after"))"
        fi
        # A retry already scheduled reports the new problem when it runs: wait for it.
        if e2n_wait_for 5 eval 'tail -n +"$((n0 + 1))" "$E2N_TMP/ec2netd.log" | grep -Eq -- "$re"' >/dev/null; then
                e2n_log "ok: $name: logged: $(tail -n +"$((n0 + 1))" "$E2N_TMP/ec2netd.log" | grep -E -m1 -- "$re" | cut -c1-240)"
        else
                fail "$name: no log line matching /$re/; the log since the fault:"
                tail -n +"$((n0 + 1))" "$E2N_TMP/ec2netd.log" | sort | uniq -c | head -20
        fi
        log=$(e2n_imds_log)
        nreq=$(grep -o '"method"' <<<"$log" | grep -c .)
        puts=$(grep -o '"method": "PUT"' <<<"$log" | grep -c .)
        e2n_log "   IMDS requests during the fault: $nreq ($puts token PUTs)"
        # 401 on every GET: a new token for each, not a loop of them.
        if [[ $name == 401* ]] && ((puts > 100)); then
                fail "$name: $puts token requests: the renewal loops"
        fi
        e2n_imds_ctl clear-faults >/dev/null
        [[ $mode == value ]] && push_tree
        if ms=$(e2n_wait_for 15 converged); then
                e2n_log "ok: $name: converged $ms ms after the fault was cleared"
        else
                fail "$name: not converged after the fault: $(ip -n "$INST_NS" rule show table 10001)"
        fi
        [[ ! -e "$PWNED" ]] || fail "$name: $PWNED exists: a value reached a shell"
        e2n_log "   ($((SECONDS - t0)) s)"
}

ST='"kind": "status", "count": -1, "status"'
fault_case "400 on a key" "local-ipv4s.*HTTP 400" 10 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", $ST: 400}"
fault_case "401 on every GET (token renewal)" "meta-data/mac.*HTTP 401" 20 \
        fault meta-data/mac "{\"path\": \"*\", \"method\": \"GET\", $ST: 401}"
fault_case "403 on a key" "local-ipv4s.*HTTP 403" 10 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", $ST: 403}"
fault_case "404 on the MAC listing" "macs/'.*404" 10 \
        fault "$LISTING" "{\"path\": \"$LISTING\", $ST: 404}"
fault_case "404 on a listed key" "ipv6s.*404" 10 \
        fault "$K/ipv6s" "{\"path\": \"$K/ipv6s\", $ST: 404}"
fault_case "429 with Retry-After" "local-ipv4s.*HTTP 429" 20 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", $ST: 429, \"retry_after\": \"1\"}"
fault_case "500 on a key" "local-ipv4s.*HTTP 500" 10 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", $ST: 500}"
fault_case "503 on the MAC listing" "macs/.*HTTP 503" 10 \
        fault "$LISTING" "{\"path\": \"$LISTING\", $ST: 503}"
fault_case "timeout" "local-ipv4s.*[Tt]ime" 20 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", \"kind\": \"delay\", \"count\": -1, \"delay_ms\": 600}"
fault_case "TCP reset mid-body" "local-ipv4s.*(reset|[Cc]onnection)" 10 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", \"kind\": \"reset_mid_body\", \"count\": -1}"
fault_case "body stalls mid-way" "ipv6s.*[Tt]ime" 20 \
        fault "$K/ipv6s" "{\"path\": \"$K/ipv6s\", \"kind\": \"stall_mid_body\", \"count\": -1, \"delay_ms\": 600}"
fault_case "10 MiB body" "local-ipv4s.*(large|big)" 10 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", \"kind\": \"oversize\", \"count\": -1, \"size\": 10485760}"
fault_case "NUL byte in a body" "local-ipv4s.*(NUL|[Bb]ad message|invalid)" 10 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", \"kind\": \"nul\", \"count\": -1}"
B64=$(printf '10.0.2.20\n10.0.2.\xff\xfe\n' | base64 -w0)
fault_case "non-UTF-8 in a key" "local-ipv4s.*invalid" 10 \
        fault "$K/local-ipv4s" "{\"path\": \"$K/local-ipv4s\", \"kind\": \"body\", \"count\": -1, \"body_b64\": \"$B64\"}"
B64=$(printf '0e:e2:00:00:06:10/\n\xc3\x28\xff/\n' | base64 -w0)
fault_case "non-UTF-8 in the MAC listing" "macs/'.*malformed" 10 \
        fault "$LISTING" "{\"path\": \"$LISTING\", \"kind\": \"body\", \"count\": -1, \"body_b64\": \"$B64\"}"
fault_case "IPv4 address out of range" "local-ipv4s.*10\.0\.2\.300" 10 \
        value local-ipv4s $'10.0.2.20\n10.0.2.21\n10.0.2.300'
fault_case "IPv6 address out of range" "ipv6s.*2001:db8:2::1:2:3:4:5:6:7" 10 \
        value ipv6s '2001:db8:2::1:2:3:4:5:6:7'
fault_case "prefix length out of range" "subnet-ipv4-cidr-block.*/33" 10 \
        value subnet-ipv4-cidr-block 10.0.2.0/33
THOUSAND=$("${PY[@]}" -c 'print("\n".join(["10.0.2.20"] + ["10.0.%d.%d" % (3 + i // 250, 1 + i % 250) for i in range(999)]))')
fault_case "a thousand entries in local-ipv4s" "local-ipv4s.*more than" 10 \
        value local-ipv4s "$THOUSAND"
fault_case "device-number 99999" "device-number.*99999" 10 \
        value device-number 99999
fault_case "shell metacharacters in local-ipv4s" "local-ipv4s.*touch" 10 \
        value local-ipv4s $'10.0.2.20\n$(touch '"$PWNED"$')\n`touch '"$PWNED"'`'
fault_case "shell metacharacters in interface-id" "interface-id.*touch" 10 \
        value interface-id "eni-0;touch $PWNED;\$(touch $PWNED)"
fault_case "shell metacharacters in the subnet" "subnet-ipv4-cidr-block.*touch" 10 \
        value subnet-ipv4-cidr-block "10.0.2.0/24|touch $PWNED"

# After all of it: traffic still flows through the addresses IMDS lists.
expect_pings "$REMOTE_NS" 10.0.1.10 10.0.2.20 10.0.2.21 || FAILED=$((FAILED + 1))
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] && e2n_log "ok: ec2netd exited 0" || fail "ec2netd exited $rc"
e2n_log "$NCASES faults injected"
e2n_finish "$E2N_TMP/ec2netd.log" 100
