# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034 # variables and tables are for the tests that source this
#
# lib.sh: the test world for ec2net's integration tests (suite "netns").
#
# A simulated EC2 instance and VPC built from network namespaces:
#
#   remote host ns ── "internet" 198.51.100.0/24, 2001:db8:ff::/64 ──┐
#                                                                    │
#   router ns "vpc" (forwarding; one bridge per subnet with the      │
#   gateway base+1, subnet ::1 and fe80:ec2::1; static neighbours    ┘
#   for ENI addresses; a source/destination check per ENI port
#   (nftables netdev ingress, with a drop counter); 1:1 NAT for
#   Elastic IPs)
#      │ bridge port per ENI (veth)         │ bridge port per host (veth)
#   instance ns (ENIs eth0.., fake IMDS,    host namespaces
#   optional Docker-like bridge and container ns)
#
# Usage: source this file, call need_root, then describe the topology:
#
#   vpc_init
#   vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
#   vpc_eni eth0 0e:00:00:00:01:00 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
#   vpc_host hostA A 10.0.1.50 2001:db8:1::50
#   vpc_dhcp_primary
#   vpc_metadata "$E2N_TMP/md.json" && vpc_start_imds "$E2N_TMP/md.json"
#   expect_ping "$REMOTE_NS" 10.0.1.10
#
# The same description drives the namespaces and the metadata that the fake
# IMDS serves. The functions (each documented where it is defined):
#
#   need_root                      skip (77) unless root; in CI ($CI set) fail
#   run NS CMD... / run_quiet / run_bg / run_nft NS SCRIPT
#                                  print the command and its namespace, run it there
#   vpc_init                       router, instance and remote host namespaces
#   vpc_subnet NAME CIDR4 [CIDR6]  a subnet: bridge + gateway in the router
#   vpc_eni IFNAME MAC SUBNET DEV [CARD] -- ADDR4... [-6 ADDR6...]
#           [--eip PUB=PRIV] [--prefix4 P] [--prefix6 P]
#                                  an ENI, with the VPC's source check
#   vpc_eni_assign / vpc_eni_unassign / vpc_eni_detach
#                                  the VPC side of changing or detaching an ENI
#   vpc_host NAME SUBNET ADDR4 [ADDR6]   a host in a subnet (HOST_NS[NAME])
#   vpc_container                  docker0 + container (CONTAINER_NS) in the instance
#   vpc_dhcp_primary               the state a distribution's DHCP client leaves
#   vpc_metadata FILE              the metadata tree, {"meta-data": {...}}
#   vpc_start_imds FILE            the fake IMDS on 169.254.169.254:80 in the instance
#   vpc_srccheck_drops [IFNAME]    packets the source check dropped
#   expect_ping / expect_no_ping FROM_NS DEST [SRC]
#   expect_pings / expect_no_pings FROM_NS [-I SRC] DEST...   (in parallel)
#   vpc_tcp_listen NS PORT; expect_tcp FROM_NS DEST PORT [SRC [SEEN_FROM]]
#   vpc_cleanup                    tear everything down (the EXIT trap does it)
#   vpc_imds_update [FILE]         rewrite the metadata, give it to the running fake IMDS
#   e2n_imds_ctl OP [JSON]         a control request to the fake IMDS (faults, modes)
#   e2n_kstate NS                  links, addresses, rules, routes of NS, normalised
#   e2n_monitor_start NS / e2n_monitor_stop
#                                  the netlink events of NS in between (printed)
#   e2n_parallel CMD... [-- CMD...]...   several checks at once, output in order
#   expect_pings_batch / expect_no_pings_batch FROM_NS [-I SRC] DEST...
#                                  expect_pings with one ip netns exec for all
#   e2n_daemon_start [ARGS] / e2n_daemon_stop / e2n_daemon_kill9
#                                  ec2netd in the instance (E2N_DAEMON_WRAPPER:
#                                  e.g. valgrind in front; E2N_TIME_SCALE)
#   e2n_daemon_fds / e2n_daemon_rss / e2n_state_stamp / e2n_daemon_wait_pass SECS
#                                  the daemon's descriptors, RSS, passes
#   e2n_imds_ctl OP [BODY] / e2n_imds_log   the fake IMDS's control API
#   e2n_rules_of NS TABLE / e2n_rule_dups NS / e2n_wait_for SECS CMD...
#
# Namespaces: INST_NS, VPC_NS, REMOTE_NS, CONTAINER_NS, HOST_NS[NAME]; the
# remote host is REMOTE4/REMOTE6. The description is kept in E2N_ENIS,
# ENI_MAC/SUBNET/DEV/CARD/ADDR4/ADDR6/PREFIX4/PREFIX6/EIPS/PORT[IFNAME],
# E2N_SUBNETS, SUBNET_CIDR4/CIDR6/GW4/GW6/BR[NAME].
#
# NETWORK SAFETY: nothing here touches the root network namespace. Every
# ip/nft/sysctl/ping runs through run() (ip netns exec NS ...), which refuses any
# namespace that this process did not create. A cleanup trap (EXIT INT TERM) is
# installed when this file is sourced, before anything is created: it kills the
# processes started here and deletes every namespace made here (which deletes
# their veths).

if [[ -n "${E2N_LIB_SOURCED:-}" ]]; then
        return 0
fi
E2N_LIB_SOURCED=1

: "${EC2NET_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${EC2NET_BUILD_DIR:=$EC2NET_SOURCE_DIR/build}"
export EC2NET_SOURCE_DIR EC2NET_BUILD_DIR

# Names unique to this process.
E2N_PREFIX="e2n$$-"
INST_NS="${E2N_PREFIX}inst"
VPC_NS="${E2N_PREFIX}vpc"
REMOTE_NS="${E2N_PREFIX}remote"
CONTAINER_NS="${E2N_PREFIX}ctr"

# The "internet" behind the router, where the remote host lives.
REMOTE_NET4=198.51.100.0/24
REMOTE_GW4=198.51.100.1
REMOTE4=198.51.100.2
REMOTE_NET6=2001:db8:ff::/64
REMOTE_GW6=2001:db8:ff::1
REMOTE6=2001:db8:ff::2

# VPC-wide CIDRs, for the metadata only (vpc-ipv4-cidr-block(s), vpc-ipv6-cidr-blocks).
: "${VPC_CIDR4:=10.0.0.0/16}"
: "${VPC_CIDR6:=}"
VPC_GW6_LL=fe80:ec2::1
IMDS4=169.254.169.254

# rp_filter of the instance: 2 (loose) is what systemd's 50-default.conf sets on
# most distributions, Amazon Linux 2023 included. Strict (1) would drop the
# asymmetric traffic of the "without ec2net" case before the VPC's source check
# sees it.
: "${E2N_INSTANCE_RP_FILTER:=2}"
CONTAINER4=172.17.0.2
CONTAINER_GW4=172.17.0.1
VPC_MTU=9001

E2N_NAMESPACES=()
E2N_PIDS=()
E2N_CLEANUP_HOOKS=()
E2N_TMP=""
E2N_IMDS_PID=""

E2N_SUBNETS=()
declare -A SUBNET_CIDR4=() SUBNET_CIDR6=() SUBNET_GW4=() SUBNET_GW6=() SUBNET_BR=()
E2N_ENIS=()
E2N_DETACHED=()
declare -A ENI_MAC=() ENI_SUBNET=() ENI_DEV=() ENI_CARD=() ENI_ADDR4=() ENI_ADDR6=()
declare -A ENI_PREFIX4=() ENI_PREFIX6=() ENI_EIPS=() ENI_PORT=()
E2N_HOSTS=()
declare -A HOST_NS=() HOST_SUBNET=() HOST_ADDR4=() HOST_ADDR6=()
E2N_NPORTS=0

# ---------------------------------------------------------------------------
# Basics

e2n_log() { printf '%s\n' "$*"; }
e2n_fail() { printf 'FAIL: %s\n' "$*"; }

