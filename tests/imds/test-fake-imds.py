#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Self-test of tests/integration/fake_imds.py, in TAP. Loopback only.

Arguments: FAKE_IMDS_PY DATA_FILE. Crawls every dataset of every fixture in shared/fixtures
(EC2NET_FIXTURES_DIR, default <source>/../shared/fixtures; skipped if absent), in all three data
formats (ours, AEMM, plain {"meta-data": ...}), and checks the token rules, listings, errors,
the control API and the log against imds.md §2-§5 and §10.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

TTL = "X-aws-ec2-metadata-token-ttl-seconds"
TOK = "X-aws-ec2-metadata-token"

FAKE = os.path.abspath(sys.argv[1])
OWN_DATA = os.path.abspath(sys.argv[2])
TMP = tempfile.mkdtemp(prefix="test-fake-imds.")
results = []


class Fake:
    def __init__(self, data, dataset=None, listen="127.0.0.1", extra=()):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.port_file = os.path.join(self.dir, "port")
        self.log_file = os.path.join(self.dir, "log")
        args = [sys.executable, FAKE, "--data", data, "--listen", listen, "--port", "0",
                "--port-file", self.port_file, "--log", self.log_file, *extra]
        if dataset is not None:
            args += ["--dataset", dataset]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.host = listen
        for _ in range(200):
            if os.path.exists(self.port_file):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("fake exited: %s" % self.proc.stderr.read().decode())
            time.sleep(0.05)
        with open(self.port_file, encoding="ascii") as f:
            self.port = int(f.read())
        self.conn = self.connect()

    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=5)

    def request(self, method, path, headers=None, body=None, conn=None):
        c = conn or self.conn
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r, data

    def token(self, ttl=21600):
        r, data = self.request("PUT", "/latest/api/token", {TTL: str(ttl)})
        assert r.status == 200, r.status
        return data.decode()

    def get(self, path, token=None):
        return self.request("GET", path, {TOK: token} if token else {})

    def ctl(self, op, body=b""):
        r, data = self.request("POST", "/_fake/" + op, body=body)
        assert r.status == 200, (op, r.status, data)
        return json.loads(data)

    def log(self):
        r, data = self.request("GET", "/_fake/log")
        assert r.status == 200
        return json.loads(data)

    def stop(self):
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=5)
        return self.proc.returncode, out + err


def check(name, fn):
    try:
        fn()
        results.append((True, name, None))
    except Exception:  # noqa: BLE001 - a failed check is reported, the run goes on
        results.append((False, name, traceback.format_exc()))


def crawl(fake, token, root):
    """The tree as the fake serves it, following listings."""
    r, data = fake.get(root, token)
    assert r.status == 200, (root, r.status)
    assert r.getheader("Content-Length") is not None
    text = data.decode()
    assert not text.endswith("\n"), "listing of %s ends in LF" % root
    tree = {}
    for entry in text.split("\n") if text else []:
        if entry.endswith("/"):
            tree[entry[:-1]] = crawl(fake, token, root + entry)
        else:
            r, body = fake.get(root + entry, token)
            assert r.status == 200, (root + entry, r.status)
            tree[entry] = body.decode()
    assert text.split("\n") == sorted(text.split("\n")), "listing of %s not sorted" % root
    return tree


def expected_tree(tree):
    """What a fixture tree should look like when served: _fixture_notes and nulls gone."""
    out = {}
    for k, v in tree.items():
        if k == "_fixture_notes" or v is None:
            continue
        out[k] = expected_tree(v) if isinstance(v, dict) else v
    return out


def check_dataset(data, dataset, md, dynamic):
    fake = Fake(data, dataset)
    try:
        token = fake.token()
        served = crawl(fake, token, "/latest/meta-data/") if md else {}
        assert served == expected_tree(md), "meta-data differs"
        doc = (dynamic or {}).get("instance-identity", {}).get("document")
        if isinstance(doc, dict):
            r, body = fake.get("/latest/dynamic/instance-identity/document", token)
            assert r.status == 200 and json.loads(body) == doc
    finally:
        rc, out = fake.stop()
    assert rc == 0, rc
    assert token.encode() not in out, "token printed"


