#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-ctl-errors: every error path of ec2netctl and its ec2if* names.
#
# Exit 1, exactly one line on stderr naming the problem and the object,
# nothing on stdout, and nothing changed (e2n_kstate before == after, no down
# mark written):
#   - an unknown interface (up, down, status, and plan as before);
#   - an interface IMDS does not list (a veth of the instance, and lo);
#   - no CAP_NET_ADMIN (setpriv drops it from the bounding set): up, down,
#     scan, apply; status still works without it (exit 0);
#   - IMDS unreachable (an endpoint nothing listens on): up, down, scan, status.
# Exit 2 with the problem and a usage line on stderr, nothing on stdout: no
# verb, an unknown verb, up/down without IFACE (also as ec2ifup/ec2ifdown), an
# extra argument, an unknown option, an option the verb does not take.
# Exit 0 with "Usage: <name>" on stdout: --help of ec2netctl, of every verb
# (`ec2netctl VERB --help`) and of ec2ifup, ec2ifdown, ec2ifscan; --version
# prints the project's version.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=test-ctl-common.sh
source "$(dirname "$0")/test-ctl-common.sh"
command -v setpriv >/dev/null || die "setpriv (util-linux) not found"

vpc_init
vpc_subnet A 10.0.1.0/24
vpc_subnet B 10.0.2.0/24
vpc_eni eth0 0e:e2:00:00:08:00 A 0 -- 10.0.1.10 10.0.1.11
vpc_eni eth1 0e:e2:00:00:08:01 B 1 -- 10.0.2.20 10.0.2.21
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?
ctl_setup
ctl "$E2N_TMP/apply.out" ec2netctl apply >/dev/null || fail "apply failed"
# A link of the instance that IMDS does not list.
run "$INST_NS" ip link add extra0 type veth peer name extra1 || die "veth extra0"
N=0

