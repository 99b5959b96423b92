# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034 # lib.sh's description tables, filled here, read there
#
# lib-bench.sh: what the benchmarks add to tests/integration/lib.sh (sourced
# first; its EXIT trap deletes every namespace made here, whatever happens).
#
#   bench_instance ADDRS...         a big instance, cheaply: one ENI per argument,
#                                   eth0.., each in its own subnet with ADDRS IPv4 +
#                                   ADDRS IPv6 addresses, in lib.sh's description (so that
#                                   vpc_metadata describes it) but without the
#                                   router's bridges and nftables source checks
#                                   (vpc_eni costs ~2 commands per address and an
#                                   nft load per ENI; 80 x 100 addresses would take
#                                   minutes). The veth peers are in the router
#                                   namespace, down: no traffic is needed.
#   bench_start_imds FILE           vpc_start_imds with a longer wait
#   bench_notify_listener           the sd_notify listener e2n_daemon_start uses,
#                                   with each datagram's arrival time (ns, realtime)
#   bench_daemon_start ARGS...      e2n_daemon_start with a longer wait, timed:
#                                   BENCH_READY_MS
#   bench_status PID KEY            a /proc/PID/status value in kB (VmHWM, VmRSS, ...)
#   bench_ctxsw PID                 voluntary + involuntary context switches of PID
#                                   and its threads
#   bench_nlcount STRACE_LOG        netlink messages in an strace log (nlcount.py)
#   bench_log MSG                   progress, to stderr

: "${BENCH_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"

# Progress goes to fd 3 when the caller opened it (run.sh: its stderr), so that
# it shows while a step's own output goes to the log.
bench_log() {
        if { true >&3; } 2>/dev/null; then
                printf '[bench %s] %s\n' "$(date +%T)" "$*" >&3
        else
                printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2
        fi
}

