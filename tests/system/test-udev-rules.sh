#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The udev rules parse: "udevadm test" reads them, alone, in a private mount namespace (the
# system's rules directories and /run/udev are hidden behind empty ones, so nothing of the
# host is read or written), and reports no error for any line. The rules start nothing
# (no RUN, no SYSTEMD_WANTS) and leave a device of another driver (lo) unmarked.
# Usage: test-udev-rules.sh RULES
source "$(dirname "$0")/lib.sh"

rules=$1
name=$(basename "$rules")

! grep -Eq '^[^#]*(RUN|SYSTEMD_WANTS|SYSTEMD_USER_WANTS)' "$rules" ||
        die "$name starts something (RUN or SYSTEMD_WANTS)"
grep -Eq '^[^#]*DRIVERS=="ena\|ixgbevf\|vif"' "$rules" || die "$name does not match ena, ixgbevf and vif"

need_root
need_cmd udevadm unshare
make_tmp_dir
mkdir -p "$TMP_DIR/empty" "$TMP_DIR/rules.d"
cp "$rules" "$TMP_DIR/rules.d/"

echo "+ unshare -m: udevadm test --action=add /sys/class/net/lo with only $name" >&2
# shellcheck disable=SC2016
out=$(unshare -m --propagation private bash -euc '
        t=$1
        mount -t tmpfs tmpfs /run/udev 2>/dev/null || { mkdir -p /run/udev && mount -t tmpfs tmpfs /run/udev; }
        for d in /usr/lib/udev/rules.d /lib/udev/rules.d /usr/local/lib/udev/rules.d; do
                [[ -d $d ]] && mount --bind "$t/empty" "$d"
        done
        mount --bind "$t/rules.d" /etc/udev/rules.d
        udevadm test --action=add /sys/class/net/lo
' bash "$TMP_DIR" 2>&1) || die "udevadm test failed: $out"

grep -q "Reading rules file: /etc/udev/rules.d/$name" <<<"$out" || die "udevadm did not read $name: $out"
read_lines=$(grep 'rules\.d/' <<<"$out" | grep -v '^Reading rules file:' || true)
[[ -z "$read_lines" ]] || die "udevadm reports problems in the rules: $read_lines"
! grep -q '^EC2NET_ENI=' <<<"$out" || die "lo (no ENI driver) was marked EC2NET_ENI"
echo "ok: $name parses"
