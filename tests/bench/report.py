# SPDX-License-Identifier: LGPL-2.1-or-later
"""report.py: the figures of tests/bench/run.sh, as JSON and as a table.

  report.py attach ADDRS RULES ROUNDS ATTACH_JSON DAEMON_MS_FILE   one attach row (JSON)
  report.py final RESULTS_DIR OUT QUICK BUILD_DIR REFERENCE        merge, write OUT, print

The schema is documented at the top of run.sh. Exit 1 from final when a figure
that must hold does not (netlink writes in a no-op refresh).
"""
import datetime
import glob
import json
import os
import platform
import subprocess
import sys


def stats(samples):
    s = sorted(samples)
    if not s:
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None, "samples": []}
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    p95 = s[max(0, -(-95 * n // 100) - 1)]  # nearest rank
    return {"n": n, "median": round(med, 2), "p95": p95, "min": s[0], "max": s[-1],
            "samples": samples}


def attach_row(argv):
    addrs, rules, rounds, got, daemon_file = argv
    got = json.loads(got)
    with open(daemon_file) as f:
        daemon = [float(x) for x in f.read().split()]
    print(json.dumps({"addrs": int(addrs), "rules": int(rules), "rounds": int(rounds),
                      "attach_ms": stats(got["attach_ms"]), "detach_ms": stats(got["detach_ms"]),
                      "daemon_ms": stats(daemon)}))


def sh(*cmd, cwd=None):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd).stdout.strip()
    except OSError:
        return ""


def machine(build_dir):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    src = os.environ.get("EC2NET_SOURCE_DIR", ".")
    opts = {}
    try:
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError):
        pass
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "git_commit": sh("git", "-C", src, "rev-parse", "HEAD"),
            "git_dirty": bool(sh("git", "-C", src, "status", "--porcelain", "--untracked-files=no")),
            "build_dir": build_dir, "buildtype": opts.get("buildtype"),
            "sanitize": opts.get("b_sanitize"), "loadavg": load}


def load(path):
    with open(path) as f:
        return json.load(f)


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        v = "%.1f" % v
    return "%s%s" % (v, unit)


