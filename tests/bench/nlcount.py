# SPDX-License-Identifier: LGPL-2.1-or-later
"""nlcount.py STRACE_LOG: the netlink messages in an strace log, as JSON.

The log is strace -f -v -s 65536 -e trace=sendto,sendmsg,recvfrom,recvmsg, which
decodes every netlink message of a datagram ([{nlmsg_len=N, nlmsg_type=T, ...},
...]). Counts messages, not syscalls: one sendto of ec2net carries many requests,
one recvmsg many dump parts. The copy of a request inside an NLMSG_ERROR
("msg={nlmsg_len=...") is not a message; a MSG_PEEK read (libnl peeks at each
datagram before it reads it) is not counted.

  sent           messages written by the process
  writes         of those, the ones that are not RTM_GET* (changes to the kernel)
  dump_requests  RTM_GET* messages
  received       messages read: dump parts, NLMSG_DONE, ACKs, errors, notifications
  errors         NLMSG_ERROR with an error other than 0
  enobufs        reads that failed with ENOBUFS (notifications lost: the socket overflowed)
  by_type        "sent RTM_NEWRULE": n, "received NLMSG_ERROR": n, ...
"""
import json
import re
import sys

CALL = re.compile(r"^(?:\d+\s+)?(sendto|sendmsg|recvfrom|recvmsg)\(")
MSG = re.compile(r"\[\{nlmsg_len=\d+, nlmsg_type=([A-Za-z0-9_]+|0x[0-9a-f]+)")
# strace names the types only when it saw the socket created (not after -p).
NAMES = {2: "NLMSG_ERROR", 3: "NLMSG_DONE", 16: "RTM_NEWLINK", 17: "RTM_DELLINK", 18: "RTM_GETLINK",
         19: "RTM_SETLINK", 20: "RTM_NEWADDR", 21: "RTM_DELADDR", 22: "RTM_GETADDR",
         24: "RTM_NEWROUTE", 25: "RTM_DELROUTE", 26: "RTM_GETROUTE", 32: "RTM_NEWRULE",
         33: "RTM_DELRULE", 34: "RTM_GETRULE", 108: "RTM_NEWLINKPROP", 109: "RTM_DELLINKPROP"}
ERR = re.compile(r"nlmsg_type=(?:NLMSG_ERROR|0x2)[^}]*\}, \{error=(-?[A-Za-z0-9_]+)")


def main():
    c = {"sent": 0, "received": 0, "writes": 0, "dump_requests": 0, "errors": 0, "enobufs": 0,
         "by_type": {}}
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            m = CALL.match(line)
            if m and m.group(1).startswith("recv") and "= -1 ENOBUFS" in line:
                c["enobufs"] += 1
            if not m or "nlmsg_len=" not in line or "MSG_PEEK" in line:
                continue
            out = m.group(1).startswith("send")
            for t in MSG.findall(line):
                if t.startswith("0x"):
                    t = NAMES.get(int(t, 16), t)
                key = ("sent " if out else "received ") + t
                c["by_type"][key] = c["by_type"].get(key, 0) + 1
                if out:
                    c["sent"] += 1
                    if t.startswith("RTM_GET"):
                        c["dump_requests"] += 1
                    else:
                        c["writes"] += 1
                else:
                    c["received"] += 1
            if not out:
                c["errors"] += sum(1 for e in ERR.findall(line) if e != "0")
    print(json.dumps(c, sort_keys=True))


if __name__ == "__main__":
    main()
