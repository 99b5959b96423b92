#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-udev: --uevent-source udev acts on udev's events only.
#
# 1. No udevd running, --uevent-source udev: the daemon starts and configures
#    what is there (READY=1); a hot-attached ENI brings no event (the kernel's
#    uevents are not udev's, which only udevd sends after processing a device),
#    so it is left alone until a full pass (SIGHUP here, the refresh timer in
#    life) configures it.
# 2. systemd-udevd running in the instance's network namespace and in a
#    private mount namespace of its own (see below), --uevent-source udev: an
#    attached ENI is configured from udev's event (the debug log says "udev:
#    add", never "uevent:"), and its detach from udev's "remove".
# 3. The daemon in udevd's mount namespace (so /run/udev/control exists) with
#    --uevent-source auto watches udev's events.
#
# Why udevd here touches nothing outside the test: its network namespace is
# the test's (it sees only the test's network devices, and its broadcasts to
# libudev listeners stay in that namespace); its mount namespace is a new
# private one (a guard refuses PID 1's) in which tmpfs covers /run/udev (its
# control socket and database), /etc/udev and /usr/lib/udev/rules.d (the only
# rules: udev/99-ec2net.rules from this tree) and /dev (with null, zero,
# random and urandom only: udevd makes and removes /dev/{block,char} links
# for devices of the whole machine, whose untagged uevents a namespace owned
# by the initial user namespace receives too), and /sys is read-only there,
# so no uevent file, attribute or helper can be written. Nothing is triggered
# (no udevadm trigger). udevd is stopped with SIGTERM (it stops its workers).
#
# Needs root and systemd-udevd; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root

UDEVD=""
for f in /usr/lib/systemd/systemd-udevd /lib/systemd/systemd-udevd; do
        [[ -x $f ]] && UDEVD=$f && break
done
if [[ -z "$UDEVD" ]]; then
        [[ -z "${CI:-}" ]] || die "systemd-udevd not installed (package udev, scripts/deps.sh)"
        echo "SKIP: systemd-udevd not installed"
        exit 77
fi
command -v unshare >/dev/null && command -v nsenter >/dev/null || die "unshare and nsenter (util-linux) needed"

vpc_init
vpc_subnet A 10.0.1.0/24
vpc_subnet B 10.0.2.0/24
vpc_subnet C 10.0.3.0/24
vpc_eni eth0 0e:e2:00:00:08:10 A 0 -- 10.0.1.10 10.0.1.11
vpc_dhcp_primary
# IMDS lists eth1 and eth2 from the start; their links come later.
vpc_eni eth1 0e:e2:00:00:08:11 B 1 -- 10.0.2.20 10.0.2.21
vpc_eni eth2 0e:e2:00:00:08:12 C 2 -- 10.0.3.30 10.0.3.31
vpc_metadata "$E2N_TMP/metadata.json"
run "$INST_NS" ip -batch - <<EOF || die "move out"
link set eth1 netns $VPC_NS
link set eth2 netns $VPC_NS
EOF
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?

attach() { run "$VPC_NS" ip link set "$1" netns "$INST_NS" && run "$INST_NS" ip link set "$1" up; }
detach() { run "$INST_NS" ip link set "$1" netns "$VPC_NS"; }
newlog() { tail -n +"$((LOG0 + 1))" "$E2N_TMP/ec2netd.log"; }

# --- 1. udev source, no udevd
e2n_daemon_start --log-level debug --uevent-source udev
grep -q 'Watching udev uevents' "$E2N_TMP/ec2netd.log" || fail "not watching udev: $(grep -i watching "$E2N_TMP/ec2netd.log")"
[[ $(e2n_rules_of "$INST_NS" 10000) == 2 ]] && e2n_log "ok: eth0 configured at startup without udevd" \
        || fail "eth0 not configured: $(ip -n "$INST_NS" rule show)"
LOG0=$(grep -c . "$E2N_TMP/ec2netd.log")
attach eth1
sleep 2
if newlog | grep -E 'udev: |uevent: '; then
        fail "an event reached the daemon with no udevd running"
elif [[ $(e2n_rules_of "$INST_NS" 10001) != 0 ]]; then
        fail "eth1 configured without an event: $(newlog)"
else
        e2n_log "ok: no event and eth1 left alone 2 s after it appeared (no udevd)"
fi
kill -HUP "$E2N_DAEMON_PID"
if ms=$(e2n_wait_for 5 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 2 ]]'); then
        e2n_log "ok: the full pass of SIGHUP configured eth1 ($ms ms)"
else
        fail "eth1 not configured by the full pass: $(ip -n "$INST_NS" rule show)"
fi
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"

# --- 2. udevd in the test's namespaces
cat >"$E2N_TMP/udevd-ns.sh" <<'EOF'
# udevd-ns.sh RULES LOG UDEVD ARGS...: the private mounts, then exec udevd
# with its stderr to LOG.
set -e
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]
rules=$1 log=$2
shift 2
mount -t tmpfs -o mode=0755,size=4m e2n-udev /run/udev
mount -t tmpfs -o mode=0755,size=1m e2n-udev /etc/udev
mount -t tmpfs -o mode=0755,size=1m e2n-udev /usr/lib/udev/rules.d
cp "$rules" /usr/lib/udev/rules.d/
mount -t tmpfs -o mode=0755,size=1m e2n-udev /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
mount -o remount,bind,ro /sys
[ "$(findmnt -no OPTIONS /sys | cut -d, -f1)" = ro ]
exec "$@" 2>>"$log"
EOF
run_bg "$INST_NS" unshare -m --propagation private -- bash "$E2N_TMP/udevd-ns.sh" \
        "$EC2NET_SOURCE_DIR/udev/99-ec2net.rules" "$E2N_TMP/udevd.log" \
        "$UDEVD" --resolve-names=never --children-max=2 --debug
