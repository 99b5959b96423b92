# SPDX-License-Identifier: LGPL-2.1-or-later
"""attach.py: attach-to-configured latency of one ENI, seen from rtnetlink.

Runs inside the instance namespace (ip netns exec INST python3 -S attach.py ...).
Each round moves IFNAME from the parking namespace into this one (the attach),
and times, from one rtnetlink socket subscribed to links and IPv4/IPv6 rules:

  attach: the RTM_NEWLINK of IFNAME arriving -> the RTM_NEWRULE that completes
          the expected set of rules looking up TABLE (the planner adds rules
          last, so that is the end of the daemon's pass for the ENI);
  detach: the RTM_DELLINK of IFNAME leaving -> the RTM_DELRULE that leaves no
          rule of TABLE.

The move is started asynchronously and the socket is read throughout, so each
timestamp is taken when the notification is read, not after a child exits.
Both ends are read by the same process: a scheduling delay shifts both.
Round 0 is a warm-up and not counted. Prints one JSON object.

Usage: attach.py PARK_NS IFNAME TABLE RULES ROUNDS
"""
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

RTM_NEWLINK, RTM_DELLINK, RTM_NEWRULE, RTM_DELRULE = 16, 17, 32, 33
NLMSG_ERROR, NLMSG_OVERRUN = 2, 4
IFLA_IFNAME = 3
FRA_SRC, FRA_PRIORITY, FRA_TABLE = 2, 6, 15
GROUPS = 0x1 | 0x80 | 0x40000  # RTNLGRP_LINK, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE
SO_RCVBUFFORCE = 33
TIMEOUT = 10.0


def attrs(buf, off, end):
    out = {}
    while off + 4 <= end:
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4:
            break
        out[atype & 0x3FFF] = buf[off + 4:off + alen]
        off += (alen + 3) & ~3
    return out


class Monitor:
    def __init__(self, ifname, table):
        self.ifname, self.table = ifname, table
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        self.sock.bind((0, GROUPS))
        self.rules = set()

    def events(self, timeout):
        """Yield (t, kind) for the events of IFNAME and TABLE read within timeout."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return
        data = self.sock.recv(1 << 20)
        t = time.monotonic()
        off = 0
        while off + 16 <= len(data):
            mlen, mtype = struct.unpack_from("=IH", data, off)
            if mlen < 16:
                break
            end = off + mlen
            if mtype in (NLMSG_ERROR, NLMSG_OVERRUN):
                raise SystemExit("attach.py: netlink error or overrun on the monitor socket")
            if mtype in (RTM_NEWLINK, RTM_DELLINK):
                a = attrs(data, off + 16 + 16, end)
                name = a.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(errors="replace")
                if name == self.ifname:
                    yield t, "newlink" if mtype == RTM_NEWLINK else "dellink"
            elif mtype in (RTM_NEWRULE, RTM_DELRULE):
                family, _dl, src_len = struct.unpack_from("=BBB", data, off + 16)
                a = attrs(data, off + 16 + 12, end)
                table = struct.unpack("=I", a[FRA_TABLE])[0] if FRA_TABLE in a else -1
                if table == self.table:
                    key = (family, src_len, a.get(FRA_SRC), a.get(FRA_PRIORITY))
                    if mtype == RTM_NEWRULE:
                        self.rules.add(key)
                    else:
                        self.rules.discard(key)
                    yield t, "rule"
            off += (mlen + 3) & ~3


def rules_in_kernel(table):
    n = 0
    for fam in ("-4", "-6"):
        out = subprocess.run(["ip", fam, "rule", "show", "table", str(table)],
                             capture_output=True, text=True, check=True).stdout
        n += len([x for x in out.splitlines() if x.strip()])
    return n


def round_trip(mon, cmd, start_kind, done):
    """Start cmd, return ms from the first start_kind event to the event after which done()."""
    child = subprocess.Popen(cmd)
    t0 = None
    deadline = time.monotonic() + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            child.wait()
            return None
        for t, kind in mon.events(left):
            if t0 is None and kind == start_kind:
                t0 = t
            elif t0 is not None and kind == "rule" and done():
                child.wait()
                return (t - t0) * 1000.0


def main():
    park, ifname, table, want, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    me = subprocess.run(["ip", "netns", "identify", str(os.getpid())],
                        capture_output=True, text=True, check=True).stdout.strip()
    mon = Monitor(ifname, table)
    attach, detach, errors = [], [], []
    for rnd in range(rounds + 1):
        mon.rules.clear()
        if rules_in_kernel(table):
            raise SystemExit("attach.py: table %d has rules before the attach" % table)
        a = round_trip(mon, ["ip", "-n", park, "link", "set", ifname, "netns", me], "newlink",
                       lambda: len(mon.rules) >= want)
        if a is None:
            errors.append("round %d: %d of %d rules after %.0f s" % (rnd, len(mon.rules), want, TIMEOUT))
            break
        got = rules_in_kernel(table)
        if got != want:
            errors.append("round %d: %d rules in table %d, expected %d" % (rnd, got, table, want))
            break
        d = round_trip(mon, ["ip", "link", "set", ifname, "netns", park], "dellink",
                       lambda: not mon.rules)
        if d is None:
            errors.append("round %d: rules of table %d left after the detach" % (rnd, table))
            break
        if rnd > 0:
            attach.append(round(a, 2))
            detach.append(round(d, 2))
        time.sleep(0.05)  # let the daemon finish writing its state before the next round
    print(json.dumps({"attach_ms": attach, "detach_ms": detach, "errors": errors}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