# bench_instance ADDRS...: see above. ENI i: MAC 0e:b5:00:00:HH:LL, device
# number i (cards are not needed: device numbers go to 99), subnet 10.i.0.0/16
# and 2001:db8:i::/64 (i in hex), addresses 10.i.x.y and 2001:db8:i::1xx.
bench_instance() {
        local counts=("$@") na i j s hex a mac a4 a6 batch="$E2N_TMP/instance.batch"
        VPC_CIDR4=10.0.0.0/8
        : >"$batch"
        for ((i = 0; i < ${#counts[@]}; i++)); do
                na=${counts[i]}
                s="s$i"
                printf -v hex '%x' "$i"
                E2N_SUBNETS+=("$s")
                SUBNET_CIDR4["$s"]="10.$i.0.0/16"
                SUBNET_GW4["$s"]="10.$i.0.1"
                SUBNET_CIDR6["$s"]="2001:db8:$hex::/64"
                SUBNET_GW6["$s"]="2001:db8:$hex::1"
                SUBNET_BR["$s"]=""
                printf -v mac '0e:b5:00:00:%02x:%02x' $((i / 256)) $((i % 256))
                a4="" a6=""
                # No command substitution in here: a fork per address costs
                # seconds on a loaded machine.
                for ((j = 0; j < na; j++)); do
                        printf -v a '%x' $((0x100 + j))
                        a4+="${a4:+ }10.$i.$((j / 250)).$((10 + j % 250))"
                        a6+="${a6:+ }2001:db8:$hex::$a"
                done
                E2N_ENIS+=("eth$i")
                ENI_MAC["eth$i"]=$mac
                ENI_SUBNET["eth$i"]=$s
                ENI_DEV["eth$i"]=$i
                ENI_CARD["eth$i"]=""
                ENI_ADDR4["eth$i"]=$a4
                ENI_ADDR6["eth$i"]=$a6
                ENI_PREFIX4["eth$i"]=""
                ENI_PREFIX6["eth$i"]=""
                ENI_EIPS["eth$i"]=""
                ENI_PORT["eth$i"]="p$i"
                printf 'link add p%d type veth peer name eth%d address %s netns %s\n' \
                        "$i" "$i" "$mac" "$INST_NS" >>"$batch"
        done
        run "$VPC_NS" ip -batch "$batch" || die "bench_instance: veths"
}

# bench_start_imds FILE: vpc_start_imds (the same fake IMDS, log and variables)
# with a 60 s wait instead of 5 s: on a loaded 2-core machine the interpreter's
# start alone has taken longer.
bench_start_imds() {
        local file=$1 i
        run "$INST_NS" ip addr add "$IMDS4/32" dev lo || die "IMDS address"
        rm -f "$E2N_TMP/imds.port"
        run_bg "$INST_NS" "$E2N_PYTHON" "$EC2NET_SOURCE_DIR/tests/integration/fake_imds.py" \
                --data "$file" --listen "$IMDS4" --port 80 \
                --port-file "$E2N_TMP/imds.port" --log "$E2N_TMP/imds.log"
        E2N_IMDS_PID=$E2N_LAST_PID
        for ((i = 0; i < 600; i++)); do
                [[ -s "$E2N_TMP/imds.port" ]] && break
                kill -0 "$E2N_IMDS_PID" 2>/dev/null || die "fake IMDS exited"
                sleep 0.1
        done
        [[ -s "$E2N_TMP/imds.port" ]] || die "fake IMDS did not start in 60 s"
        IMDS_URL="http://$IMDS4"
}

# bench_notify_listener: lib.sh's listener, each line ending in "|t=<ns>"
# (CLOCK_REALTIME, like date +%s%N). e2n_daemon_start uses it as its own.
bench_notify_listener() {
        local i
        rm -f "$E2N_TMP/notify.sock"
        : >"$E2N_TMP/notify.log"
        run_bg "$INST_NS" "${PY[@]}" -u -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        d = s.recv(4096)
        t = time.time_ns()
        f.write(d.decode(errors="replace").replace("\n", "|") + "|t=%d\n" % t)
        f.flush()
' "$E2N_TMP/notify.sock" "$E2N_TMP/notify.log"
        E2N_NOTIFY_PID=$E2N_LAST_PID
        for ((i = 0; i < 100; i++)); do
                [[ -S "$E2N_TMP/notify.sock" ]] && return 0
                sleep 0.02
        done
        die "notify listener did not start"
}

# bench_daemon_start ARGS...: ec2netd started as e2n_daemon_start starts it (same
# arguments, log, state directory, E2N_DAEMON_PID), but waiting up to
# BENCH_READY_TIMEOUT s (default 120) for READY=1: e2n_daemon_start gives up
# after 10 s, and 80 ENIs on a loaded machine can take longer. Sets
# BENCH_READY_MS: from just before the start to the listener receiving READY=1.
bench_daemon_start() {
        local bin="$EC2NET_BUILD_DIR/daemon/ec2netd" t0 n0 tr i
        [[ -x "$bin" ]] || die "ec2netd not built: $bin"
        [[ -n "$E2N_NOTIFY_PID" ]] || bench_notify_listener >>"$BENCH_LOG"
        mkdir -p "$E2N_TMP/state"
        n0=$(grep -c 'READY=1' "$E2N_TMP/notify.log")
        t0=$(date +%s%N)
        run_bg "$INST_NS" env NOTIFY_SOCKET="$E2N_TMP/notify.sock" "$bin" \
                --imds-endpoint "http://$IMDS4" --state-dir "$E2N_TMP/state" \
                --uevent-source kernel "$@" 2>>"$E2N_TMP/ec2netd.log" >>"$BENCH_LOG"
        E2N_DAEMON_PID=$E2N_LAST_PID
        for ((i = 0; i < ${BENCH_READY_TIMEOUT:-120} * 20; i++)); do
                (($(grep -c 'READY=1' "$E2N_TMP/notify.log") > n0)) && break
                kill -0 "$E2N_DAEMON_PID" 2>/dev/null || die "ec2netd exited: $(tail -n 5 "$E2N_TMP/ec2netd.log")"
                sleep 0.05
        done
        tr=$(grep 'READY=1' "$E2N_TMP/notify.log" | sed -n "$((n0 + 1))s/.*|t=\([0-9]*\)\$/\1/p")
        [[ -n "$tr" ]] || die "ec2netd sent no READY=1 in ${BENCH_READY_TIMEOUT:-120} s"
        BENCH_READY_MS=$(((tr - t0) / 1000))
        BENCH_READY_MS=$(printf '%d.%03d' $((BENCH_READY_MS / 1000)) $((BENCH_READY_MS % 1000)))
}

# bench_save_daemon_log: append the daemon's log to the bench log (a cleanup hook).
# With BENCH_KEEP=DIR, the daemon's and the fake IMDS's logs are also copied there.
bench_save_daemon_log() {
        [[ -n "$E2N_TMP" && -f "$E2N_TMP/ec2netd.log" ]] || return 0
        printf -- '--- ec2netd.log of %s\n' "$E2N_TMP" >>"$BENCH_LOG"
        cat "$E2N_TMP/ec2netd.log" >>"$BENCH_LOG"
        if [[ -n "${BENCH_KEEP:-}" ]]; then
                mkdir -p "$BENCH_KEEP/${E2N_TMP##*/}"
                cp "$E2N_TMP/ec2netd.log" "$E2N_TMP/imds.log" "$BENCH_KEEP/${E2N_TMP##*/}/" 2>/dev/null
        fi
        return 0
}

# bench_imds_requests: requests in the fake IMDS log so far.
bench_imds_requests() { awk 'END { print NR }' "$E2N_TMP/imds.log" 2>/dev/null; }

# bench_imds_settle: wait until the fake IMDS has had no request for 2 s (30 s at most).
bench_imds_settle() {
        local last=-1 now quiet=0 i
        for ((i = 0; i < 60 && quiet < 4; i++)); do
                now=$(bench_imds_requests)
                if ((now == last)); then quiet=$((quiet + 1)); else quiet=0; fi
                last=$now
                sleep 0.5
        done
}

# bench_status PID KEY: the value of KEY (kB) in /proc/PID/status.
bench_status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# bench_ctxsw PID: context switches of every thread of PID, voluntary + not.
bench_ctxsw() {
        cat /proc/"$1"/task/*/status | awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n}'
}

# bench_wait_log PATTERN SECONDS: wait until the daemon log has one more line
# matching PATTERN than BENCH_LOG_MARK (a count taken before).
bench_log_count() { grep -c -- "$1" "$E2N_TMP/ec2netd.log"; }
bench_wait_log() {
        local pat=$1 limit=$2 i
        for ((i = 0; i < limit * 50; i++)); do
                (($(bench_log_count "$pat") > BENCH_LOG_MARK)) && return 0
                kill -0 "$E2N_DAEMON_PID" 2>/dev/null || die "ec2netd exited"
                sleep 0.02
        done
        return 1
}

# bench_first_pass LOG: "OPERATIONS MS" of the daemon's first pass, from its
# notices ("IF: N added, N removed[, N changed][, N failed] in T") before
# "Started" (state.json may already hold a later pass).
bench_first_pass() {
        sed '/^Started$/q' "$1" | "${PY[@]}" -c 'import re, sys
ops, ms = 0, 0.0
for line in sys.stdin:
    m = re.match(r"\S+: (\d+) added, (\d+) removed(?:, (\d+) changed)?(?:, (\d+) failed)? in ([0-9.]+)( ms|s)$", line.strip())
    if m:
        ops += sum(int(x or 0) for x in m.groups()[:4])
        ms = float(m.group(5)) * (1 if m.group(6) == " ms" else 1000)
print(ops, ms)'
}

# bench_nlcount STRACE_LOG: netlink messages sent and received by the traced
# process, by kind, as JSON (see nlcount.py).
bench_nlcount() { "${PY[@]}" "$BENCH_DIR/nlcount.py" "$1"; }

# bench_strace_attach PID OUT [STRACE_ARGS...]: strace PID (all threads) into
# OUT, by default the netlink calls decoded in full; the pid is
# BENCH_STRACE_PID. Waits until strace is attached.
bench_strace_attach() {
        local pid=$1 out=$2 i
        shift 2
        (($#)) || set -- -s 65536 -v -e trace=sendto,sendmsg,recvfrom,recvmsg
        strace -f -qq -e signal=none "$@" -o "$out" -p "$pid" 2>>"$BENCH_LOG" &
        BENCH_STRACE_PID=$!
        E2N_PIDS+=("$BENCH_STRACE_PID")
        for ((i = 0; i < 200; i++)); do
                grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$pid/status" && return 0
                sleep 0.01
        done
        die "strace did not attach to $pid"
}
bench_strace_detach() {
        kill -INT "$BENCH_STRACE_PID" 2>/dev/null
        wait "$BENCH_STRACE_PID" 2>/dev/null
}
