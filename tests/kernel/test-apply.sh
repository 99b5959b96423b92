#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs test-apply-netns (observe + apply against a real kernel) inside a network namespace of
# its own, with two veth pairs and a few foreign objects, and removes the namespace on any
# exit. Nothing here touches the root namespace: every command is `ip -n $NS` or runs under
# `ip netns exec $NS`.
set -euo pipefail

bin=${1:?usage: test-apply.sh TEST-BINARY}

if [[ $(id -u) -ne 0 ]]; then
	if [[ -n "${CI:-}" ]]; then
		echo "ERROR: this test needs root, and in CI a skip is a failure" >&2
		exit 1
	fi
	echo "SKIP: this test needs root" >&2
	exit 77
fi

NS=e2nk$$
cleanup() {
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

run() {
	echo "+ [$NS] $*" >&2
	"$@"
}

run ip netns add "$NS"
run ip -n "$NS" link add v0a type veth peer name v0b
run ip -n "$NS" link add v1a type veth peer name v1b
run ip -n "$NS" link set v0b up
run ip -n "$NS" link set v1b up
# Foreign objects: no proto on the command line (routes get 'boot', rules none).
run ip -n "$NS" route add 10.9.0.0/16 dev v0b table 10001
run ip -n "$NS" rule add from 10.0.1.99 lookup 10001 priority 10001
# Twins of what ec2net might delete, with another owner.
run ip -n "$NS" route add 10.0.7.0/24 dev v0b table 10002
run ip -n "$NS" rule add from 10.0.7.7 lookup 10002 priority 10002
# What the model cannot represent: observe must skip and count these.
run ip -n "$NS" route add 10.8.0.0/16 table 10004 \
	nexthop dev v0b nexthop dev v1b
run ip -n "$NS" rule add iif v0b lookup 10004 priority 10004

rc=0
EC2NET_TEST_NETNS=$NS run ip netns exec "$NS" "$bin" || rc=$?

# Seen from outside: the foreign objects survived every delete the test made. The output is
# captured first: with pipefail, 'ip ... | grep -q' fails when grep exits early and ip gets
# SIGPIPE, which made this test fail about one run in six.
has() { # has PATTERN CMD...: CMD's output has a line matching PATTERN
	local pat=$1 out
	shift
	out=$("$@") || return 1
	grep -q -- "$pat" <<<"$out"
}
has '^10.9.0.0/16 dev v0b' run ip -n "$NS" route show table 10001 || {
	echo "foreign route in table 10001 is gone" >&2
	rc=1
}
has 'from 10.0.1.99 lookup 10001' run ip -n "$NS" rule show || {
	echo "foreign rule is gone" >&2
	rc=1
}
has '^10.0.7.0/24 dev v0b' run ip -n "$NS" route show table 10002 || {
	echo "foreign twin route in table 10002 is gone" >&2
	rc=1
}
# And nothing of ours is left behind.
if has 'proto 236\|proto ec2net' ip -n "$NS" rule show; then
	echo "rules with proto 236 left behind:" >&2
	ip -n "$NS" rule show >&2
	rc=1
fi
exit $rc