UDEVD_PID=$E2N_LAST_PID
udevd_ready() { nsenter --mount="/proc/$UDEVD_PID/ns/mnt" test -S /run/udev/control; }
if ! e2n_wait_for 10 udevd_ready >/dev/null; then
        kill -0 "$UDEVD_PID" 2>/dev/null || die "systemd-udevd exited"
        die "systemd-udevd made no /run/udev/control"
fi
[[ ! -e /run/udev/control ]] || die "/run/udev/control appeared outside the test's mount namespace"
e2n_log "systemd-udevd running (pid $UDEVD_PID) in its own mount namespace"
stop_udevd() {
        kill -TERM "$UDEVD_PID" 2>/dev/null || return 0
        wait "$UDEVD_PID" 2>/dev/null
}
E2N_CLEANUP_HOOKS+=(stop_udevd)

# The daemon shares udevd's /run/udev, as on a real system (it reads udev's
# database to know whether udev has processed a link): a wrapper in place of
# the binary enters udevd's mount namespace.
mkdir -p "$E2N_TMP/udevns/daemon"
cat >"$E2N_TMP/udevns/daemon/ec2netd" <<EOF
#!/bin/bash
exec nsenter --mount=/proc/$UDEVD_PID/ns/mnt -- "$EC2NET_BUILD_DIR/daemon/ec2netd" "\$@"
EOF
chmod +x "$E2N_TMP/udevns/daemon/ec2netd"
EC2NET_BUILD_DIR="$E2N_TMP/udevns" e2n_daemon_start --log-level debug --uevent-source udev
LOG0=$(grep -c . "$E2N_TMP/ec2netd.log")
attach eth2
if ms=$(e2n_wait_for 10 eval '[[ $(e2n_rules_of "$INST_NS" 10002) == 2 ]]'); then
        e2n_log "ok: eth2 configured $ms ms after it appeared, with udevd"
else
        fail "eth2 not configured: $(ip -n "$INST_NS" rule show)"
fi
# after_udev_add IFNAME: the first change to IFNAME comes after udev's add event.
after_udev_add() {
        local ev ch
        ev=$(newlog | grep -nE "^udev: add $1 " | head -1 | cut -d: -f1)
        ch=$(newlog | grep -nE "^$1: [0-9]+ added" | head -1 | cut -d: -f1)
        newlog | grep -E "^(udev|uevent): |^$1: [0-9]+ added|^rtnetlink: message type 16 " | head -5
        if [[ -z "$ev" ]]; then
                fail "no 'udev: add $1'"
        elif [[ -z "$ch" || $ch -lt $ev ]]; then
                fail "$1 changed (log line ${ch:-none}) before udev's add event (line $ev)"
        else
                e2n_log "ok: $1 configured after udev's add event"
        fi
}
after_udev_add eth2
! newlog | grep -q '^uevent: ' || fail "a kernel uevent was used"
check expect_pings "$REMOTE_NS" 10.0.3.30 10.0.3.31
# Drift on a link udev has processed is still repaired.
run "$INST_NS" ip addr del 10.0.3.31/32 dev eth2
if ms=$(e2n_wait_for 5 eval 'ip -n "$INST_NS" addr show dev eth2 | grep -q "inet 10.0.3.31/32"'); then
        e2n_log "ok: a deleted address of eth2 is back after $ms ms"
else
        fail "the deleted address of eth2 is not back"
fi
LOG0=$(grep -c . "$E2N_TMP/ec2netd.log")
detach eth2
if ms=$(e2n_wait_for 10 eval '[[ $(e2n_rules_of "$INST_NS" 10002) == 0 ]]'); then
        e2n_log "ok: eth2's rules gone $ms ms after it left"
else
        fail "eth2's rules left: $(ip -n "$INST_NS" rule show)"
fi
newlog | grep -qE '^udev: remove eth2 ' && e2n_log "ok: from udev's remove event" || fail "no 'udev: remove eth2'"
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"

# --- 3. auto, where /run/udev/control exists
LOG0=$(grep -c . "$E2N_TMP/ec2netd.log")
EC2NET_BUILD_DIR="$E2N_TMP/udevns" e2n_daemon_start --log-level debug --uevent-source auto
newlog | grep -q 'Watching udev uevents' && e2n_log "ok: auto watches udev's events when udevd runs" \
        || fail "auto did not pick udev: $(newlog | grep -i watching)"
attach eth2
if ms=$(e2n_wait_for 10 eval '[[ $(e2n_rules_of "$INST_NS" 10002) == 2 ]]'); then
        e2n_log "ok: eth2 configured again $ms ms after it appeared"
else
        fail "eth2 not configured: $(ip -n "$INST_NS" rule show)"
fi
after_udev_add eth2
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"
stop_udevd
e2n_log "udevd handled $(grep -c 'Device processed' "$E2N_TMP/udevd.log" 2>/dev/null || echo '?') events"

e2n_finish "$E2N_TMP/ec2netd.log" 100
