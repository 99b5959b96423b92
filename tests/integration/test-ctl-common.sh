#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# test-ctl-common.sh: what the test-ctl-*.sh tests share (sourced; not a test
# itself). Sources lib.sh (which installs the cleanup trap), checks root, and
# gives:
#   CTL                          the built ec2netctl
#   ctl_setup                    after vpc_init: $E2N_TMP/bin/{ec2netctl,ec2ifup,
#                                ec2ifdown,ec2ifscan} (symlinks, as installed),
#                                an empty config, the state directory
#   ctl OUT PROG ARG...          PROG (ec2netctl, ec2ifup, ...) in the instance
#                                with the test's config, the fake IMDS and state
#                                directory; stdout to OUT, stderr to OUT.err, both
#                                shown; returns PROG's exit code
#   ctl_raw OUT PROG ARG...      the same without the common options
#   CTL_WRAP=(CMD...)            run PROG under CMD (e.g. setpriv ... --)
#   check CMD... / fail MSG      count failures in FAILED
#   ctl_finish                   print the result and exit

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
        echo "test-ctl-common.sh is sourced by the test-ctl-*.sh tests; nothing to run"
        exit 0
fi

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root

CTL="$EC2NET_BUILD_DIR/tools/ec2netctl"
[[ -x "$CTL" ]] || die "ec2netctl not built: $CTL"

FAILED=0
CTL_WRAP=()
check() { "$@" || FAILED=$((FAILED + 1)); }
fail() {
        e2n_fail "$*"
        FAILED=$((FAILED + 1))
}
ok() { e2n_log "ok: $*"; }

ctl_setup() {
        local n
        mkdir -p "$E2N_TMP/bin" "$E2N_TMP/state" || die "mkdir"
        for n in ec2netctl ec2ifup ec2ifdown ec2ifscan; do
                ln -sf "$CTL" "$E2N_TMP/bin/$n" || die "symlink $n"
        done
        : >"$E2N_TMP/ec2net.conf"
}

ctl_raw() {
        local out=$1 prog=$2 rc
        shift 2
        local cmd=("${CTL_WRAP[@]}" "$E2N_TMP/bin/$prog" "$@")
        printf '+ [%s] %s\n' "$(e2n_label "$INST_NS")" "$(printf '%q ' "${cmd[@]}")"
        ip netns exec "$INST_NS" "${cmd[@]}" >"$out" 2>"$out.err"
        rc=$?
        sed 's/^/    | /' "$out" "$out.err"
        printf '    (exit %s)\n' "$rc"
        return "$rc"
}

ctl() {
        local out=$1 prog=$2
        shift 2
        ctl_raw "$out" "$prog" --config "$E2N_TMP/ec2net.conf" --imds-endpoint "http://$IMDS4" \
                --state-dir "$E2N_TMP/state" "$@"
}

ctl_finish() {
        if ((FAILED)); then
                if [[ -n "$E2N_DAEMON_PID" || -s "$E2N_TMP/ec2netd.log" ]]; then
                        echo "--- ec2netd log"
                        cat "$E2N_TMP/ec2netd.log" 2>/dev/null
                fi
                echo "FAILED: $FAILED checks"
                exit 1
        fi
        echo "PASS"
        exit 0
}