# Counting checks: `check CMD...` counts CMD failing, `fail MSG` prints and counts a
# failure; e2n_finish [LOG [LINES]] ends the test: on failures it prints the last LINES
# (200) of LOG (the daemon's log by default; rtnetlink debug chatter left out) and exits 1
# with the count (and $E2N_FAIL_NOTE, e.g. a seed), otherwise it prints PASS.
FAILED=0
check() { "$@" || FAILED=$((FAILED + 1)); }
fail() { e2n_fail "$*"; FAILED=$((FAILED + 1)); }
e2n_finish() {
        local log=${1:-$E2N_TMP/ec2netd.log} lines=${2:-200}
        if ((FAILED == 0)); then
                echo "PASS"
                exit 0
        fi
        if [[ -f $log ]]; then
                echo "--- $(basename "$log") (last $lines lines)"
                grep -v 'rtnetlink: message' "$log" | tail -n "$lines"
        fi
        echo "FAILED: $FAILED checks${E2N_FAIL_NOTE:+ ($E2N_FAIL_NOTE)}"
        exit 1
}
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

need_root() {
        if [[ $(id -u) -ne 0 ]]; then
                if [[ -n "${CI:-}" ]]; then
                        echo "ERROR: this test needs root, and in CI a skip is a failure" >&2
                        exit 1
                fi
                echo "SKIP: this test needs root"
                exit 77
        fi
        local t
        for t in ip nft python3 ping; do
                command -v "$t" >/dev/null || die "$t not found"
        done
}

# The interpreter itself, not a wrapper (a pyenv shim costs 0.3 s a start);
# our own snippets need only the standard library, so -S (no site) as well.
E2N_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || E2N_PYTHON=python3
PY=("$E2N_PYTHON" -S)

e2n_is_ours() {
        local ns=$1 n
        for n in "${E2N_NAMESPACES[@]}"; do
                [[ $n == "$ns" ]] && return 0
        done
        return 1
}

# Short label of a namespace for the log: "e2n123-inst" -> "inst".
e2n_label() { printf '%s' "${1#"$E2N_PREFIX"}"; }

# run NS CMD...: print the command with its namespace, then run it there.
run() {
        local ns=$1
        shift
        e2n_is_ours "$ns" || die "run: '$ns' is not a namespace of this test"
        printf '+ [%s] %s\n' "$(e2n_label "$ns")" "$(printf '%q ' "$@")"
        ip netns exec "$ns" "$@"
}

# run_quiet NS CMD...: the same, the command's own output discarded.
run_quiet() {
        local ns=$1
        shift
        e2n_is_ours "$ns" || die "run_quiet: '$ns' is not a namespace of this test"
        printf '+ [%s] %s\n' "$(e2n_label "$ns")" "$(printf '%q ' "$@")"
        ip netns exec "$ns" "$@" >/dev/null 2>&1
}

# run_nft NS SCRIPT: print an nft script and load it in NS.
run_nft() {
        local ns=$1 script=$2
        e2n_is_ours "$ns" || die "run_nft: '$ns' is not a namespace of this test"
        printf '+ [%s] nft -f - <<EOF\n%s\nEOF\n' "$(e2n_label "$ns")" "$script"
        ip netns exec "$ns" nft -f - <<<"$script"
}

# run_bg NS CMD...: start CMD in NS in the background; the pid is in E2N_LAST_PID
# and is killed by the cleanup.
run_bg() {
        local ns=$1
        shift
        e2n_is_ours "$ns" || die "run_bg: '$ns' is not a namespace of this test"
        printf '+ [%s] %s &\n' "$(e2n_label "$ns")" "$(printf '%q ' "$@")"
        ip netns exec "$ns" "$@" &
        E2N_LAST_PID=$!
        E2N_PIDS+=("$E2N_LAST_PID")
}

