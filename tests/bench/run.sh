#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/bench/run.sh: the benchmarks of ec2netd (issue 6), in network namespaces
# of their own (tests/integration/lib.sh; nothing in the root namespace is
# touched, everything is deleted on exit). Not part of the test suite.
#
#   sudo EC2NET_BUILD_DIR=/path/to/build bash tests/bench/run.sh [--quick]
#        [--out FILE.json] [--log FILE] [--only attach,cold,refresh,idle]
#        [--sizes "15 64 80"]
#
# Use a release or debugoptimized build (meson setup B -Dbuildtype=release);
# the build type is recorded. --quick: 5 attaches instead of 20, cold start of
# 15 and 64 ENIs only (netlink counted for 15 only), idle wakeups over 10 s
# scaled to a minute (no refresh in it; < 3 min);
# the full run takes about 10 min. Default output tests/bench/results/latest.json,
# the command chatter goes to the log (default: the JSON's name with .log).
# Exit 1 if a figure that must hold does not (a no-op refresh with netlink
# writes, an attach that never completes, a cold start without READY=1).
#
# What is measured, and how:
#  attach   ENIs with 1, 10, 50 IPv4 (+ as many IPv6) addresses, listed in IMDS
#           from the start, are moved into the instance (attach) and out again
#           (detach: until no rule of their table is left) while ec2netd runs.
#           attach.py times, from rtnetlink in the instance, the RTM_NEWLINK of
#           the ENI -> the RTM_NEWRULE completing its rules (rules are the last
#           operations of a pass). Chosen over the daemon's log because the log
#           has no timestamps and starts at the uevent, not at the link; the
#           daemon's own "Configured X after its add event" is reported beside.
#  cold     15, 64, 80 ENIs x (50 IPv4 + 50 IPv6): start ec2netd on the
#           unconfigured instance; time to READY=1 (sd_notify datagram
#           timestamped on arrival), IMDS requests (the fake IMDS log), operations
#           and pass time (state.json), peak RSS (VmHWM), objects made. Then a
#           restart on the configured instance (time to READY, a no-op pass).
#           netlink messages: the daemon counts them but logs them only for
#           no-op passes, so the cold start's are counted in a second, separate
#           cold start under strace (decoded netlink; messages, not syscalls).
#  refresh  64 ENIs: the timer refresh (--refresh 3) of the configured instance:
#           its pass time, IMDS and netlink counts from the daemon's log, IMDS
#           requests from the fake IMDS log, and netlink writes (messages other
#           than RTM_GET*) counted with strace attached during a second refresh.
#           Must be 0: the bench fails otherwise.
#  idle     3 ENIs, --refresh 60 and WATCHDOG_USEC=180000000 (WatchdogSec=3min
#           in ec2netd.service): over 66 s from READY=1 (the refresh fires 54-66 s
#           after the first pass, so the window holds one): wakeups = epoll_wait
#           calls that returned (strace attached), scaled to a minute; context
#           switches (voluntary + involuntary, all threads); the WATCHDOG=1 pings
#           and refreshes seen; VmRSS and VmHWM at the end.
#  ref      amazon-ec2-net-utils side by side: not runnable here (see REFERENCE).
#
# JSON (schema 1):
#  { "schema": 1, "quick": bool,
#    "machine": { "nproc", "cpu", "kernel", "date" (UTC ISO 8601), "git_commit",
#                 "git_dirty", "build_dir", "buildtype", "sanitize", "loadavg" },
#    "attach": [ { "addrs", "rules", "rounds",
#                  "attach_ms": STATS, "detach_ms": STATS, "daemon_ms": STATS } ],
#    "cold_start": [ { "enis", "addrs", "ready_ms", "pass_ms", "imds_requests" (until
#                      no request for 2 s), "imds_walks" (GETs of meta-data/mac),
#                      "operations", "rules", "addresses", "vmhwm_kb", "vmrss_kb",
#                      "netlink": NL | null, "restart_ready_ms",
#                      "restart_imds_requests", "restart_netlink_sent" } ],
#    "noop_refresh": { "enis", "pass_ms", "imds_requests" (daemon log),
#                      "imds_requests_seen" (fake IMDS log), "netlink_sent" (daemon
#                      log), "netlink": NL, "netlink_writes" },
#    "idle": { "enis", "vmrss_kb", "vmhwm_kb", "window_s", "ctx_switches",
#              "epoll_wakeups", "wakeups_per_min", "watchdog_pings", "refreshes",
#              "scaled" (window shorter than a minute) },
#    "reference": { "name", "measured": false, "reason" } }
#  STATS = { "n", "median", "p95", "min", "max", "samples": [ms...] } (p95: nearest rank)
#  NL = { "sent", "received", "writes", "dump_requests", "by_type": {TYPE: n} }
#  A section not run is absent.

