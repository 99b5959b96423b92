#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The rt_protos.d entry names protocol 236 "ec2net" for ip(8): in a private mount and network
# namespace (nothing of the host is touched), with only this file in /etc/iproute2/rt_protos.d,
# a route and a rule added with protocol 236 are shown as "proto ec2net", and "proto ec2net"
# is accepted as input. Usage: test-rt-protos.sh ENTRY
source "$(dirname "$0")/lib.sh"

entry=$1
grep -Eq '^236[[:space:]]+ec2net[[:space:]]*$' "$entry" || die "$entry does not say '236 ec2net'"

need_root
need_cmd ip unshare
make_tmp_dir
mkdir -p "$TMP_DIR/rt_protos.d"
# iproute2 reads only the files of rt_protos.d whose names end in .conf.
cp "$entry" "$TMP_DIR/rt_protos.d/ec2net.conf"

echo "+ unshare -m -n: ip route/rule with proto 236" >&2
# shellcheck disable=SC2016
out=$(unshare -m -n --propagation private bash -euc '
        mkdir -p /etc/iproute2/rt_protos.d
        mount --bind "$1/rt_protos.d" /etc/iproute2/rt_protos.d
        ip link set lo up
        ip route add 192.0.2.0/24 dev lo table 10001 proto 236
        ip rule add from 192.0.2.1 lookup 10001 priority 10001 proto ec2net
        ip route show table 10001
        ip rule show priority 10001
' bash "$TMP_DIR" 2>&1) || die "ip failed: $out"
echo "$out"
grep -q '^192\.0\.2\.0/24 dev lo proto ec2net' <<<"$out" || die "route not shown with proto ec2net"
grep -q 'from 192\.0\.2\.1 lookup 10001 proto ec2net' <<<"$out" || die "rule not shown with proto ec2net"
