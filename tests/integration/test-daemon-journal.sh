#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-daemon-journal: with JOURNAL_STREAM set, ec2netd logs to the journal
# with structured fields, and never an IMDS token.
#
# There is no journald here, and the machine's /run/systemd/journal is not
# touched: a listener (python, AF_UNIX SOCK_DGRAM) runs in a private mount
# namespace, made from the instance's, in which a tmpfs covers /run/systemd
# and the listener is bound at /run/systemd/journal/socket; the daemon enters
# that mount namespace (nsenter, through a wrapper in place of the binary, so
# that lib.sh's e2n_daemon_start is used as is). The listener decodes the
# native journal protocol (KEY=value lines, and KEY\n<64-bit length><data>\n
# for values with newlines, and a memfd passed with SCM_RIGHTS) into JSON.
#
# Asserts: every entry has MESSAGE, PRIORITY (the right one for a notice, an
# info and a debug message) and SYSLOG_IDENTIFIER=ec2netd; the message about
# eth1 being configured carries INTERFACE=eth1, IFNAME=eth1, MAC= and ENI=
# with the values IMDS gave; a message about rules of no interface carries
# none of them; nothing reaches stderr; and the IMDS tokens the daemon used
# (taken off the wire: a packet socket on the instance's loopback reads the
# X-aws-ec2-metadata-token headers of its requests) appear in no field.
#
# Needs root; exit 77 (skip) otherwise, except in CI.

set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null && command -v nsenter >/dev/null || die "unshare and nsenter (util-linux) needed"