def fixture_checks(fixtures):
    for name in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, name)
        if not name.endswith(".json"):
            continue
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for ds, content in doc["datasets"].items():
            check("%s dataset %s served as in the fixture" % (name, ds),
                  lambda p=path, d=ds, c=content: check_dataset(p, d, c.get("meta-data", {}),
                                                              c.get("dynamic")))
            # Same dataset as a plain {"meta-data": ...} file.
            if ds == next(iter(doc["datasets"])):
                plain = os.path.join(TMP, "plain-" + name)
                with open(plain, "w", encoding="utf-8") as f:
                    json.dump({"meta-data": content.get("meta-data", {}),
                               "dynamic": content.get("dynamic", {})}, f)
                check("%s dataset %s as plain format" % (name, ds),
                      lambda p=plain, c=content: check_dataset(p, None, c.get("meta-data", {}),
                                                             c.get("dynamic")))
    aemm = os.path.join(fixtures, "aemm", "aemm-metadata-default-values.json")
    if os.path.exists(aemm):
        check("AEMM default values: every path served", lambda: check_aemm(aemm))


def check_aemm(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    fake = Fake(path)
    try:
        token = fake.token()
        crawl(fake, token, "/latest/meta-data/")
        for section in ("metadata", "dynamic"):
            paths, values = doc[section]["paths"], doc[section]["values"]
            all_paths = set(paths.values())
            for name, p in paths.items():
                v = values.get(name)
                r, body = fake.get(p, token)
                if v is None:
                    assert r.status == 404, (p, r.status)
                    continue
                if any(o.startswith(p + "/") for o in all_paths):
                    assert r.status == 200  # also a directory: served as one
                    continue
                assert r.status == 200, (p, r.status)
                if isinstance(v, (dict, list)):
                    assert json.loads(body) == v, p
                else:
                    assert body.decode() == str(v), p
        r, body = fake.get("/latest/user-data", token)
        assert r.status == 200 and body.decode() == doc["userdata"]["values"]["userdata"]
    finally:
        fake.stop()


def protocol_checks():
    fake = Fake(OWN_DATA)
    mac = "0e:49:61:0f:c3:11"
    token_values = []

    def tokens():
        for ttl in ("0", "21601", "abc", "-1", "1.5", ""):
            r, _ = fake.request("PUT", "/latest/api/token", {TTL: ttl})
            assert r.status == 400, (ttl, r.status)
        r, _ = fake.request("PUT", "/latest/api/token")
        assert r.status == 400
        for ttl in ("1", "21600"):
            r, data = fake.request("PUT", "/latest/api/token", {TTL: ttl})
            assert r.status == 200 and r.getheader(TTL) == ttl and data and b"\n" not in data
            token_values.append(data.decode())
        r, _ = fake.request("PUT", "/latest/api/token", {TTL: "60", "X-Forwarded-For": "1.2.3.4"})
        assert r.status == 403
        r, _ = fake.request("PUT", "/2021-03-23/api/token", {TTL: "60"})
        assert r.status == 403
        r, _ = fake.request("GET", "/latest/api/token")
        assert r.status == 405
    check("token PUT: TTL 1..21600 else 400, TTL echoed, 403 for XFF and dated path", tokens)

    def token_use():
        good = fake.token()
        token_values.append(good)
        r, _ = fake.get("/latest/meta-data/mac")
        assert r.status == 401
        r, _ = fake.get("/latest/meta-data/mac", "not-a-token")
        assert r.status == 401
        r, body = fake.get("/latest/meta-data/mac", good)
        assert r.status == 200 and body == mac.encode()
        short = fake.token(1)
        token_values.append(short)
        time.sleep(1.1)
        r, _ = fake.get("/latest/meta-data/mac", short)
        assert r.status == 401, "token outlived its TTL"
        fake.ctl("expire-tokens")
        r, _ = fake.get("/latest/meta-data/mac", good)
        assert r.status == 401
        fake.ctl("mode", json.dumps({"tokens": "optional"}))
        r, body = fake.get("/latest/meta-data/mac")
        assert r.status == 200 and body == mac.encode()
        r, _ = fake.get("/latest/meta-data/mac", "not-a-token")
        assert r.status == 401, "a bad token is refused in optional mode too"
        fake.ctl("mode", json.dumps({"tokens": "required"}))
    check("tokens: 401 without, unknown or expired; optional mode serves v1", token_use)

    def tree_rules():
        t = fake.token()
        token_values.append(t)
        base = "/latest/meta-data/network/interfaces/macs"
        r1, b1 = fake.get(base, t)
        r2, b2 = fake.get(base + "/", t)
        assert r1.status == r2.status == 200 and b1 == b2
        assert b1 == b"0e:49:61:0f:c3:11/\n0e:49:61:0f:c3:12/", b1
        r, b = fake.get(base + "/" + mac, t)
        assert b"_fixture_notes" not in b and b"device-number" in b
        r, b = fake.get("/latest/meta-data/mac/", t)
        assert r.status == 404, "leaf asked as a directory"
        r, b = fake.get("/latest/meta-data/nope", t)
        assert r.status == 404 and b"<title>404 - Not Found</title>" in b
        assert r.getheader("Content-Length") == str(len(b))
        r, b = fake.request("POST", "/latest/meta-data/mac", {TOK: t}, body=b"x")
        assert r.status == 405
        r, b = fake.request("HEAD", "/latest/meta-data/mac", {TOK: t})
        assert r.status == 200 and b == b"" and r.getheader("Content-Length") == str(len(mac))
        r, b = fake.get("/latest/dynamic/instance-identity/document", t)
        assert json.loads(b)["instanceId"] == "i-0123456789abcdef0"
        fake.ctl("mode", json.dumps({"trailing_lf": True}))
        r, b = fake.get(base, t)
        assert b == b"0e:49:61:0f:c3:11/\n0e:49:61:0f:c3:12/\n"
        r, b = fake.get("/latest/meta-data/mac", t)
        assert b == (mac + "\n").encode()
        fake.ctl("mode", json.dumps({"trailing_lf": False}))
    check("listings with/without '/', sorted, no LF; 404 XHTML; 405; HEAD; trailing_lf mode",
          tree_rules)

    def control():
        t = fake.token()
        token_values.append(t)
        fake.ctl("set?path=meta-data/network/interfaces/macs/0e:00:00:00:00:99/device-number",
                 b"7")
        r, b = fake.get("/latest/meta-data/network/interfaces/macs/", t)
        assert b"0e:00:00:00:00:99/" in b
        r, b = fake.get("/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:99/"
                        "device-number", t)
        assert b == b"7"
        assert fake.ctl("delete?path=meta-data/network/interfaces/macs/0e:00:00:00:00:99")[
            "deleted"]
        r, b = fake.get("/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:99/", t)
        assert r.status == 404
        fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": "status", "status": 503,
                                      "count": 2, "retry_after": 3}))
        statuses = []
        for _ in range(3):
            r, b = fake.get("/latest/meta-data/mac", t)
            statuses.append(r.status)
        assert statuses == [503, 503, 200], statuses
        fake.ctl("fault", json.dumps({"path": "*", "method": "PUT", "kind": "status",
                                      "status": 404}))
        r, _ = fake.request("PUT", "/latest/api/token", {TTL: "60"})
        assert r.status == 404
        r, _ = fake.get("/latest/meta-data/mac", t)
        assert r.status == 200, "method filter"
        fake.ctl("clear-faults")
        fake.ctl("fault", json.dumps({"path": "meta-data/*", "kind": "delay", "delay_ms": 300,
                                      "count": 1}))
        t0 = time.monotonic()
        r, _ = fake.get("/latest/meta-data/mac", t)
        assert r.status == 200 and time.monotonic() - t0 >= 0.29
        fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": "oversize",
                                      "size": 100000, "count": 1}))
        r, b = fake.get("/latest/meta-data/mac", t)
        assert len(b) == 100000
        fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": "nul", "count": 1}))
        r, b = fake.get("/latest/meta-data/mac", t)
        assert b"\0" in b
        for kind in ("drop", "reset_mid_body", "malformed"):
            fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": kind, "count": 1}))
            c = fake.connect()
            try:
                fake.request("GET", "/latest/meta-data/mac", {TOK: t}, conn=c)
                raise AssertionError("%s answered normally" % kind)
            except (http.client.HTTPException, ConnectionError):
                pass
            finally:
                c.close()
        fake.ctl("reset-log")
        fake.ctl("tree", json.dumps({"mac": "0e:00:00:00:00:01"}))
        r, b = fake.get("/latest/meta-data/", t)
        assert b == b"mac"
        log = fake.log()
        assert [(e["method"], e["path"], e["status"], e["token"]) for e in log] == [
            ("GET", "/latest/meta-data/", 200, True)], log
        r, _ = fake.request("POST", "/_fake/fault", body=b'{"kind": "bogus"}')
        assert r.status == 400
    check("control API: set, delete, tree, faults (count, method, kinds), log", control)

    def hostile_bodies():
        t = fake.token()
        token_values.append(t)
        # A value that is not UTF-8 comes back byte for byte.
        fake.ctl("set?path=meta-data/network/interfaces/macs/0e:00:00:00:00:98/local-ipv4s",
                 b"10.0.0.\xff\xfe\n10.0.0.2")
        r, b = fake.get("/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:98/"
                        "local-ipv4s", t)
        assert r.status == 200 and b == b"10.0.0.\xff\xfe\n10.0.0.2", b
        fake.ctl("delete?path=meta-data/network/interfaces/macs/0e:00:00:00:00:98")
        # kind "body": exact bytes, NUL and non-UTF-8 included.
        raw = b"10.0.0.1\x00\n\xc3\x28\n$(touch /tmp/x)"
        fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": "body", "count": 1,
                                      "body_b64": base64.b64encode(raw).decode()}))
        r, b = fake.get("/latest/meta-data/mac", t)
        assert r.status == 200 and b == raw, b
        r, _ = fake.request("POST", "/_fake/fault", body=b'{"kind": "body"}')
        assert r.status == 400, "body without body_b64"
        # 10 MiB.
        fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": "oversize",
                                      "size": 10 << 20, "count": 1}))
        r, b = fake.get("/latest/meta-data/mac", t)
        assert len(b) == 10 << 20 and int(r.getheader("Content-Length")) == 10 << 20
        # reset_mid_body: half the body, then a TCP RST.
        fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": "reset_mid_body",
                                      "count": 1}))
        c = fake.connect()
        try:
            c.request("GET", "/latest/meta-data/mac", headers={TOK: t})
            resp = c.getresponse()
            assert resp.status == 200 and int(resp.getheader("Content-Length")) >= 2
            try:
                resp.read()
                raise AssertionError("reset_mid_body: the whole body arrived")
            except ConnectionResetError:
                pass
        finally:
            c.close()
        # stall_mid_body: half the body, nothing for delay_ms, then the connection closes.
        fake.ctl("fault", json.dumps({"path": "meta-data/mac", "kind": "stall_mid_body",
                                      "delay_ms": 300, "count": 1}))
        c = fake.connect()
        t0 = time.monotonic()
        try:
            c.request("GET", "/latest/meta-data/mac", headers={TOK: t})
            resp = c.getresponse()
            assert resp.status == 200
            try:
                resp.read()
                raise AssertionError("stall_mid_body: the whole body arrived")
            except http.client.IncompleteRead as e:
                assert len(e.partial) >= 1
            assert time.monotonic() - t0 >= 0.29, "no stall"
        finally:
            c.close()
        r, b = fake.get("/latest/meta-data/mac", t)
        assert r.status == 200 and b"\0" not in b and len(b) == 17, ("faults not used up", b)
    check("hostile bodies: non-UTF-8 set, exact bytes, 10 MiB, RST and stall mid-body",
          hostile_bodies)

    def keepalive():
        c = fake.connect()
        t = fake.token()
        token_values.append(t)
        for _ in range(5):
            r, b = fake.request("GET", "/latest/meta-data/mac", {TOK: t}, conn=c)
            assert r.status == 200 and r.version == 11 and not r.will_close
        c.close()
    check("HTTP/1.1 keep-alive: several answers on one connection", keepalive)

    def shutdown():
        rc, out = fake.stop()
        assert rc == 0, rc
        with open(fake.log_file, encoding="utf-8") as f:
            logtext = f.read()
        assert "GET /latest/meta-data/mac" in logtext
        for tv in token_values:
            assert tv not in logtext and tv.encode() not in out, "token leaked"
    check("SIGTERM exits 0; the log file and output never hold a token", shutdown)