# vpc_cleanup: kill the processes started here, delete every namespace made
# here (their veths go with them) and the scratch directory. Idempotent; also
# run by the EXIT trap, after the hooks in E2N_CLEANUP_HOOKS (last first).
vpc_cleanup() {
        local pid ns i
        for ((i = ${#E2N_CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do
                "${E2N_CLEANUP_HOOKS[i]}" || true
        done
        E2N_CLEANUP_HOOKS=()
        for pid in "${E2N_PIDS[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        for pid in "${E2N_PIDS[@]}"; do
                wait "$pid" 2>/dev/null || true
        done
        E2N_PIDS=()
        for ((i = ${#E2N_NAMESPACES[@]} - 1; i >= 0; i--)); do
                ns=${E2N_NAMESPACES[i]}
                ip netns delete "$ns" 2>/dev/null || true
        done
        E2N_NAMESPACES=()
        if [[ -n "$E2N_TMP" && -d "$E2N_TMP" ]]; then
                rm -rf -- "$E2N_TMP"
        fi
        E2N_TMP=""
}

e2n_on_exit() {
        local rc=$?
        trap - EXIT INT TERM
        vpc_cleanup
        exit "$rc"
}

trap e2n_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# e2n_ns_add NAME: create a namespace and give it the common settings.
e2n_ns_add() {
        local ns=$1
        printf '+ ip netns add %s\n' "$ns"
        ip netns add "$ns" || die "cannot create namespace $ns"
        E2N_NAMESPACES+=("$ns")
        run "$ns" ip link set lo up
        # Addresses usable at once: no duplicate address detection.
        run_quiet "$ns" sysctl -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
                || die "sysctl accept_dad in $ns"
        # IPv4 devconf of a new namespace is inherited from the root namespace:
        # state rp_filter explicitly so that results do not depend on the host.
        run_quiet "$ns" sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
                || die "sysctl rp_filter in $ns"
}

# ---------------------------------------------------------------------------
# Address arithmetic (python3, no network)

# e2n_ipcalc EXPR ARGS...: small helpers.
#   gw4 CIDR    -> base+1          gw6 CIDR -> base::1
#   len CIDR    -> prefix length   net CIDR -> canonical network
#   ll MAC      -> EUI-64 link-local address for MAC
e2n_ipcalc() {
        "${PY[@]}" - "$@" <<'EOF'
import ipaddress, sys
op, arg = sys.argv[1], sys.argv[2]
if op in ("gw4", "gw6"):
    print(ipaddress.ip_network(arg, strict=False).network_address + 1)
elif op == "len":
    print(ipaddress.ip_network(arg, strict=False).prefixlen)
elif op == "net":
    print(ipaddress.ip_network(arg, strict=False))
elif op == "ll":
    b = bytearray(int(x, 16) for x in arg.split(":"))
    b[0] ^= 2
    eui = bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])
    print(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui))
EOF
}

# ---------------------------------------------------------------------------
# Topology

# vpc_init: instance ns, router ns, remote host ns on the "internet" network.
vpc_init() {
        [[ -z "$E2N_TMP" ]] || die "vpc_init called twice"
        E2N_TMP=$(mktemp -d "${TMPDIR:-/tmp}/e2n$$.XXXXXX") || die "mktemp"
        e2n_log "== namespaces: prefix $E2N_PREFIX, scratch $E2N_TMP"

        e2n_ns_add "$VPC_NS"
        e2n_ns_add "$INST_NS"
        e2n_ns_add "$REMOTE_NS"

        # The instance, as a distribution leaves it: loose rp_filter (see above),
        # no DAD (ec2-net-utils turns it off too).
        run_quiet "$INST_NS" sysctl -w net.ipv4.conf.all.rp_filter="$E2N_INSTANCE_RP_FILTER" \
                net.ipv4.conf.default.rp_filter="$E2N_INSTANCE_RP_FILTER" || die "sysctl rp_filter"

        # The router: forwarding, no redirects (a VPC sends none), and bridged
        # frames kept out of the IP hooks (br_netfilter may be loaded by the host).
        run_quiet "$VPC_NS" sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
                net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
                || die "sysctl forwarding in router"
        local k
        for k in bridge-nf-call-iptables bridge-nf-call-ip6tables bridge-nf-call-arptables; do
                if ip netns exec "$VPC_NS" test -e "/proc/sys/net/bridge/$k"; then
                        run_quiet "$VPC_NS" sysctl -w "net.bridge.$k=0"
                fi
        done

        # The internet link.
        run "$VPC_NS" ip link add inet0 type veth peer name eth0 netns "$REMOTE_NS" || die "veth inet"
        run "$VPC_NS" ip addr add "$REMOTE_GW4/24" dev inet0
        run "$VPC_NS" ip addr add "$REMOTE_GW6/64" dev inet0
        run "$VPC_NS" ip link set inet0 up
        run "$REMOTE_NS" ip addr add "$REMOTE4/24" dev eth0
        run "$REMOTE_NS" ip addr add "$REMOTE6/64" dev eth0
        run "$REMOTE_NS" ip link set eth0 up
        run "$REMOTE_NS" ip route add default via "$REMOTE_GW4"
        run "$REMOTE_NS" ip -6 route add default via "$REMOTE_GW6"

        # Router nftables: per ENI port (added by vpc_eni) the source/destination
        # check and ARP delivery only to the ENI that owns the target address;
        # Elastic IP NAT; no ICMP redirects.
        run_nft "$VPC_NS" "table netdev e2n_srccheck {
}
table ip e2n_nat {
        chain pre { type nat hook prerouting priority dstnat; policy accept; }
        chain post { type nat hook postrouting priority srcnat; policy accept; }
}
table inet e2n_router {
        chain out { type filter hook output priority 0; policy accept;
                icmp type redirect drop
                icmpv6 type nd-redirect drop
        }
}" || die "router nftables"
}

# vpc_subnet NAME CIDR4 [CIDR6]: a bridge in the router with the gateway
# (base+1) and, for IPv6, subnet ::1 and fe80:ec2::1.
vpc_subnet() {
        local name=$1 cidr4=$2 cidr6=${3:-} br="br-$1" gw4 gw6="" len
        [[ ${#br} -le 15 ]] || die "vpc_subnet: name too long: $name"
        cidr4=$(e2n_ipcalc net "$cidr4")
        gw4=$(e2n_ipcalc gw4 "$cidr4")
        len=${cidr4#*/}
        E2N_SUBNETS+=("$name")
        SUBNET_CIDR4[$name]=$cidr4
        SUBNET_GW4[$name]=$gw4
        SUBNET_BR[$name]=$br
        # A fixed MAC: a bridge otherwise takes the lowest MAC of its ports and
        # changes it as ports come and go.
        local mac
        mac=$(printf '02:e2:ff:00:%02x:01' "${#E2N_SUBNETS[@]}")
        run "$VPC_NS" ip link add "$br" address "$mac" mtu "$VPC_MTU" type bridge mcast_snooping 0 \
                || die "bridge $br"
        run "$VPC_NS" ip addr add "$gw4/$len" dev "$br"
        if [[ -n "$cidr6" ]]; then
                cidr6=$(e2n_ipcalc net "$cidr6")
                gw6=$(e2n_ipcalc gw6 "$cidr6")
                SUBNET_CIDR6[$name]=$cidr6
                SUBNET_GW6[$name]=$gw6
                run "$VPC_NS" ip addr add "$gw6/${cidr6#*/}" dev "$br"
                run "$VPC_NS" ip addr add "$VPC_GW6_LL/64" dev "$br"
        fi
        run "$VPC_NS" ip link set "$br" up
}

# e2n_port_add NS IFNAME MAC SUBNET: a veth whose one end IFNAME (with MAC, or
# a random one when MAC is "") is in NS and whose other end is a new port of
# the subnet's bridge in the router. Sets E2N_PORT to the port's name.
e2n_port_add() {
        local ns=$1 ifname=$2 mac=$3 subnet=$4 port
        E2N_NPORTS=$((E2N_NPORTS + 1))
        port="rp$E2N_NPORTS"
        local peer=(name "$ifname")
        [[ -n "$mac" ]] && peer+=(address "$mac")
        run "$VPC_NS" ip link add "$port" mtu "$VPC_MTU" type veth peer "${peer[@]}" netns "$ns" \
                || die "veth $port/$ifname"
        run "$VPC_NS" ip link set "$port" master "${SUBNET_BR[$subnet]}" || die "port $port"
        run "$VPC_NS" ip link set "$port" up
        E2N_PORT=$port
}

e2n_join() { local IFS=$1; shift; printf '%s' "$*"; }

# vpc_eni IFNAME MAC SUBNET DEVICE_NUMBER [CARD] -- ADDR4... [-6 ADDR6...]
#         [--eip PUBLIC=PRIVATE] [--prefix4 P] [--prefix6 P]
# An ENI: a veth whose end IFNAME (with MAC) is in the instance, left down (see
# vpc_dhcp_primary), and whose other end is a port of the subnet's bridge. The
# first IPv4 is the primary. On the router, for the port (ENI_PORT[IFNAME]):
#  * static neighbours for every address (the VPC knows which ENI owns what);
#  * routes for delegated prefixes, via the ENI's primary IPv4 / its EUI-64
#    link-local address;
#  * in table netdev e2n_srccheck: sets own4_PORT and own6_PORT (the addresses
#    and prefixes the ENI owns), chain check_PORT on the port's ingress that
#    drops IPv4/IPv6 packets from any other source (ARP, link-local, :: and
#    neighbour discovery pass) and counts them in counter drop_PORT, and chain
#    arp_PORT on its egress that delivers ARP requests only for owned addresses;
#  * for each Elastic IP, DNAT public->private and SNAT private->public to the
#    internet.
vpc_eni() {
        local ifname=$1 mac=$2 subnet=$3 dev=$4 card=""
        shift 4
        if [[ $# -gt 0 && $1 != -- ]]; then
                card=$1
                shift
        fi
        [[ ${1:-} == -- ]] || die "vpc_eni: expected -- before the addresses"
        shift
        [[ -n "${SUBNET_BR[$subnet]:-}" ]] || die "vpc_eni: unknown subnet $subnet"
        [[ -z "${ENI_MAC[$ifname]:-}" ]] || die "vpc_eni: $ifname exists"
        mac=${mac,,}
        E2N_ENIS+=("$ifname")
        ENI_MAC[$ifname]=$mac
        ENI_SUBNET[$ifname]=$subnet
        ENI_DEV[$ifname]=$dev
        ENI_CARD[$ifname]=$card
        ENI_ADDR4[$ifname]=""
        ENI_ADDR6[$ifname]=""
        ENI_PREFIX4[$ifname]=""
        ENI_PREFIX6[$ifname]=""
        ENI_EIPS[$ifname]=""

        local port
        e2n_port_add "$INST_NS" "$ifname" "$mac" "$subnet"
        port=$E2N_PORT
        ENI_PORT[$ifname]=$port
        run_nft "$VPC_NS" "table netdev e2n_srccheck {
        set own4_$port { type ipv4_addr; flags interval; }
        set own6_$port { type ipv6_addr; flags interval; }
        counter drop_$port { }
        chain check_$port {
                type filter hook ingress device \"$port\" priority 0; policy accept;
                meta protocol arp accept
                meta protocol ip ip saddr @own4_$port accept
                meta protocol ip6 ip6 saddr @own6_$port accept
                meta protocol ip6 ip6 saddr { ::, fe80::/10 } accept
                meta protocol ip6 icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept
                meta protocol { ip, ip6 } counter name drop_$port drop
        }
        chain arp_$port {
                type filter hook egress device \"$port\" priority 0; policy accept;
                arp operation request arp daddr ip != @own4_$port drop
        }
}" || die "source check for $ifname"
        vpc_eni_assign "$ifname" "$@"
}

# vpc_eni_assign IFNAME ADDR4... [-6 ADDR6...] [--eip PUBLIC=PRIVATE]
#         [--prefix4 P] [--prefix6 P]
# The VPC side of assigning more addresses to an ENI (the instance is not
# touched; rewrite the metadata with vpc_metadata).
vpc_eni_assign() {
        local ifname=$1 fam=4 a br port new4=() new6=() neigh=""
        shift
        port=${ENI_PORT[$ifname]:-}
        [[ -n "$port" ]] || die "vpc_eni_assign: unknown ENI $ifname"
        br=${SUBNET_BR[${ENI_SUBNET[$ifname]}]}
        while [[ $# -gt 0 ]]; do
                case $1 in
                -6) fam=6 ;;
                -4) fam=4 ;;
                --eip)
                        local pub=${2%%=*} priv=${2#*=}
                        ENI_EIPS[$ifname]+="${ENI_EIPS[$ifname]:+ }$2"
                        run_nft "$VPC_NS" "add rule ip e2n_nat pre ip daddr $pub dnat to $priv
add rule ip e2n_nat post ip saddr $priv oifname \"inet0\" snat to $pub" || die "EIP $2"
                        shift ;;
                --prefix4)
                        a=$2
                        local primary
                        read -r primary _ <<<"${ENI_ADDR4[$ifname]}"
                        [[ -n "$primary" ]] || die "vpc_eni_assign: --prefix4 needs an IPv4 address first"
                        ENI_PREFIX4[$ifname]+="${ENI_PREFIX4[$ifname]:+ }$a"
                        run "$VPC_NS" nft add element netdev e2n_srccheck "own4_$port" "{ $a }"
                        run "$VPC_NS" ip route replace "$a" via "$primary" dev "$br" || die "route $a"
                        shift ;;
                --prefix6)
                        a=$2
                        local ll
                        ll=$(e2n_ipcalc ll "${ENI_MAC[$ifname]}")
                        ENI_PREFIX6[$ifname]+="${ENI_PREFIX6[$ifname]:+ }$a"
                        run "$VPC_NS" ip -6 neigh replace "$ll" lladdr "${ENI_MAC[$ifname]}" dev "$br" \
                                nud permanent
                        run "$VPC_NS" nft add element netdev e2n_srccheck "own6_$port" "{ $a }"
                        run "$VPC_NS" ip -6 route replace "$a" via "$ll" dev "$br" || die "route $a"
                        shift ;;
                -*) die "vpc_eni_assign: unknown option $1" ;;
                *)
                        a=$1
                        if [[ $fam == 4 ]]; then
                                ENI_ADDR4[$ifname]+="${ENI_ADDR4[$ifname]:+ }$a"
                                new4+=("$a")
                        else
                                ENI_ADDR6[$ifname]+="${ENI_ADDR6[$ifname]:+ }$a"
                                new6+=("$a")
                        fi
                        neigh+="neigh replace $a lladdr ${ENI_MAC[$ifname]} dev $br nud permanent"$'\n'
                        ;;
                esac
                shift
        done
        # The plain addresses in two commands, however many: the source check
        # first (the neighbour entries release packets the router queued for
        # these addresses), then the neighbours.
        ((${#new4[@]})) && { run "$VPC_NS" nft add element netdev e2n_srccheck "own4_$port" \
                "{ $(e2n_join , "${new4[@]}") }" || die "source check elements ${new4[*]}"; }
        ((${#new6[@]})) && { run "$VPC_NS" nft add element netdev e2n_srccheck "own6_$port" \
                "{ $(e2n_join , "${new6[@]}") }" || die "source check elements ${new6[*]}"; }
        if [[ -n "$neigh" ]]; then
                printf '+ [%s] ip -batch - <<EOF\n%sEOF\n' "$(e2n_label "$VPC_NS")" "$neigh"
                ip netns exec "$VPC_NS" ip -batch - <<<"$neigh" || die "neighbours of $ifname"
        fi
        return 0
}

# e2n_words_without LIST WORD: LIST (space-separated) without WORD.
e2n_words_without() {
        local w out=()
        for w in $1; do
                [[ $w == "$2" ]] || out+=("$w")
        done
        printf '%s' "${out[*]}"
}

# vpc_eni_unassign IFNAME ADDR...: the VPC side of unassigning addresses or
# prefixes (IPv4 or IPv6; not Elastic IPs): the ENI no longer owns them.
vpc_eni_unassign() {
        local ifname=$1 a br port fam
        shift
        port=${ENI_PORT[$ifname]:-}
        [[ -n "$port" ]] || die "vpc_eni_unassign: unknown ENI $ifname"
        br=${SUBNET_BR[${ENI_SUBNET[$ifname]}]}
        for a in "$@"; do
                fam=4
                [[ $a == *:* ]] && fam=6
                if [[ $a == */* ]]; then
                        ENI_PREFIX4[$ifname]=$(e2n_words_without "${ENI_PREFIX4[$ifname]}" "$a")
                        ENI_PREFIX6[$ifname]=$(e2n_words_without "${ENI_PREFIX6[$ifname]}" "$a")
                        run "$VPC_NS" ip -"$fam" route del "$a" dev "$br"
                else
                        ENI_ADDR4[$ifname]=$(e2n_words_without "${ENI_ADDR4[$ifname]}" "$a")
                        ENI_ADDR6[$ifname]=$(e2n_words_without "${ENI_ADDR6[$ifname]}" "$a")
                        run "$VPC_NS" ip neigh del "$a" dev "$br"
                fi
                run "$VPC_NS" nft delete element netdev e2n_srccheck "own${fam}_$port" "{ $a }"
        done
}

# vpc_eni_detach IFNAME: the ENI is detached: its veth pair is deleted (the
# instance sees its interface go away), its neighbours and prefix routes go,
# and it leaves the metadata. Its drop counter stays readable.
vpc_eni_detach() {
        local ifname=$1 port br a i rest=()
        port=${ENI_PORT[$ifname]:-}
        [[ -n "$port" ]] || die "vpc_eni_detach: unknown ENI $ifname"
        br=${SUBNET_BR[${ENI_SUBNET[$ifname]}]}
        for a in ${ENI_ADDR4[$ifname]} ${ENI_ADDR6[$ifname]}; do
                run "$VPC_NS" ip neigh del "$a" dev "$br"
        done
        for a in ${ENI_PREFIX4[$ifname]} ${ENI_PREFIX6[$ifname]}; do
                run "$VPC_NS" ip route del "$a" dev "$br"
        done
        run "$VPC_NS" nft delete chain netdev e2n_srccheck "check_$port" 2>/dev/null
        run "$VPC_NS" nft delete chain netdev e2n_srccheck "arp_$port" 2>/dev/null
        run "$VPC_NS" ip link del "$port" || die "delete $port"
        for i in "${E2N_ENIS[@]}"; do
                [[ $i == "$ifname" ]] || rest+=("$i")
        done
        E2N_ENIS=("${rest[@]}")
        E2N_DETACHED+=("$ifname")
        unset "ENI_MAC[$ifname]"
}

# vpc_host NAME SUBNET ADDR4 [ADDR6]: a host namespace in a subnet, default via
# the subnet's gateway. Its namespace is HOST_NS[NAME].
vpc_host() {
        local name=$1 subnet=$2 addr4=$3 addr6=${4:-} ns="${E2N_PREFIX}h-$1"
        [[ -n "${SUBNET_BR[$subnet]:-}" ]] || die "vpc_host: unknown subnet $subnet"
        e2n_ns_add "$ns"
        E2N_HOSTS+=("$name")
        HOST_NS[$name]=$ns
        HOST_SUBNET[$name]=$subnet
        HOST_ADDR4[$name]=$addr4
        HOST_ADDR6[$name]=$addr6
        e2n_port_add "$ns" eth0 "" "$subnet"
        run "$ns" ip link set eth0 mtu "$VPC_MTU" up
        run "$ns" ip addr add "$addr4/${SUBNET_CIDR4[$subnet]#*/}" dev eth0
        run "$ns" ip route add default via "${SUBNET_GW4[$subnet]}"
        if [[ -n "$addr6" ]]; then
                [[ -n "${SUBNET_CIDR6[$subnet]:-}" ]] || die "vpc_host: subnet $subnet has no IPv6"
                run "$ns" ip addr add "$addr6/${SUBNET_CIDR6[$subnet]#*/}" dev eth0
                run "$ns" ip -6 route add default via "${SUBNET_GW6[$subnet]}"
        fi
}

# vpc_container: a Docker-like bridge docker0 172.17.0.1/16 in the instance, a
# container namespace (CONTAINER_NS) at 172.17.0.2 behind it, and masquerade
# outwards with nftables, as Docker does.
vpc_container() {
        e2n_ns_add "$CONTAINER_NS"
        run_quiet "$INST_NS" sysctl -w net.ipv4.ip_forward=1 || die "ip_forward in instance"
        run "$INST_NS" ip link add docker0 type bridge || die "docker0"
        run "$INST_NS" ip addr add "$CONTAINER_GW4/16" dev docker0
        run "$INST_NS" ip link set docker0 up
        run "$INST_NS" ip link add veth0ctr type veth peer name eth0 netns "$CONTAINER_NS" || die "veth ctr"
        run "$INST_NS" ip link set veth0ctr master docker0 up
        run "$CONTAINER_NS" ip addr add "$CONTAINER4/16" dev eth0
        run "$CONTAINER_NS" ip link set eth0 up
        run "$CONTAINER_NS" ip route add default via "$CONTAINER_GW4"
        run_nft "$INST_NS" "table ip e2n_docker {
        chain post { type nat hook postrouting priority srcnat; policy accept;
                ip saddr 172.17.0.0/16 oifname != \"docker0\" masquerade
        }
}" || die "docker nat"
}

# The primary ENI: device 0 on card 0 (or no card).
vpc_primary_eni() {
        local i
        for i in "${E2N_ENIS[@]}"; do
                if [[ ${ENI_DEV[$i]} == 0 && ${ENI_CARD[$i]:-0} == 0 ]]; then
                        printf '%s' "$i"
                        return 0
                fi
        done
        return 1
}

# vpc_dhcp_primary: the state a distribution leaves: every ENI up; the primary
# ENI with its primary IPv4/prefix and the main-table default route via its
# gateway, and, when it has IPv6, what DHCPv6 and router advertisements give
# (first IPv6 as /128, the subnet on-link, default via fe80:ec2::1).
vpc_dhcp_primary() {
        local i p s a4 len
        for i in "${E2N_ENIS[@]}"; do
                run "$INST_NS" ip link set "$i" up || die "link up $i"
        done
        p=$(vpc_primary_eni) || die "no primary ENI (device 0)"
        s=${ENI_SUBNET[$p]}
        read -r a4 _ <<<"${ENI_ADDR4[$p]}"
        if [[ -n "$a4" ]]; then
                len=${SUBNET_CIDR4[$s]#*/}
                run "$INST_NS" ip addr add "$a4/$len" dev "$p" || die "dhcp address"
                run "$INST_NS" ip route replace default via "${SUBNET_GW4[$s]}" dev "$p" proto dhcp \
                        src "$a4" metric 1024 || die "dhcp default route"
        fi
        local a6
        read -r a6 _ <<<"${ENI_ADDR6[$p]}"
        if [[ -n "$a6" && -n "${SUBNET_CIDR6[$s]:-}" ]]; then
                run "$INST_NS" ip addr add "$a6/128" dev "$p" || die "dhcpv6 address"
                run "$INST_NS" ip -6 route replace "${SUBNET_CIDR6[$s]}" dev "$p" proto ra metric 1024
                run "$INST_NS" ip -6 route replace default via "$VPC_GW6_LL" dev "$p" proto ra metric 1024
        fi
}

# ---------------------------------------------------------------------------
# Metadata and the fake IMDS

# vpc_metadata FILE: the metadata tree of this topology, {"meta-data": {...}}.
vpc_metadata() {
        local file=$1 i desc=""
        for i in "${E2N_ENIS[@]}"; do
                local s=${ENI_SUBNET[$i]}
                desc+="$(e2n_join $'\t' "${ENI_MAC[$i]}" "${ENI_DEV[$i]}" "${ENI_CARD[$i]:--}" \
                        "${SUBNET_CIDR4[$s]}" "${SUBNET_CIDR6[$s]:--}" "$s" \
                        "${ENI_ADDR4[$i]:--}" "${ENI_ADDR6[$i]:--}" "${ENI_PREFIX4[$i]:--}" \
                        "${ENI_PREFIX6[$i]:--}" "${ENI_EIPS[$i]:--}")"$'\n'
        done
        printf '+ write metadata %s\n' "$file"
        E2N_DESC="$desc" VPC_CIDR4="$VPC_CIDR4" VPC_CIDR6="$VPC_CIDR6" "${PY[@]}" - "$file" <<'EOF' || die "metadata"
import json, os, sys
desc = os.environ["E2N_DESC"]
def items(v):
    return [] if v == "-" else v.split()
macs, top = {}, {}
for line in desc.splitlines():
    if not line.strip():
        continue
    mac, dev, card, s4, s6, sname, a4, a6, p4, p6, eips = line.split("\t")
    m = {
        "mac": mac,
        "device-number": dev,
        "interface-id": "eni-" + mac.replace(":", "").rjust(17, "0"),
        "subnet-id": "subnet-" + sname.lower().encode().hex().rjust(17, "0")[:17],
        "vpc-id": "vpc-0e2e2e2e2e2e2e2e2",
        "vpc-ipv4-cidr-block": os.environ["VPC_CIDR4"].split()[0],
        "vpc-ipv4-cidr-blocks": "\n".join(os.environ["VPC_CIDR4"].split()),
        "owner-id": "123456789012",
    }
    if card != "-":
        m["network-card"] = card
    if os.environ["VPC_CIDR6"]:
        m["vpc-ipv6-cidr-blocks"] = "\n".join(os.environ["VPC_CIDR6"].split())
    if items(a4):
        m["local-ipv4s"] = "\n".join(items(a4))
        m["subnet-ipv4-cidr-block"] = s4
    if s6 != "-":
        m["subnet-ipv6-cidr-blocks"] = s6
    if items(a6):
        m["ipv6s"] = "\n".join(items(a6))
    if items(p4):
        m["ipv4-prefix"] = "\n".join(items(p4))
    if items(p6):
        m["ipv6-prefix"] = "\n".join(items(p6))
    if items(eips):
        pairs = [e.split("=", 1) for e in items(eips)]
        m["public-ipv4s"] = "\n".join(p for p, _ in pairs)
        m["ipv4-associations"] = {p: q for p, q in pairs}
    macs[mac] = m
    if dev == "0" and card in ("-", "0"):
        top["mac"] = mac
        if items(a4):
            top["local-ipv4"] = items(a4)[0]
        if items(a6):
            top["ipv6"] = items(a6)[0]
        if items(eips):
            top["public-ipv4"] = items(eips)[0].split("=", 1)[0]
tree = dict(top)
tree["instance-id"] = "i-0e2e2e2e2e2e2e2e2"
tree["instance-type"] = "m5.large"
tree["network"] = {"interfaces": {"macs": macs}}
with open(sys.argv[1], "w") as f:
    json.dump({"meta-data": tree}, f, indent=1, sort_keys=True)
    f.write("\n")
EOF
}

# vpc_start_imds FILE: the fake IMDS on 169.254.169.254:80 inside the instance.
# Its request log is $E2N_TMP/imds.log. Returns 77 when fake_imds.py is missing.
vpc_start_imds() {
        local file=$1 script="$EC2NET_SOURCE_DIR/tests/integration/fake_imds.py" i
        [[ -f "$script" ]] || { echo "fake_imds.py not found"; return 77; }
        run "$INST_NS" ip addr add "$IMDS4/32" dev lo || die "IMDS address"
        rm -f "$E2N_TMP/imds.port"
        run_bg "$INST_NS" "$E2N_PYTHON" "$script" --data "$file" --listen "$IMDS4" --port 80 \
                --port-file "$E2N_TMP/imds.port" --log "$E2N_TMP/imds.log"
        E2N_IMDS_PID=$E2N_LAST_PID
        for ((i = 0; i < 100; i++)); do
                [[ -s "$E2N_TMP/imds.port" ]] && break
                kill -0 "$E2N_IMDS_PID" 2>/dev/null || die "fake IMDS exited"
                sleep 0.05
        done
        [[ -s "$E2N_TMP/imds.port" ]] || die "fake IMDS did not start"
        IMDS_URL="http://$IMDS4"
        export IMDS_URL
        e2n_log "fake IMDS at $IMDS_URL (pid $E2N_IMDS_PID)"
}

# ---------------------------------------------------------------------------
# Reading the router's state

# vpc_srccheck_drops [IFNAME]: packets the source check dropped on IFNAME's
# port, or on all ports.
vpc_srccheck_drops() {
        local ifs=("$@") i n total=0
        [[ $# -gt 0 ]] || ifs=("${E2N_ENIS[@]}" "${E2N_DETACHED[@]}")
        for i in "${ifs[@]}"; do
                n=$(ip netns exec "$VPC_NS" nft list counter netdev e2n_srccheck "drop_${ENI_PORT[$i]}" \
                        | sed -n 's/.*packets \([0-9]*\).*/\1/p')
                total=$((total + ${n:-0}))
        done
        printf '%s' "$total"
}

# vpc_show_drops: one line with the drop counter of every ENI port.
vpc_show_drops() {
        local i counts=""
        for i in "${E2N_ENIS[@]}"; do
                counts+="$i=$(vpc_srccheck_drops "$i") "
        done
        e2n_log "source check drops: $counts"
}

# ---------------------------------------------------------------------------
# Traffic checks: each returns non-zero on failure and says what failed.

e2n_ping_cmd() {
        local dest=$1 src=${2:-}
        E2N_PING=(ping -n -q -c1 -W1)
        [[ -n "$src" ]] && E2N_PING+=(-I "$src")
        E2N_PING+=("$dest")
}

# expect_ping FROM_NS DEST [SRC]
expect_ping() {
        local ns=$1 dest=$2 src=${3:-}
        e2n_ping_cmd "$dest" "$src"
        if run_quiet "$ns" "${E2N_PING[@]}"; then
                e2n_log "ok: ping $(e2n_label "$ns") -> $dest${src:+ from $src}"
                return 0
        fi
        e2n_fail "ping $(e2n_label "$ns") -> $dest${src:+ from $src}: no reply"
        return 1
}

# expect_no_ping FROM_NS DEST [SRC]
expect_no_ping() {
        local ns=$1 dest=$2 src=${3:-}
        e2n_ping_cmd "$dest" "$src"
        if run_quiet "$ns" "${E2N_PING[@]}"; then
                e2n_fail "ping $(e2n_label "$ns") -> $dest${src:+ from $src}: got a reply, expected none"
                return 1
        fi
        e2n_log "ok: no reply: ping $(e2n_label "$ns") -> $dest${src:+ from $src}"
        return 0
}

# expect_pings FROM_NS [-I SRC] DEST... / expect_no_pings FROM_NS [-I SRC] DEST...:
# the same for several destinations at once, in parallel (failures cost one
# timeout in all, not one each); "-I SRC" applies to the destinations after it
# ("-I ''" for none). Returns the number of checks that failed.
e2n_pings() {
        local want=$1 ns=$2 i bad=0 src=""
        shift 2
        e2n_is_ours "$ns" || die "'$ns' is not a namespace of this test"
        local dests=() srcs=() pids=()
        while [[ $# -gt 0 ]]; do
                if [[ $1 == -I ]]; then
                        src=$2
                        shift 2
                        continue
                fi
                dests+=("$1")
                srcs+=("$src")
                shift
        done
        for i in "${!dests[@]}"; do
                e2n_ping_cmd "${dests[i]}" "${srcs[i]}"
                printf '+ [%s] %s&\n' "$(e2n_label "$ns")" "$(printf '%q ' "${E2N_PING[@]}")"
                ip netns exec "$ns" "${E2N_PING[@]}" >/dev/null 2>&1 &
                pids+=($!)
        done
        for i in "${!dests[@]}"; do
                local got=fail what
                wait "${pids[i]}" && got=reply
                what="ping $(e2n_label "$ns") -> ${dests[i]}${srcs[i]:+ from ${srcs[i]}}"
                if [[ $got == "$want" ]]; then
                        e2n_log "ok: $what: $got"
                else
                        e2n_fail "$what: $got, expected $want"
                        bad=$((bad + 1))
                fi
        done
        return "$bad"
}
expect_pings() { e2n_pings reply "$@"; }
expect_no_pings() { e2n_pings fail "$@"; }

# The TCP helpers, written once to the scratch directory so that the log shows
# short commands.
e2n_tcp_scripts() {
        [[ -e "$E2N_TMP/tcp_listen.py" ]] && return 0
        cat >"$E2N_TMP/tcp_listen.py" <<'EOF'
# tcp_listen.py PORT READYFILE: answer each connection with the peer's address.
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(64)
open(sys.argv[2], "w").close()
while True:
    c, peer = s.accept()
    a = peer[0]
    if a.startswith("::ffff:"):
        a = a[7:]
    try:
        c.sendall((a + "\n").encode())
    except OSError:
        pass
    c.close()
EOF
        cat >"$E2N_TMP/tcp_connect.py" <<'EOF'
# tcp_connect.py DEST PORT [SRC]: print the line the listener sends (1 s timeout).
import socket, sys
dest, port = sys.argv[1], int(sys.argv[2])
src = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
c = socket.create_connection((dest, port), timeout=1, source_address=(src, 0) if src else None)
c.settimeout(1)
sys.stdout.write(c.makefile().readline().strip())
EOF
}

# vpc_tcp_listen NS PORT: a TCP server in NS on every address (IPv4 and IPv6)
# that answers each connection with one line: the peer's address.
vpc_tcp_listen() {
        local ns=$1 port=$2 ready="$E2N_TMP/tcp-$1-$2.ready" i
        e2n_tcp_scripts
        run_bg "$ns" "${PY[@]}" "$E2N_TMP/tcp_listen.py" "$port" "$ready"
        for ((i = 0; i < 100; i++)); do
                [[ -e "$ready" ]] && return 0
                sleep 0.02
        done
        die "TCP listener in $ns did not start"
}

# expect_tcp FROM_NS DEST PORT [SRC [PEER]]: a TCP connection from FROM_NS to
# DEST:PORT (bound to SRC unless SRC is "" or absent) gets the listener's line;
# with PEER, the listener must have seen that source address (to check NAT).
expect_tcp() {
        local ns=$1 dest=$2 port=$3 src=${4:-} want=${5:-} line what
        what="tcp $(e2n_label "$ns") -> [$dest]:$port${src:+ from $src}"
        e2n_is_ours "$ns" || die "'$ns' is not a namespace of this test"
        e2n_tcp_scripts
        printf '+ [%s] %s\n' "$(e2n_label "$ns")" "$(printf '%q ' "${PY[@]}" "$E2N_TMP/tcp_connect.py" "$dest" "$port" ${src:+"$src"})"
        line=$(ip netns exec "$ns" "${PY[@]}" "$E2N_TMP/tcp_connect.py" "$dest" "$port" "$src" 2>/dev/null)
        if [[ -z "$line" ]]; then
                e2n_fail "$what: no answer"
                return 1
        fi
        if [[ -n "$want" && "$line" != "$want" ]]; then
                e2n_fail "$what: the listener saw $line, expected $want"
                return 1
        fi
        e2n_log "ok: $what (the listener saw $line)"
}

# ---------------------------------------------------------------------------
# Observing the instance: state snapshots, netlink events, parallel checks

# vpc_imds_update [FILE]: rewrite the metadata from the current description
# (after vpc_eni_assign / vpc_eni_unassign) and hand the whole tree to the
# running fake IMDS (POST /_fake/tree, from inside the instance).
vpc_imds_update() {
        local file=${1:-$E2N_TMP/metadata.json} out
        [[ -n "$E2N_IMDS_PID" ]] || die "vpc_imds_update: the fake IMDS is not running"
        vpc_metadata "$file"
        printf '+ [%s] POST %s/_fake/tree < %s\n' "$(e2n_label "$INST_NS")" "http://$IMDS4" "$file"
        out=$(ip netns exec "$INST_NS" "${PY[@]}" - "http://$IMDS4/_fake/tree" "$file" <<'PYEOF'
import sys, urllib.request as u
with open(sys.argv[2], "rb") as f:
    body = f.read()
print(u.urlopen(u.Request(sys.argv[1], data=body, method="POST"), timeout=2).read().decode())
PYEOF
        ) || die "vpc_imds_update: POST /_fake/tree failed"
        [[ $out == *'"ok": true'* ]] || die "vpc_imds_update: the fake IMDS answered $out"
}

# e2n_imds_ctl OP [JSON]: POST /_fake/OP (fault, clear-faults, mode, ...) to the
# running fake IMDS, from inside the instance; prints its answer.
e2n_imds_ctl() {
        printf '+ [%s] POST %s/_fake/%s %s\n' "$(e2n_label "$INST_NS")" "http://$IMDS4" "$1" "${2:-}"
        ip netns exec "$INST_NS" "${PY[@]}" -c 'import sys, urllib.request as u
print(u.urlopen(u.Request(sys.argv[1] + "/_fake/" + sys.argv[2], data=sys.argv[3].encode(),
                          method="POST"), timeout=2).read().decode())' \
                "http://$IMDS4" "$1" "${2:-}" || die "e2n_imds_ctl $1 failed"
}

# e2n_kstate NS: the kernel state of NS that ec2net may change, one object a
# line, sorted, without what changes by itself (address lifetimes): links
# (ip -o link), addresses, rules and routes of every table, both families.
# Two snapshots compare with diff.
e2n_kstate() {
        local ns=$1
        e2n_is_ours "$ns" || die "e2n_kstate: '$ns' is not a namespace of this test"
        {
                ip -n "$ns" -o link show | sed 's/^/link: /'
                ip -n "$ns" -o addr show | sed -e 's/\\ *valid_lft.*//' -e 's/^/addr: /'
                ip -n "$ns" -4 rule show | sed 's/^/rule4: /'
                ip -n "$ns" -6 rule show | sed 's/^/rule6: /'
                ip -n "$ns" -4 route show table all | sed 's/^/route4: /'
                ip -n "$ns" -6 route show table all | sed 's/^/route6: /'
        } | sed 's/[[:space:]]*$//' | LC_ALL=C sort
}

# e2n_monitor_start NS / e2n_monitor_stop: record the netlink notifications of
# NS (links, addresses, routes, rules, netconf: what a configuration change
# sends; not neighbours, which change by themselves) between the two calls.
# Both wait for a marker (an alias set on lo) to come through the monitor, so
# that nothing is missed at either end. e2n_monitor_stop prints the events in
# between (nothing when nothing changed; the commands it runs go to stderr) and
# restores lo's alias.
E2N_MON_N=0
e2n_monitor_start() {
        local ns=$1 i
        e2n_is_ours "$ns" || die "e2n_monitor_start: '$ns' is not a namespace of this test"
        E2N_MON_N=$((E2N_MON_N + 1))
        E2N_MON_NS=$ns
        E2N_MON_FILE="$E2N_TMP/monitor.$E2N_MON_N"
        printf '+ [%s] ip -d -ts monitor link address route rule netconf > %s &\n' \
                "$(e2n_label "$ns")" "$E2N_MON_FILE"
        ip netns exec "$ns" ip -d -ts monitor link address route rule netconf >"$E2N_MON_FILE" 2>&1 &
        E2N_MON_PID=$!
        E2N_PIDS+=("$E2N_MON_PID")
        # The monitor subscribes some time after it starts: repeat the marker
        # until one comes through.
        for ((i = 0; i < 100; i++)); do
                printf '+ [%s] ip link set dev lo alias e2n-mon-start-%s-%s\n' "$(e2n_label "$ns")" "$E2N_MON_N" "$i"
                ip netns exec "$ns" ip link set dev lo alias "e2n-mon-start-$E2N_MON_N-$i" || die "marker"
                sleep 0.02
                grep -q "alias e2n-mon-start-$E2N_MON_N-" "$E2N_MON_FILE" && return 0
                kill -0 "$E2N_MON_PID" 2>/dev/null || die "ip monitor exited: $(cat "$E2N_MON_FILE")"
        done
        die "ip monitor in $ns shows no events"
}
e2n_monitor_stop() {
        local ns=$E2N_MON_NS i
        printf '+ [%s] ip link set dev lo alias e2n-mon-end-%s\n' "$(e2n_label "$ns")" "$E2N_MON_N" >&2
        ip netns exec "$ns" ip link set dev lo alias "e2n-mon-end-$E2N_MON_N" || die "marker"
        for ((i = 0; i < 250; i++)); do
                grep -q "alias e2n-mon-end-$E2N_MON_N\$" "$E2N_MON_FILE" && break
                sleep 0.02
        done
        kill "$E2N_MON_PID" 2>/dev/null
        wait "$E2N_MON_PID" 2>/dev/null
        printf '+ [%s] ip link set dev lo alias ""\n' "$(e2n_label "$ns")" >&2
        ip netns exec "$ns" ip link set dev lo alias "" || die "marker"
        grep -q "alias e2n-mon-end-$E2N_MON_N\$" "$E2N_MON_FILE" || die "ip monitor lost the end marker"
        # Events are "[timestamp] ..." plus indented continuation lines; print
        # those after the last start marker and before the end marker.
        awk -v s="alias e2n-mon-start-$E2N_MON_N-" -v e="alias e2n-mon-end-$E2N_MON_N" '
                /^\[/ { if (n) ev[n] = rec; n++; rec = $0; next }
                { rec = rec "\n" $0 }
                END {
                        if (n) ev[n] = rec
                        for (i = 1; i <= n; i++) {
                                if (index(ev[i], s)) first = i + 1
                                if (index(ev[i], e)) { last = i - 1; break }
                        }
                        for (i = first; i <= last; i++) print ev[i]
                }' "$E2N_MON_FILE"
}

# e2n_parallel CMD [ARG...] [-- CMD [ARG...]]...: run several checks (each a
# command or function returning its number of failures) at once, then print
# their output in the order given. Returns the sum of their return codes
# (at most 255). A failing ping costs its timeout once, not once per group.
e2n_parallel() {
        local specs=() cur="" a i rc total=0 pids=() outs=()
        for a in "$@"; do
                if [[ $a == -- ]]; then
                        [[ -n "$cur" ]] && specs+=("$cur")
                        cur=""
                else
                        cur+="$(printf '%q ' "$a")"
                fi
        done
        [[ -n "$cur" ]] && specs+=("$cur")
        for i in "${!specs[@]}"; do
                outs[i]="$E2N_TMP/parallel.$BASHPID.$i"
                (eval "${specs[i]}") >"${outs[i]}" 2>&1 &
                pids[i]=$!
        done
        for i in "${!specs[@]}"; do
                wait "${pids[i]}"
                rc=$?
                cat "${outs[i]}"
                rm -f "${outs[i]}"
                total=$((total + rc))
        done
        ((total > 255)) && total=255
        return "$total"
}

# expect_pings_batch / expect_no_pings_batch FROM_NS [-I SRC] DEST...: what
# expect_pings / expect_no_pings check, with one `ip netns exec` for the whole
# batch instead of one per ping (much cheaper for dozens of destinations).
# Returns the number of checks that failed.
e2n_pings_batch() {
        local want=$1 ns=$2 i bad=0 src="" got what label cmd
        shift 2
        e2n_is_ours "$ns" || die "'$ns' is not a namespace of this test"
        # No command substitution per ping: a fork costs more than the ping.
        label=${ns#"$E2N_PREFIX"}
        local dests=() srcs=() args=() rcs=()
        while [[ $# -gt 0 ]]; do
                if [[ $1 == -I ]]; then
                        src=$2
                        shift 2
                        continue
                fi
                dests+=("$1")
                srcs+=("$src")
                args+=("$src" "$1")
                shift
        done
        for i in "${!dests[@]}"; do
                e2n_ping_cmd "${dests[i]}" "${srcs[i]}"
                printf -v cmd '%q ' "${E2N_PING[@]}"
                printf '+ [%s] %s&\n' "$label" "$cmd"
        done
        # shellcheck disable=SC2016 # expanded by the inner shell
        mapfile -t rcs < <(ip netns exec "$ns" bash -c '
                pids=()
                while [[ $# -gt 0 ]]; do
                        if [[ -n $1 ]]; then
                                ping -n -q -c1 -W1 -I "$1" "$2" >/dev/null 2>&1 &
                        else
                                ping -n -q -c1 -W1 "$2" >/dev/null 2>&1 &
                        fi
                        pids+=($!)
                        shift 2
                done
                for p in "${pids[@]}"; do
                        wait "$p"
                        echo $?
                done' e2n-pings "${args[@]}")
        for i in "${!dests[@]}"; do
                got=fail
                [[ ${rcs[i]:-1} == 0 ]] && got=reply
                what="ping $label -> ${dests[i]}${srcs[i]:+ from ${srcs[i]}}"
                if [[ $got == "$want" ]]; then
                        e2n_log "ok: $what: $got"
                else
                        e2n_fail "$what: $got, expected $want"
                        bad=$((bad + 1))
                fi
        done
        ((bad > 255)) && bad=255
        return "$bad"
}
expect_pings_batch() { e2n_pings_batch reply "$@"; }
expect_no_pings_batch() { e2n_pings_batch fail "$@"; }

# ---------------------------------------------------------------------------
# The daemon (test-daemon-*.sh)

# E2N_DAEMON_WRAPPER: words put in front of ec2netd, e.g. "valgrind
# --leak-check=full --error-exitcode=99" (scripts/test-faults.sh runs the daemon
# tests so). A wrapped daemon is much slower, so the waits of this file
# (e2n_daemon_start, e2n_wait_for, e2n_daemon_wait_pass) are multiplied by
# E2N_TIME_SCALE: 1 by default, 20 under a wrapper unless set.
: "${E2N_DAEMON_WRAPPER:=}"
if [[ -n "$E2N_DAEMON_WRAPPER" ]]; then
        : "${E2N_TIME_SCALE:=20}"
else
        : "${E2N_TIME_SCALE:=1}"
fi

# e2n_daemon_start [ARGS...]: ec2netd in the instance namespace, on kernel
# uevents, with the fake IMDS, the state directory $E2N_TMP/state and a
# sd_notify listener on $E2N_TMP/notify.sock (each datagram a line in
# $E2N_TMP/notify.log, "|" for newlines). Its stderr goes to
# $E2N_TMP/ec2netd.log. Waits for READY=1 (the first pass done), unless
# E2N_DAEMON_NO_WAIT is set. The pid is in E2N_DAEMON_PID; the cleanup kills it.
E2N_DAEMON_PID=""
E2N_NOTIFY_PID=""
e2n_daemon_start() {
        local bin="$EC2NET_BUILD_DIR/daemon/ec2netd" i n0=0 wrapper=()
        [[ -x "$bin" ]] || die "ec2netd not built: $bin"
        read -ra wrapper <<<"$E2N_DAEMON_WRAPPER"
        mkdir -p "$E2N_TMP/state"
        if [[ -z "$E2N_NOTIFY_PID" ]]; then
                rm -f "$E2N_TMP/notify.sock"
                : >"$E2N_TMP/notify.log"
                run_bg "$INST_NS" "${PY[@]}" -u -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        d = s.recv(4096).decode(errors="replace")
        f.write(d.replace("\n", "|") + "\n")
        f.flush()
' "$E2N_TMP/notify.sock" "$E2N_TMP/notify.log"
                E2N_NOTIFY_PID=$E2N_LAST_PID
                for ((i = 0; i < 100; i++)); do
                        [[ -S "$E2N_TMP/notify.sock" ]] && break
                        sleep 0.02
                done
                [[ -S "$E2N_TMP/notify.sock" ]] || die "notify listener did not start"
        fi
        n0=$(grep -c 'READY=1' "$E2N_TMP/notify.log")
        run_bg "$INST_NS" env NOTIFY_SOCKET="$E2N_TMP/notify.sock" "${wrapper[@]}" "$bin" \
                --imds-endpoint "http://$IMDS4" --state-dir "$E2N_TMP/state" \
                --uevent-source kernel "$@" 2>>"$E2N_TMP/ec2netd.log"
        E2N_DAEMON_PID=$E2N_LAST_PID
        [[ -n "${E2N_DAEMON_NO_WAIT:-}" ]] && return 0
        for ((i = 0; i < 500 * E2N_TIME_SCALE; i++)); do
                (($(grep -c 'READY=1' "$E2N_TMP/notify.log") > n0)) && break
                kill -0 "$E2N_DAEMON_PID" 2>/dev/null || {
                        cat "$E2N_TMP/ec2netd.log"
                        die "ec2netd exited"
                }
                sleep 0.02
        done
        (($(grep -c 'READY=1' "$E2N_TMP/notify.log") > n0)) || die "ec2netd sent no READY=1"
        e2n_log "ec2netd running (pid $E2N_DAEMON_PID${E2N_DAEMON_WRAPPER:+, under ${wrapper[0]}})"
}

# e2n_daemon_stop: SIGTERM, wait; returns the daemon's exit status (under a
# valgrind wrapper with --error-exitcode, that code when valgrind found errors
# or leaks; its summary lines are printed).
e2n_daemon_stop() {
        local rc=0 pid=$E2N_DAEMON_PID
        [[ -n "$pid" ]] || return 0
        printf '+ kill -TERM %s\n' "$pid"
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" || rc=$?
        E2N_DAEMON_PID=""
        if [[ "$E2N_DAEMON_WRAPPER" == *valgrind* ]]; then
                grep -E "^==$pid== +(ERROR SUMMARY|definitely lost|indirectly lost|still reachable|All heap blocks)" \
                        "$E2N_TMP/ec2netd.log" | sed 's/^/valgrind: /'
        fi
        return "$rc"
}

# e2n_daemon_kill9: SIGKILL the daemon (no cleanup of its own), wait for it.
e2n_daemon_kill9() {
        local pid=$E2N_DAEMON_PID
        [[ -n "$pid" ]] || return 0
        printf '+ kill -KILL %s\n' "$pid"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        E2N_DAEMON_PID=""
        return 0
}

# e2n_daemon_fds / e2n_daemon_rss: the daemon's open descriptors; its RSS in kB.
e2n_daemon_fds() {
        local fds=("/proc/$E2N_DAEMON_PID/fd/"*)
        [[ -e "${fds[0]}" ]] && echo "${#fds[@]}" || echo 0
}
e2n_daemon_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$E2N_DAEMON_PID/status" 2>/dev/null; }

# e2n_state_stamp: identifies the last write of the daemon's state file
# (inode and mtime; the daemon replaces the file after every pass).
e2n_state_stamp() { stat -c '%i %.9Y' "$E2N_TMP/state/state.json" 2>/dev/null || echo none; }

# e2n_daemon_wait_pass SECONDS [STAMP]: wait until the daemon has finished a
# pass since STAMP (an e2n_state_stamp; default: now). Returns 1 on timeout or
# when the daemon died.
e2n_daemon_wait_pass() {
        local limit=$(($1 * E2N_TIME_SCALE)) stamp=${2:-} i
        [[ -n "$stamp" ]] || stamp=$(e2n_state_stamp)
        for ((i = 0; i < limit * 100; i++)); do
                [[ $(e2n_state_stamp) != "$stamp" ]] && return 0
                kill -0 "$E2N_DAEMON_PID" 2>/dev/null || return 1
                sleep 0.01
        done
        return 1
}

# e2n_imds_ctl OP [BODY]: POST /_fake/OP (fault, clear-faults, reset-log, set?path=...,
# delete?path=..., tree, mode, expire-tokens) to the running fake IMDS from inside
# the instance, BODY on stdin when it is "-"; prints the answer; fails unless it
# says ok. e2n_imds_log: the fake's request log (JSON list). curl, not python:
# it starts ten times faster, and tests call these often.
e2n_imds_ctl() {
        local out body=${2:-}
        printf '+ [%s] POST /_fake/%s %s\n' "$(e2n_label "$INST_NS")" "$1" "${body:0:200}" >&2
        if [[ $body == - ]]; then
                out=$(ip netns exec "$INST_NS" curl -sS --max-time 5 --data-binary @- "http://$IMDS4/_fake/$1" 2>&1)
        else
                out=$(printf '%s' "$body" | ip netns exec "$INST_NS" curl -sS --max-time 5 --data-binary @- "http://$IMDS4/_fake/$1" 2>&1)
        fi
        printf '%s\n' "$out"
        [[ $out == *'"ok": true'* ]]
}
e2n_imds_log() {
        ip netns exec "$INST_NS" curl -sS --max-time 5 "http://$IMDS4/_fake/log"
}

# e2n_rule_dups NS: rules that appear more than once (same priority, selector
# and action), both families; prints nothing when there are none.
e2n_rule_dups() {
        e2n_is_ours "$1" || die "e2n_rule_dups: '$1' is not a namespace of this test"
        { ip -n "$1" -4 rule show; ip -n "$1" -6 rule show | sed 's/^/v6 /'; } | LC_ALL=C sort | uniq -d
}

# e2n_rules_of NS TABLE: how many rules (IPv4 and IPv6) look up TABLE.
e2n_rules_of() {
        local n4 n6
        n4=$(ip -n "$1" -4 rule show table "$2" 2>/dev/null | grep -c .)
        n6=$(ip -n "$1" -6 rule show table "$2" 2>/dev/null | grep -c .)
        printf '%s' $((n4 + n6))
}

# e2n_wait_for SECONDS CMD...: retry CMD every 10 ms until it succeeds;
# prints how long it took (ms). Returns 1 on timeout.
e2n_wait_for() {
        local limit=$(($1 * E2N_TIME_SCALE)) t0 now
        shift
        t0=$(date +%s%N)
        while ! "$@"; do
                now=$(date +%s%N)
                if (((now - t0) / 1000000 > limit * 1000)); then
                        printf '%s' $(((now - t0) / 1000000))
                        return 1
                fi
                sleep 0.01
        done
        now=$(date +%s%N)
        printf '%s' $(((now - t0) / 1000000))
}

# e2n_attach_latency NS IFNAME TABLE NRULES OUTFILE: in the background, wait for
# IFNAME to appear in NS, then poll the rules every 2 ms until NRULES look up
# TABLE; writes "<ms from link to rules>" to OUTFILE. The pid is E2N_LAST_PID.
e2n_attach_latency() {
        local ns=$1 ifname=$2 table=$3 n=$4 out=$5
        rm -f "$out"
        run_bg "$ns" "${PY[@]}" -c '
import os, subprocess, sys, time
ifname, table, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
while not os.path.exists("/sys/class/net/" + ifname):
    time.sleep(0.0005)
t0 = time.monotonic()
def count():
    c = 0
    for fam in ("-4", "-6"):
        r = subprocess.run(["ip", fam, "rule", "show", "table", table], capture_output=True, text=True)
        c += len([l for l in r.stdout.splitlines() if l.strip()])
    return c
while count() < n:
    time.sleep(0.002)
with open(out, "w") as f:
    f.write("%.1f\n" % ((time.monotonic() - t0) * 1000))
' "$ifname" "$table" "$n" "$out"
}
