# SPDX-License-Identifier: LGPL-2.1-or-later
"""nlcount.py STRACE_LOG: the netlink messages in an strace log, as JSON.

The log is strace -f -v -s 65536 -e trace=sendto,sendmsg,recvfrom,recvmsg, which
decodes every netlink message of a datagram ([{nlmsg_len=N, nlmsg_type=T, ...},
...]). Counts messages, not syscalls: one sendto of ec2net carries many requests,
one recvmsg many dump parts. The copy of a request inside an NLMSG_ERROR
("msg={nlmsg_len=...") is not a message; MSG_PEEK reads carry no data.

  sent           messages written by the process
  writes         of those, the ones that are not RTM_GET* (changes to the kernel)
  dump_requests  RTM_GET* messages
  received       messages read: dump parts, NLMSG_DONE, ACKs, errors, notifications
  errors         NLMSG_ERROR with an error other than 0
  by_type        "sent RTM_NEWRULE": n, "received NLMSG_ERROR": n, ...
"""
import json
import re
import sys

CALL = re.compile(r"^(?:\d+\s+)?(sendto|sendmsg|recvfrom|recvmsg)\(")
MSG = re.compile(r"\[\{nlmsg_len=\d+, nlmsg_type=([A-Za-z0-9_]+|0x[0-9a-f]+)")
ERR = re.compile(r"nlmsg_type=NLMSG_ERROR[^}]*\}, \{error=(-?[A-Za-z0-9_]+)")


def main():
    c = {"sent": 0, "received": 0, "writes": 0, "dump_requests": 0, "errors": 0, "by_type": {}}
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            m = CALL.match(line)
            if not m or "nlmsg_len=" not in line:
                continue
            out = m.group(1).startswith("send")
            for t in MSG.findall(line):
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