def final(argv):
    res, out, quick, build_dir, reference = argv
    r = {"schema": 1, "quick": quick == "1", "machine": machine(build_dir)}
    attach = [load(p) for p in sorted(glob.glob(os.path.join(res, "attach.*.json")))]
    if attach:
        r["attach"] = sorted(attach, key=lambda a: a["addrs"])
    cold = [load(p) for p in glob.glob(os.path.join(res, "cold.*.json"))]
    for c in cold:
        p = os.path.join(res, "coldnl.%d.json" % c["enis"])
        if os.path.exists(p):
            c["netlink"] = load(p)
    if cold:
        r["cold_start"] = sorted(cold, key=lambda c: c["enis"])
    if os.path.exists(os.path.join(res, "refresh.json")):
        r["noop_refresh"] = load(os.path.join(res, "refresh.json"))
    if os.path.exists(os.path.join(res, "idle.json")):
        r["idle"] = load(os.path.join(res, "idle.json"))
    r["reference"] = {"name": "amazon-ec2-net-utils", "measured": False, "reason": reference}
    with open(out, "w") as f:
        json.dump(r, f, indent=1)
        f.write("\n")

    m = r["machine"]
    print("ec2netd benchmarks: %s cores (%s), Linux %s, %s, commit %s%s, %s build%s, load %s" % (
        m["nproc"], m["cpu"], m["kernel"], m["date"], m["git_commit"][:10],
        "+dirty" if m["git_dirty"] else "", m["buildtype"],
        ", sanitize " + m["sanitize"] if m["sanitize"] not in (None, "none") else "", m["loadavg"]))
    if r["quick"]:
        print("(--quick: fewer rounds and sizes; idle wakeups scaled from 10 s)")
    if attach:
        print("\nAttach to configured (ms; link appears -> last rule of its table, rtnetlink in the instance)")
        print("%-14s %6s %8s %8s %8s %8s   %-22s %-22s" % ("addresses", "runs", "median", "p95", "min",
                                                          "max", "daemon's own: median", "detach: median/p95"))
        for a in r["attach"]:
            s, d, dm = a["attach_ms"], a["detach_ms"], a["daemon_ms"]
            print("%-14s %6d %8s %8s %8s %8s   %-22s %-22s" % (
                "%d+%d" % (a["addrs"], a["addrs"]), s["n"], fmt(s["median"]), fmt(s["p95"]),
                fmt(s["min"]), fmt(s["max"]), fmt(dm["median"]),
                "%s / %s" % (fmt(d["median"]), fmt(d["p95"]))))
    if cold:
        print("\nCold start (50 IPv4 + 50 IPv6 per ENI; netlink counted in a second run under strace)")
        print("%5s %9s %9s %10s %7s %6s %6s %9s %9s %8s %15s %12s" % (
            "ENIs", "READY ms", "pass ms", "IMDS/walks", "ops", "rules", "addrs", "nl sent", "nl recv",
            "VmHWM", "restart READY", "restart IMDS"))
        for c in r["cold_start"]:
            nl = c["netlink"] or {}
            print("%5d %9s %9s %10s %7d %6d %6d %9s %9s %8s %15s %12d" % (
                c["enis"], fmt(c["ready_ms"]), fmt(c["pass_ms"]),
                "%d/%d" % (c["imds_requests"], c["imds_walks"]),
                c["operations"], c["rules"], c["addresses"], fmt(nl.get("sent")),
                fmt(nl.get("received")), fmt(c["vmhwm_kb"] / 1024, " MB"),
                fmt(c["restart_ready_ms"], " ms"), c["restart_imds_requests"]))
        for c in r["cold_start"]:
            nl = c["netlink"]
            if nl and nl.get("enobufs"):
                print("  %d ENIs: the daemon's rtnetlink monitor overflowed %d times (ENOBUFS)" % (
                    c["enis"], nl["enobufs"]))
            if c["imds_walks"] > 1:
                print("  %d ENIs: %d full IMDS walks before the daemon went quiet" % (
                    c["enis"], c["imds_walks"]))
    ok = True
    if "noop_refresh" in r:
        n = r["noop_refresh"]
        print("\nNo-op refresh, %d ENIs: pass %s ms, IMDS %d requests (fake IMDS saw %d), "
              "netlink %d sent (daemon log); under strace: %d sent (%d dump requests), "
              "%d writes" % (n["enis"], fmt(n["pass_ms"]), n["imds_requests"], n["imds_requests_seen"],
                             n["netlink_sent"], n["netlink"]["sent"], n["netlink"]["dump_requests"],
                             n["netlink_writes"]))
        if n["netlink_writes"] != 0:
            print("FAIL: a refresh of an unchanged instance made %d netlink writes: %s" % (
                n["netlink_writes"], n["netlink"]["by_type"]))
            ok = False
    if "idle" in r:
        i = r["idle"]
        print("\nIdle, %d ENIs, RefreshSec=60, WatchdogSec=3min: VmRSS %s; in %d s: %d wakeups "
              "(epoll_wait returns) = %s/min%s, %d context switches (under strace, which stops the "
              "daemon at every syscall), %d refreshes, %d WATCHDOG=1" % (
                  i["enis"], fmt(i["vmrss_kb"] / 1024, " MB"), i["window_s"], i["epoll_wakeups"],
                  fmt(i["wakeups_per_min"]), " (scaled from %d s)" % i["window_s"] if i["scaled"] else "",
                  i["ctx_switches"], i["refreshes"], i["watchdog_pings"]))
    print("\nReference (%s): not measured: %s" % (r["reference"]["name"], reference))
    return 0 if ok else 1


def main():
    if sys.argv[1] == "attach":
        attach_row(sys.argv[2:])
        return 0
    if sys.argv[1] == "final":
        return final(sys.argv[2:])
    raise SystemExit("report.py: unknown mode " + sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