def ipv6_check():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        results.append((True, "IPv6 ::1 listen # SKIP no IPv6 loopback", None))
        return

    def run():
        fake = Fake(OWN_DATA, listen="::1")
        try:
            t = fake.token()
            r, b = fake.get("/latest/meta-data/mac", t)
            assert r.status == 200 and b == b"0e:49:61:0f:c3:11"
            assert fake.log()[-1]["peer"].startswith("[::1]:")
        finally:
            fake.stop()
    check("listens on ::1", run)


def main():
    fixtures = os.environ.get("EC2NET_FIXTURES_DIR")
    if not fixtures and os.environ.get("EC2NET_SOURCE_DIR"):
        fixtures = os.path.join(os.environ["EC2NET_SOURCE_DIR"], "..", "shared", "fixtures")
    check("own data file served as in the fixture",
          lambda: check_dataset(OWN_DATA, None, *own_trees()))
    if fixtures and os.path.isdir(fixtures):
        fixture_checks(os.path.abspath(fixtures))
    else:
        results.append((True, "shared fixtures # SKIP not found (set EC2NET_FIXTURES_DIR)", None))
    protocol_checks()
    ipv6_check()

    print("1..%d" % len(results))
    failed = 0
    for i, (ok, name, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if detail:
            failed += 1
            for line in detail.rstrip().split("\n"):
                print("# " + line)
    return 1 if failed else 0


def own_trees():
    with open(OWN_DATA, encoding="utf-8") as f:
        ds = next(iter(json.load(f)["datasets"].values()))
    return ds["meta-data"], ds.get("dynamic")


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