# expect_error REGEX PROG ARG...: exit 1, one stderr line matching REGEX,
# nothing on stdout, nothing changed. ctl's common options unless RAW=1;
# WRAP=(...) runs PROG under a wrapper.
expect_error() {
        local re=$1 before after rc=0 out
        shift
        N=$((N + 1))
        out="$E2N_TMP/err.$N"
        before=$(e2n_kstate "$INST_NS"; find "$E2N_TMP/state" | sort)
        if [[ ${RAW:-0} == 1 ]]; then
                ctl_raw "$out" "$@" || rc=$?
        else
                ctl "$out" "$@" || rc=$?
        fi
        after=$(e2n_kstate "$INST_NS"; find "$E2N_TMP/state" | sort)
        local what="$*"
        what=${what//$E2N_TMP/\$TMP}
        [[ $rc == 1 ]] || { fail "$what: exit $rc, expected 1"; return; }
        [[ $(grep -c . "$out.err") == 1 ]] || { fail "$what: not one line on stderr"; return; }
        grep -qE "$re" "$out.err" || { fail "$what: stderr does not match /$re/"; return; }
        [[ ! -s "$out" ]] || { fail "$what: output on stdout"; return; }
        [[ "$before" == "$after" ]] || { fail "$what: something changed: $(diff <(echo "$before") <(echo "$after"))"; return; }
        ok "$what: exit 1, '$(cat "$out.err")', nothing changed"
}

# expect_usage REGEX PROG ARG...: exit 2, stderr matches REGEX and has a
# usage or help line, nothing on stdout.
expect_usage() {
        local re=$1 rc=0 out
        shift
        N=$((N + 1))
        out="$E2N_TMP/usage.$N"
        ctl_raw "$out" "$@" || rc=$?
        [[ $rc == 2 ]] || { fail "$*: exit $rc, expected 2"; return; }
        grep -qE "$re" "$out.err" || { fail "$*: stderr does not match /$re/"; return; }
        grep -qE "^(Usage: |Try '.* --help')" "$out.err" || { fail "$*: no usage line"; return; }
        [[ ! -s "$out" ]] || { fail "$*: output on stdout"; return; }
        ok "$*: exit 2, '$(head -1 "$out.err")'"
}

# expect_help PROG ARG...: exit 0, "Usage: PROG" on stdout, nothing on stderr.
expect_help() {
        local rc=0 out prog=$1
        N=$((N + 1))
        out="$E2N_TMP/help.$N"
        ctl_raw "$out" "$@" >/dev/null || rc=$?
        [[ $rc == 0 ]] || { fail "$*: exit $rc"; return; }
        grep -q "^Usage: $prog " "$out" || { fail "$*: no 'Usage: $prog' on stdout"; return; }
        [[ ! -s "$out.err" ]] || { fail "$*: output on stderr"; return; }
        ok "$*: exit 0, '$(head -1 "$out")'"
}

echo "=== unknown interface"
expect_error "^Unknown interface 'nosuch0'$" ec2netctl up nosuch0
expect_error "^Unknown interface 'nosuch0'$" ec2ifdown nosuch0
expect_error "^Unknown interface 'nosuch0'$" ec2netctl status nosuch0
expect_error "^Unknown interface 'nosuch0'$" ec2netctl plan nosuch0

echo "=== interface IMDS does not list"
expect_error "^Interface 'extra0' is not an ENI listed by IMDS$" ec2ifdown extra0
expect_error "^Interface 'extra0' is not an ENI listed by IMDS$" ec2ifup extra0
expect_error "^Interface 'lo' is not an ENI listed by IMDS$" ec2netctl down lo

echo "=== no CAP_NET_ADMIN"
CTL_WRAP=(setpriv --inh-caps=-net_admin --bounding-set=-net_admin --)
expect_error "^Permission denied: ec2ifdown needs CAP_NET_ADMIN to change the network, nothing changed$" ec2ifdown eth1
expect_error "^Permission denied: ec2ifup needs CAP_NET_ADMIN to change the network, nothing changed$" ec2ifup eth1
expect_error "^Permission denied: ec2ifscan needs CAP_NET_ADMIN to change the network, nothing changed$" ec2ifscan
expect_error "^Permission denied: ec2netctl apply needs CAP_NET_ADMIN to change the network, nothing changed$" ec2netctl apply
expect_error "^Permission denied: ec2netctl down needs CAP_NET_ADMIN to change the network, nothing changed$" ec2netctl down eth1
rc=0
ctl "$E2N_TMP/status-nocap" ec2netctl status >/dev/null || rc=$?
[[ $rc == 0 ]] && grep -q 'State: configured' "$E2N_TMP/status-nocap" \
        && ok "status works without CAP_NET_ADMIN" || fail "status without CAP_NET_ADMIN: exit $rc"
CTL_WRAP=()

echo "=== IMDS unreachable"
# Port 9 on loopback: nothing listens, the connection is refused.
BAD=(--config "$E2N_TMP/ec2net.conf" --imds-endpoint http://127.0.0.1:9 --state-dir "$E2N_TMP/state")
for v in "ec2ifdown eth1" "ec2ifup eth1" "ec2ifscan" "ec2netctl status" "ec2netctl down eth1"; do
        read -ra a <<<"$v"
        T0=$(date +%s%N)
        RAW=1 expect_error "^Cannot read IMDS, nothing changed: .*127\.0\.0\.1:9|^Cannot read IMDS, nothing changed: " \
                "${a[0]}" "${BAD[@]}" "${a[@]:1}"
        e2n_log "    ($v gave up after $((($(date +%s%N) - T0) / 1000000)) ms)"
done

echo "=== bad usage"
expect_usage "missing verb" ec2netctl
expect_usage "unknown verb 'frobnicate'" ec2netctl frobnicate
expect_usage "missing IFACE" ec2netctl up
expect_usage "missing IFACE" ec2netctl down
expect_usage "missing IFACE" ec2ifup
expect_usage "missing IFACE" ec2ifdown --force
expect_usage "unexpected argument 'eth1'" ec2netctl scan eth1
expect_usage "unexpected argument 'eth1'" ec2ifscan eth1
expect_usage "unexpected argument 'eth2'" ec2ifdown eth1 eth2
expect_usage "unknown option or missing argument '--bogus'" ec2netctl --bogus status
expect_usage "unknown option or missing argument '-x'" ec2ifup -x eth1
expect_usage "unknown option '--force'" ec2netctl up --force eth1
expect_usage "unknown option '--json'" ec2ifscan --json
expect_usage "missing argument|--config" ec2netctl status --config

echo "=== --help and --version"
expect_help ec2netctl --help
for v in status metadata plan apply up down scan; do
        expect_help ec2netctl "$v" --help
done
expect_help ec2ifup --help
expect_help ec2ifdown --help
expect_help ec2ifscan -h
grep -q -- '--force' "$E2N_TMP/help.$((N - 1))" && ok "ec2ifdown --help names --force" \
        || fail "ec2ifdown --help does not name --force"
VERSION=$(meson introspect --projectinfo "$EC2NET_BUILD_DIR" 2>/dev/null \
        | "${PY[@]}" -c 'import json,sys; print(json.load(sys.stdin)["version"])') || VERSION=""
for p in ec2netctl ec2ifdown; do
        out=$(ip netns exec "$INST_NS" "$E2N_TMP/bin/$p" --version)
        rc=$?
        if [[ $rc == 0 && -n "$VERSION" && "$out" == "$p $VERSION" ]]; then
                ok "$p --version: '$out'"
        else
                fail "$p --version: exit $rc, '$out' (project version '$VERSION')"
        fi
done

ctl_finish