set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
exec 3>&2 # progress (bench_log), even where stderr goes to the log
export EC2NET_SOURCE_DIR=${EC2NET_SOURCE_DIR:-$(cd "$BENCH_DIR/../.." && pwd)}
# shellcheck source=../integration/lib.sh
source "$EC2NET_SOURCE_DIR/tests/integration/lib.sh"
# shellcheck source=lib-bench.sh
source "$BENCH_DIR/lib-bench.sh"

QUICK=0
OUT=$BENCH_DIR/results/latest.json
BENCH_LOG=""
ONLY=attach,cold,refresh,idle
SIZES=""
while [[ $# -gt 0 ]]; do
        case $1 in
        --quick) QUICK=1 ;;
        --out) OUT=$2; shift ;;
        --log) BENCH_LOG=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --sizes) SIZES=$2; shift ;;
        -h | --help) sed -n '3,17p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
        esac
        shift
done
: "${BENCH_LOG:=${OUT%.json}.log}"
want() { [[ ",$ONLY," == *",$1,"* ]]; }

need_root
command -v strace >/dev/null || die "strace not found (apt-get install strace)"
[[ -x $EC2NET_BUILD_DIR/daemon/ec2netd ]] || die "ec2netd not built in $EC2NET_BUILD_DIR"
mkdir -p "$(dirname "$OUT")" "$(dirname "$BENCH_LOG")"
: >"$BENCH_LOG"
RES=$(mktemp -d /tmp/e2nbench.XXXXXX)
bench_rm_res() { rm -rf -- "$RES"; }
E2N_CLEANUP_HOOKS+=(bench_rm_res)
FAILED=0

if ((QUICK)); then
        ROUNDS=5 COLD_SIZES="15 64" IDLE_WINDOW=10
else
        ROUNDS=20 COLD_SIZES="15 64 80" IDLE_WINDOW=66
fi
[[ -n $SIZES ]] && COLD_SIZES=$SIZES

# Each section in a subshell with lib.sh's cleanup trap: its own namespaces,
# gone when it ends, whatever happens.
section() {
        local rc=0
        bench_log "section $1"
        (
                # Not the parent's hook (the results directory), but the daemon's log.
                E2N_CLEANUP_HOOKS=(bench_save_daemon_log)
                trap e2n_on_exit EXIT
                trap 'exit 130' INT
                trap 'exit 143' TERM
                "section_$1"
        ) || rc=$?
        ((rc == 130 || rc == 143)) && exit "$rc"
        if ((rc)); then
                tail -n 5 "$BENCH_LOG" >&2
                bench_log "section $1 FAILED (rc $rc), see $BENCH_LOG"
                FAILED=1
        fi
}

