#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The built ec2netd.service passes "systemd-analyze verify" with no output at all, and
# "systemd-analyze security --offline=yes" rates its exposure at most 2.0.
# Usage: test-unit-file.sh UNIT [MANPAGE...]
# ExecStart= is pointed at /bin/true, which exists everywhere, so the checks do not depend on
# ec2netd being installed. With the man pages given, verify also checks Documentation= against
# them; without, it skips that part (--man=no).
source "$(dirname "$0")/lib.sh"

MAX_EXPOSURE=2.0

unit=$1
shift
need_cmd systemd-analyze
make_tmp_dir

sed -E 's|^ExecStart=.*|ExecStart=/bin/true|' "$unit" >"$TMP_DIR/ec2netd.service"
grep -q '^ExecStart=/bin/true$' "$TMP_DIR/ec2netd.service" || die "no ExecStart= in $unit"

man_opt=--man=no
if (($# > 0)); then
        for page in "$@"; do
                name=$(basename "$page")
                mkdir -p "$TMP_DIR/man/man${name##*.}"
                cp "$page" "$TMP_DIR/man/man${name##*.}/"
        done
        man_opt=--man=yes
        export MANPATH=$TMP_DIR/man
fi

echo "+ systemd-analyze verify $man_opt ec2netd.service" >&2
out=$(cd "$TMP_DIR" && systemd-analyze verify "$man_opt" ./ec2netd.service 2>&1) ||
        die "systemd-analyze verify failed: $out"
[[ -z "$out" ]] || die "systemd-analyze verify printed: $out"
echo "verify: no output"

echo "+ systemd-analyze security --offline=yes ec2netd.service" >&2
out=$(cd "$TMP_DIR" && systemd-analyze security --offline=yes --no-pager ./ec2netd.service 2>&1) ||
        die "systemd-analyze security failed: $out"
score=$(sed -n 's/.*Overall exposure level for ec2netd\.service: \([0-9.]*\).*/\1/p' <<<"$out")
[[ -n "$score" ]] || die "no exposure level in: $out"
echo "exposure: $score (at most $MAX_EXPOSURE)"
grep '✗' <<<"$out" || true
awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' ||
        die "exposure $score is above $MAX_EXPOSURE"