ETH1_MAC=0e:e2:00:00:07:11
vpc_init
vpc_subnet A 10.0.1.0/24 2001:db8:1::/64
vpc_subnet B 10.0.2.0/24
vpc_eni eth0 0e:e2:00:00:07:10 A 0 -- 10.0.1.10 10.0.1.11 -6 2001:db8:1::10
vpc_eni eth1 "$ETH1_MAC" B 1 -- 10.0.2.20 10.0.2.21
vpc_dhcp_primary
vpc_metadata "$E2N_TMP/metadata.json"
vpc_start_imds "$E2N_TMP/metadata.json" || exit $?
ETH1_ENI=$("${PY[@]}" -c 'import json, sys
print(json.load(open(sys.argv[1]))["meta-data"]["network"]["interfaces"]["macs"][sys.argv[2]]["interface-id"])' \
        "$E2N_TMP/metadata.json" "$ETH1_MAC") || die "interface-id"

# wait_file FILE WHAT: up to 5 s for FILE to exist.
wait_file() {
        local i
        for ((i = 0; i < 250; i++)); do
                [[ -e "$1" ]] && return 0
                sleep 0.02
        done
        die "$2 did not start"
}

# --- the token sniffer: every X-aws-ec2-metadata-token header on lo
cat >"$E2N_TMP/sniff.py" <<'EOF'
import re, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind(("lo", 0))
open(sys.argv[2], "w").close()
pat = re.compile(rb"X-aws-ec2-metadata-token: *([A-Za-z0-9_=+/-]{16,})", re.I)
seen = set()
with open(sys.argv[1], "a") as out:
    while True:
        for t in pat.findall(s.recv(65536)):
            if t not in seen:
                seen.add(t)
                out.write(t.decode() + "\n")
                out.flush()
EOF
run_bg "$INST_NS" "${PY[@]}" "$E2N_TMP/sniff.py" "$E2N_TMP/tokens" "$E2N_TMP/sniff.ready"
wait_file "$E2N_TMP/sniff.ready" "the token sniffer"

# --- the journal listener, in its own mount namespace
cat >"$E2N_TMP/journal.py" <<'EOF'
# journal.py SOCKET OUT READY: decode native journal datagrams, one JSON
# object a line; "_binary" lists the fields sent in the length-prefixed form.
import array, json, os, socket, struct, sys

def decode(data):
    entry, binary, i = {}, [], 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            v = data[nl + 9:nl + 9 + n]
            if data[nl + 9 + n:nl + 10 + n] != b"\n":
                raise ValueError("no newline after binary field " + k.decode())
            i = nl + 10 + n
            binary.append(k.decode())
        entry.setdefault(k.decode(), []).append(v.decode(errors="replace"))
    entry["_binary"] = binary
    return entry

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
open(sys.argv[3], "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        data, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(16))
        for level, typ, payload in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds = array.array("i", payload[:len(payload) - len(payload) % 4])
                with os.fdopen(fds[0], "rb") as f:
                    data = f.read()
        try:
            e = decode(data)
        except (ValueError, struct.error) as err:
            e = {"_error": [str(err)], "_raw": [data.decode(errors="replace")]}
        out.write(json.dumps(e) + "\n")
        out.flush()
EOF
# The mounts happen only in a new, private mount namespace: the guard checks
# that it is not the one of PID 1 before mounting anything.
run_bg "$INST_NS" unshare -m --propagation private -- bash -c '
set -e
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]
mount -t tmpfs -o mode=0755,size=1m e2n-journal /run/systemd
mkdir /run/systemd/journal
exec "$@"' journal-ns "${PY[@]}" "$E2N_TMP/journal.py" /run/systemd/journal/socket \
        "$E2N_TMP/journal.json" "$E2N_TMP/journal.ready"
JOURNAL_PID=$E2N_LAST_PID
wait_file "$E2N_TMP/journal.ready" "the journal listener"
[[ ! -e /run/systemd/journal ]] || e2n_log "note: this machine has a /run/systemd/journal; it was not touched"

# The daemon, in the listener's mount namespace, with JOURNAL_STREAM as
# systemd sets it (device:inode of the stream; only its presence matters).
mkdir -p "$E2N_TMP/jr/daemon"
cat >"$E2N_TMP/jr/daemon/ec2netd" <<EOF
#!/bin/bash
exec nsenter --mount=/proc/$JOURNAL_PID/ns/mnt -- env JOURNAL_STREAM=9:4242 \\
        "$EC2NET_BUILD_DIR/daemon/ec2netd" "\$@"
EOF
chmod +x "$E2N_TMP/jr/daemon/ec2netd"
EC2NET_BUILD_DIR="$E2N_TMP/jr" e2n_daemon_start --log-level debug
[[ $(e2n_rules_of "$INST_NS" 10001) == 2 ]] || fail "eth1 not configured: $(ip -n "$INST_NS" rule show)"
# A drift repair: one more notice about eth1, and IMDS-free debug lines.
run "$INST_NS" ip rule del from 10.0.2.21 lookup 10001 priority 10001
e2n_wait_for 5 eval '[[ $(e2n_rules_of "$INST_NS" 10001) == 2 ]]' >/dev/null || fail "the rule is not back"
rc=0
e2n_daemon_stop || rc=$?
[[ $rc == 0 ]] || fail "ec2netd exited $rc"
sleep 0.2 # the listener writes the last datagrams

e2n_log "journal entries: $(grep -c . "$E2N_TMP/journal.json"), tokens seen on the wire: $(grep -c . "$E2N_TMP/tokens" 2>/dev/null || echo 0)"
# A wrapper's own lines (valgrind's "==PID== ...", under scripts/test-faults.sh) are not
# the daemon's.
if grep -qv '^==[0-9]*==' "$E2N_TMP/ec2netd.log" 2>/dev/null; then
        fail "ec2netd wrote to stderr with JOURNAL_STREAM set: $(grep -v '^==[0-9]*==' "$E2N_TMP/ec2netd.log" | head -5)"
else
        e2n_log "ok: nothing on stderr"
fi
"${PY[@]}" - "$E2N_TMP/journal.json" "$E2N_TMP/tokens" "$ETH1_MAC" "$ETH1_ENI" <<'EOF' || FAILED=$((FAILED + 1))
import json, re, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tokens = [t.strip() for t in open(sys.argv[2]) if t.strip()]
mac, eni = sys.argv[3], sys.argv[4]
bad = 0
def check(ok, what):
    global bad
    print(("ok: " if ok else "FAIL: ") + what)
    bad += not ok
def one(e, k):
    v = e.get(k, [])
    return v[0] if len(v) == 1 else None

check(len(entries) > 10, "%d journal entries" % len(entries))
check(not any("_error" in e for e in entries), "every datagram decodes")
check(all(one(e, "MESSAGE") is not None and re.fullmatch(r"[0-7]", one(e, "PRIORITY") or "")
          and one(e, "SYSLOG_IDENTIFIER") == "ec2netd" for e in entries),
      "every entry has one MESSAGE, one PRIORITY 0-7 and SYSLOG_IDENTIFIER=ec2netd")
prio = lambda rx: {one(e, "PRIORITY") for e in entries if re.search(rx, one(e, "MESSAGE") or "")}
check(prio(r"^Started$") == {"6"}, "'Started' at PRIORITY=6 (info): %s" % prio(r"^Started$"))
check(prio(r"^Watching .* uevents$") == {"7"}, "'Watching ... uevents' at PRIORITY=7 (debug)")
added = [e for e in entries if re.match(r"eth1: \d+ added, \d+ removed", one(e, "MESSAGE") or "")]
check(len(added) >= 2, "%d notices about eth1's changes (startup and the drift repair)" % len(added))
for e in added:
    f = {k: one(e, k) for k in ("PRIORITY", "INTERFACE", "IFNAME", "MAC", "ENI")}
    check(f == {"PRIORITY": "5", "INTERFACE": "eth1", "IFNAME": "eth1", "MAC": mac, "ENI": eni},
          "%r has %s" % (one(e, "MESSAGE"), f))
rules = [e for e in entries if re.match(r"rules: \d+ added", one(e, "MESSAGE") or "")]
check(len(rules) >= 1 and all(not ({"INTERFACE", "IFNAME", "MAC", "ENI"} & e.keys()) for e in rules),
      "%d messages about rules of no interface, without interface fields" % len(rules))
binary = sorted({k for e in entries for k in e["_binary"]})
print("fields sent in the binary form: %s" % (", ".join(binary) or "none"))
check(len(tokens) >= 1, "%d IMDS token(s) seen on the wire" % len(tokens))
leaks = [(k, v) for e in entries for k, vs in e.items() if k != "_binary" for v in vs
         for t in tokens if t in v]
check(not leaks, "no journal field contains a token" + (": %s" % leaks[:3] if leaks else ""))
sys.exit(1 if bad else 0)
EOF

e2n_finish "$E2N_TMP/journal.json" 50