# An instance from a list of address counts, its metadata and fake IMDS.
# ENIs in PARK (names) are moved to the router namespace before the start.
setup_instance() {
        local t0=$SECONDS
        vpc_init
        bench_instance "$@"
        vpc_dhcp_primary
        vpc_metadata "$E2N_TMP/metadata.json"
        bench_start_imds "$E2N_TMP/metadata.json"
        bench_log "instance of $# ENIs ready in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------
section_attach() {
        local sizes=(1 10 50) i n out
        setup_instance 1 "${sizes[@]}" >>"$BENCH_LOG" 2>&1
        for ((i = 1; i <= ${#sizes[@]}; i++)); do
                run "$INST_NS" ip link set "eth$i" netns "$VPC_NS" >>"$BENCH_LOG" || die "park eth$i"
        done
        bench_daemon_start --log-level debug --refresh 0
        for ((i = 1; i <= ${#sizes[@]}; i++)); do
                n=${sizes[i - 1]}
                bench_log "attach: eth$i, $n + $n addresses, $ROUNDS rounds"
                out=$(ip netns exec "$INST_NS" "${PY[@]}" "$BENCH_DIR/attach.py" "$VPC_NS" "eth$i" \
                        $((10000 + i)) $((2 * n)) "$ROUNDS") || {
                        echo "$out" >>"$BENCH_LOG"
                        cat "$E2N_TMP/ec2netd.log" >>"$BENCH_LOG"
                        die "attach of eth$i failed: $out"
                }
                # The daemon's view: the last ROUNDS "Configured" lines of eth$i.
                grep "^eth$i: Configured .* after its add event" "$E2N_TMP/ec2netd.log" | tail -n "$ROUNDS" |
                        sed -E 's/.*Configured ([0-9.]+)( ms|s) .*/\1\2/' |
                        awk '{ v = $1; if ($0 ~ /s$/ && $0 !~ / ms$/) v *= 1000; print v }' >"$E2N_TMP/daemon.$i"
                "${PY[@]}" "$BENCH_DIR/report.py" attach "$n" "$((2 * n))" "$ROUNDS" "$out" \
                        "$E2N_TMP/daemon.$i" >"$RES/attach.$i.json" || die "report attach"
        done
        e2n_daemon_stop >>"$BENCH_LOG" || die "ec2netd exited non-zero"
}

# ---------------------------------------------------------------------------
# bench_wrap_strace OUT: a build directory whose daemon/ec2netd runs the real
# one under strace (netlink decoded) into OUT, for e2n_daemon_start.
bench_wrap_strace() {
        local out=$1 dir="$E2N_TMP/strace-build"
        mkdir -p "$dir/daemon"
        # LeakSanitizer cannot run under ptrace: no leak check in a sanitizer build.
        cat >"$dir/daemon/ec2netd" <<EOF
#!/bin/sh
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0"
exec strace -f -qq -s 65536 -v -e trace=sendto,sendmsg,recvfrom,recvmsg -e signal=none -o '$out' '$EC2NET_BUILD_DIR/daemon/ec2netd' "\$@"
EOF
        chmod +x "$dir/daemon/ec2netd"
        printf '%s' "$dir"
}

# Our objects in the instance: rules (both families; `ip rule show proto` does
# not filter in iproute2 6.1, `ip rule flush proto` does) and addresses.
count_rules() { ip -n "$INST_NS" -4 rule show | grep -c -E ' proto (236|ec2net)'; }
count_rules6() { ip -n "$INST_NS" -6 rule show | grep -c -E ' proto (236|ec2net)'; }
count_addrs() { ip -n "$INST_NS" -o addr show | grep -c -E ' (inet|inet6) (10|2001:db8)'; }

section_cold() {
        local n=$1 counts=() i imds0 pid
        for ((i = 0; i < n; i++)); do counts+=(50); done
        setup_instance "${counts[@]}" >>"$BENCH_LOG" 2>&1
        imds0=$(bench_imds_requests)
        bench_daemon_start --refresh 0 --log-level "${BENCH_COLD_LOG_LEVEL:-info}"
        pid=$E2N_DAEMON_PID
        local ready=$BENCH_READY_MS imds walks
        # Until the daemon stops reading IMDS: a big first pass is followed by
        # a second full read (see the report); count both, and the walks.
        bench_imds_settle
        imds=$(($(bench_imds_requests) - imds0))
        walks=$(tail -n "+$((imds0 + 1))" "$E2N_TMP/imds.log" | grep -c ' /latest/meta-data/mac ')
        local hwm rss ops pass_ms nl=null
        hwm=$(bench_status "$pid" VmHWM)
        rss=$(bench_status "$pid" VmRSS)
        read -r ops pass_ms < <(bench_first_pass "$E2N_TMP/ec2netd.log")
        local rules=$(($(count_rules) + $(count_rules6))) addrs
        addrs=$(count_addrs)
        bench_log "cold $n ENIs: READY after $ready ms, $ops operations, $rules rules"
        ((rules >= n * 100)) || die "cold $n: only $rules rules of ours"

        # Restart on the configured instance: a no-op pass.
        e2n_daemon_stop >>"$BENCH_LOG" || die "ec2netd exited non-zero"
        local mark
        mark=$(bench_log_count 'Pass: nothing to do')
        imds0=$(bench_imds_requests)
        bench_daemon_start --refresh 0 --log-level debug
        local r_ready=$BENCH_READY_MS r_imds=$(($(bench_imds_requests) - imds0)) r_nl
        BENCH_LOG_MARK=$mark
        bench_wait_log 'Pass: nothing to do' 5 || die "restart of $n: the first pass was not a no-op"
        r_nl=$(grep 'Pass: nothing to do' "$E2N_TMP/ec2netd.log" | tail -1 | sed -E 's/.*netlink ([0-9]+) sent.*/\1/')

        if ((n == 64)) && want refresh; then
                noop_refresh
        fi
        e2n_daemon_stop >>"$BENCH_LOG" || die "ec2netd exited non-zero"

        "${PY[@]}" -c 'import json, sys
k = ["enis", "addrs", "ready_ms", "pass_ms", "imds_requests", "imds_walks", "operations", "rules", "addresses",
     "vmhwm_kb", "vmrss_kb", "netlink", "restart_ready_ms", "restart_imds_requests",
     "restart_netlink_sent"]
v = [int(sys.argv[1]), 50, float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]),
     int(sys.argv[14]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]),
     json.loads(sys.argv[10]), float(sys.argv[11]), int(sys.argv[12]), int(sys.argv[13])]
print(json.dumps(dict(zip(k, v))))' "$n" "$ready" "$pass_ms" "$imds" "$ops" "$rules" "$addrs" \
                "$hwm" "$rss" "$nl" "$r_ready" "$r_imds" "$r_nl" "$walks" >"$RES/cold.$n.json" || die "report cold"
}

# The 64-ENI daemon runs with --refresh 0; restart it with a 3 s refresh.
noop_refresh() {
        local mark imds0 line st
        e2n_daemon_stop >>"$BENCH_LOG" || die "ec2netd exited non-zero"
        bench_daemon_start --refresh 3 --log-level debug
        # Refresh 1: figures from the daemon's log and the fake IMDS log (the
        # daemon reads IMDS for nothing else meanwhile).
        imds0=$(bench_imds_requests)
        BENCH_LOG_MARK=$(bench_log_count '^Refresh$')
        bench_wait_log '^Refresh$' 10 || die "no refresh within 10 s"
        BENCH_LOG_MARK=$(bench_log_count 'Pass: nothing to do')
        bench_wait_log 'Pass: nothing to do' 5 || {
                tail -n 50 "$E2N_TMP/ec2netd.log" >>"$BENCH_LOG"
                die "the refresh of an unchanged instance was not a no-op pass"
        }
        line=$(grep 'Pass: nothing to do' "$E2N_TMP/ec2netd.log" | tail -1)
        local imds_seen=$(($(bench_imds_requests) - imds0))
        # Refresh 2 under strace: every netlink message the daemon sends.
        st="$E2N_TMP/strace.refresh"
        BENCH_LOG_MARK=$(bench_log_count 'Pass: nothing to do')
        bench_strace_attach "$E2N_DAEMON_PID" "$st"
        bench_wait_log 'Pass: nothing to do' 10 || die "no second no-op refresh"
        bench_strace_detach
        local nl
        nl=$(bench_nlcount "$st") || die "nlcount"
        "${PY[@]}" -c 'import json, re, sys
line, nl = sys.argv[1], json.loads(sys.argv[2])
m = re.search(r"nothing to do \(([0-9.]+)( ms|s), IMDS ([0-9]+) requests, netlink ([0-9]+) sent", line)
ms = float(m.group(1)) * (1 if m.group(2) == " ms" else 1000)
print(json.dumps({"enis": 64, "pass_ms": ms, "imds_requests": int(m.group(3)),
                  "imds_requests_seen": int(sys.argv[3]), "netlink_sent": int(m.group(4)),
                  "netlink": nl, "netlink_writes": nl["writes"]}))' "$line" "$nl" "$imds_seen" \
                >"$RES/refresh.json" || die "report refresh: $line"
        bench_log "no-op refresh: $line; netlink writes under strace: $("${PY[@]}" -c 'import json,sys; print(json.loads(sys.argv[1])["writes"])' "$nl")"
}

# The netlink messages of a cold start: the same instance, built afresh (a
# reset would leave link settings and altnames), ec2netd under strace.
section_coldnl() {
        local n=$1 counts=() i wrap child ops
        for ((i = 0; i < n; i++)); do counts+=(50); done
        setup_instance "${counts[@]}" >>"$BENCH_LOG" 2>&1
        wrap=$(bench_wrap_strace "$E2N_TMP/strace.cold")
        EC2NET_BUILD_DIR=$wrap bench_daemon_start --refresh 0
        read -r ops _ < <(bench_first_pass "$E2N_TMP/ec2netd.log")
        # strace blocks SIGTERM while it runs a command of its own: stop the daemon.
        child=$(cat /proc/"$E2N_DAEMON_PID"/task/*/children)
        [[ -n $child ]] || die "no ec2netd under strace $E2N_DAEMON_PID"
        kill -TERM "$child"
        wait "$E2N_DAEMON_PID"
        E2N_DAEMON_PID=""
        bench_nlcount "$E2N_TMP/strace.cold" | "${PY[@]}" -c 'import json, sys
c = json.load(sys.stdin)
c["operations"] = int(sys.argv[1])
print(json.dumps(c))' "$ops" >"$RES/coldnl.$n.json" || die "nlcount"
        bench_log "cold $n under strace: $ops operations, netlink $(cut -c1-200 "$RES/coldnl.$n.json")"
}

section_cold_15() { section_cold 15; }
section_cold_64() { section_cold 64; }
section_cold_80() { section_cold 80; }
section_coldnl_15() { section_coldnl 15; }
section_coldnl_64() { section_coldnl 64; }
section_coldnl_80() { section_coldnl 80; }

# ---------------------------------------------------------------------------
section_idle() {
        local pid c0 c1 w0 w1 r0 r1 rss hwm st wakeups
        setup_instance 3 3 3 >>"$BENCH_LOG" 2>&1
        st="$E2N_TMP/strace.idle" # E2N_TMP exists once the instance does
        export WATCHDOG_USEC=180000000
        bench_daemon_start --refresh 60 --log-level debug
        unset WATCHDOG_USEC
        pid=$E2N_DAEMON_PID
        # From READY on: the refresh timer was armed at the end of the first
        # pass and fires 54-66 s later, so a 66 s window holds one refresh.
        # (context switches counted inside the strace window: attaching and
        # detaching switch too)
        bench_strace_attach "$pid" "$st" -e trace=epoll_wait,epoll_pwait,epoll_pwait2
        c0=$(bench_ctxsw "$pid")
        w0=$(grep -c 'WATCHDOG=1' "$E2N_TMP/notify.log")
        r0=$(bench_log_count '^Refresh$')
        bench_log "idle: watching ec2netd for $IDLE_WINDOW s"
        sleep "$IDLE_WINDOW"
        c1=$(bench_ctxsw "$pid")
        bench_strace_detach
        w1=$(grep -c 'WATCHDOG=1' "$E2N_TMP/notify.log")
        r1=$(bench_log_count '^Refresh$')
        rss=$(bench_status "$pid" VmRSS)
        hwm=$(bench_status "$pid" VmHWM)
        # A wakeup: an epoll_wait that blocked and returned (the loop's only blocking call);
        # sd-event's polls with a zero timeout do not sleep, so they are not wakeups.
        wakeups=$(grep -c -E '^[0-9]+ +epoll_p?wait2?\(.*, (-1|[1-9][0-9]*)\) += [0-9]+$' "$st")
        e2n_daemon_stop >>"$BENCH_LOG" || die "ec2netd exited non-zero"
        "${PY[@]}" -c 'import json, sys
a = [int(x) for x in sys.argv[1:]]
rss, hwm, win, cs, wd, rf, wk = a
print(json.dumps({"enis": 3, "vmrss_kb": rss, "vmhwm_kb": hwm, "window_s": win, "ctx_switches": cs,
                  "epoll_wakeups": wk, "wakeups_per_min": round(wk * 60 / win, 1),
                  "watchdog_pings": wd, "refreshes": rf, "scaled": win < 60}))' "$rss" "$hwm" \
                "$IDLE_WINDOW" $((c1 - c0)) $((w1 - w0)) $((r1 - r0)) "$wakeups" >"$RES/idle.json" ||
                die "report idle"
}

# ---------------------------------------------------------------------------
REFERENCE="amazon-ec2-net-utils 2.3.0 (Debian 12) needs systemd-networkd and systemd-udevd managing the instance's links and D-Bus for networkctl reload; none of them can be confined to a test network namespace on this machine without touching the host's, so it was not run and there is no ratio"

T0=$(date +%s)
bench_log "build $EC2NET_BUILD_DIR, results $OUT, log $BENCH_LOG"
want attach && section attach
for n in $COLD_SIZES; do
        if want cold || { ((n == 64)) && want refresh; }; then
                section "cold_$n"
        fi
        # (--quick: the netlink count of the smallest only)
        if want cold && { ((QUICK == 0)) || [[ $n == "${COLD_SIZES%% *}" ]]; }; then
                section "coldnl_$n"
        fi
done
want idle && section idle

"${PY[@]}" "$BENCH_DIR/report.py" final "$RES" "$OUT" "$QUICK" "$EC2NET_BUILD_DIR" "$REFERENCE" || FAILED=1
bench_log "done in $(($(date +%s) - T0)) s; JSON in $OUT"
exit "$FAILED"
