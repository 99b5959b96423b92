#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fake EC2 Instance Metadata Service for ec2net tests (Python 3 standard library only).

Behaviour follows shared/docs/imds.md (sections 2-5 and 10): IMDSv2 tokens with TTL and expiry,
directory listings with and without the trailing '/', 404 with an XHTML page, HTTP/1.1
keep-alive, plus a control API under /_fake/ that tests use to change the tree, inject faults
and read the request log.

Usage:
  fake_imds.py --data FILE [--dataset NAME] [--listen ADDR] [--port N] [--port-file F]
               [--log F] [--tokens required|optional] [--trailing-lf]

Token values are never printed or logged.
"""

import argparse
import base64
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TTL_MIN = 1
TTL_MAX = 21600
FAULT_KINDS = ("status", "delay", "drop", "reset_mid_body", "stall_mid_body", "oversize",
               "malformed", "nul", "body")
DATED_TOKEN_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/api/token/?$")

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_page(status):
    """The small XHTML page real IMDS sends with every error status."""
    title = "%d - %s" % (status, REASONS.get(status, "Error"))
    return ('<?xml version="1.0" encoding="iso-8859-1"?>\n'
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
            '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
            ' <head>\n'
            '  <title>%s</title>\n'
            ' </head>\n'
            ' <body>\n'
            '  <h1>%s</h1>\n'
            ' </body>\n'
            '</html>\n' % (title, title)).encode("latin-1")


# ---------------------------------------------------------------------------------------------
# Data loading


def leaf_text(value):
    """A fixture value that is not a directory, as the body IMDS would send."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def clean_tree(tree, path=""):
    """Copy a fixture tree: drop _fixture_notes and null values; objects stay directories except
    the instance identity document, which IMDS serves as JSON text."""
    out = {}
    for key, value in tree.items():
        if key == "_fixture_notes" or value is None:
            continue
        sub = path + "/" + key
        if isinstance(value, dict) and sub != "/instance-identity/document":
            out[key] = clean_tree(value, sub)
        else:
            out[key] = leaf_text(value)
    return out


def tree_set(tree, parts, value, prefer_dir=False):
    """Set a leaf, creating directories. An existing leaf on the way becomes a directory."""
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if prefer_dir and isinstance(node.get(parts[-1]), dict):
        return
    node[parts[-1]] = value


def load_aemm(section):
    """AEMM: {"paths": {name: "/latest/meta-data/x"}, "values": {name: value}} -> tree."""
    tree = {}
    paths = section.get("paths", {})
    values = section.get("values", {})
    # Deeper paths first, so a leaf never hides a directory AEMM also serves below it.
    for name, path in sorted(paths.items(), key=lambda kv: -kv[1].count("/")):
        if name not in values or values[name] is None:
            continue
        parts = [p for p in path.split("/") if p][2:]  # drop "latest", "meta-data"
        if not parts:
            continue
        tree_set(tree, parts, leaf_text(values[name]), prefer_dir=True)
    return tree


def load_data(filename, dataset=None):
    """Returns (meta_data_tree, dynamic_tree, user_data or None, dataset name or None)."""
    with open(filename, encoding="utf-8") as f:
        doc = json.load(f)
    if "datasets" in doc:
        names = list(doc["datasets"].keys())
        if not names:
            raise ValueError("%s: no datasets" % filename)
        name = dataset if dataset is not None else names[0]
        if name not in doc["datasets"]:
            raise ValueError("%s: no dataset '%s' (have: %s)" % (filename, name, ", ".join(names)))
        ds = doc["datasets"][name]
        return (clean_tree(ds.get("meta-data", {})), clean_tree(ds.get("dynamic", {})),
                ds.get("user-data"), name)
    if isinstance(doc.get("metadata"), dict) and "paths" in doc["metadata"]:
        user_data = None
        ud = doc.get("userdata")
        if isinstance(ud, dict) and ud.get("values", {}).get("userdata") is not None:
            user_data = leaf_text(ud["values"]["userdata"])
        return (load_aemm(doc["metadata"]), load_aemm(doc.get("dynamic", {})), user_data, None)
    if "meta-data" in doc:
        return (clean_tree(doc["meta-data"]), clean_tree(doc.get("dynamic", {})),
                doc.get("user-data"), None)
    raise ValueError("%s: unknown data format" % filename)


# ---------------------------------------------------------------------------------------------
# Server state


class Fault:
    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("fault must be an object")
        self.kind = spec.get("kind", "status")
        if self.kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind '%s'" % self.kind)
        path = spec.get("path", "*")
        if not isinstance(path, str) or not path:
            raise ValueError("bad fault path")
        # "meta-data/mac" and "/latest/meta-data/mac" mean the same thing.
        if path != "*" and not path.startswith("/"):
            path = "/latest/" + path
        self.path = path
        self.method = spec.get("method")
        if self.method is not None:
            self.method = str(self.method).upper()
        self.status = spec.get("status")
        self.delay_ms = int(spec.get("delay_ms", 0))
        self.count = int(spec.get("count", -1))
        self.retry_after = spec.get("retry_after")
        self.size = int(spec.get("size", 1024 * 1024))
        # kind "body": these exact bytes with status 200 (base64, so that NUL and non-UTF-8
        # bytes travel in JSON).
        self.body = base64.b64decode(spec.get("body_b64", ""), validate=True)
        if self.kind == "status" and not isinstance(self.status, int):
            raise ValueError("fault kind 'status' needs an integer 'status'")
        if self.kind == "body" and "body_b64" not in spec:
            raise ValueError("fault kind 'body' needs 'body_b64'")

    def matches(self, method, path):
        if self.method is not None and self.method != method:
            return False
        if self.path == "*":
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path or path.rstrip("/") == self.path.rstrip("/")


class State:
    def __init__(self, meta_data, dynamic, user_data, tokens_mode, trailing_lf, log_file):
        self.lock = threading.Lock()
        self.meta_data = meta_data
        self.dynamic = dynamic
        self.user_data = user_data
        self.tokens_mode = tokens_mode
        self.trailing_lf = trailing_lf
        self.tokens = {}  # token -> monotonic expiry
        self.faults = []
        self.log = []
        self.log_file = log_file
        self.t0 = time.monotonic()

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def new_token(self, ttl):
        token = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode("ascii")
        with self.lock:
            now = time.monotonic()
            self.tokens = {t: e for t, e in self.tokens.items() if e > now}
            self.tokens[token] = now + ttl
        return token

    def token_valid(self, token):
        with self.lock:
            expiry = self.tokens.get(token)
            return expiry is not None and expiry > time.monotonic()

    def record(self, method, path, status, has_token, fault=None, peer=None):
        entry = {"method": method, "path": path, "status": status, "token": has_token,
                 "t": round(time.monotonic() - self.t0, 6)}
        if peer is not None:
            entry["peer"] = peer
        if fault is not None:
            entry["fault"] = fault
        with self.lock:
            self.log.append(entry)
            if self.log_file:
                self.log_file.write("%.6f %s %s %d token=%s%s\n" % (
                    entry["t"], method, path, status, "yes" if has_token else "no",
                    " fault=" + fault if fault else ""))
                self.log_file.flush()


def lookup(tree, parts):
    node = tree
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def listing(node):
    return "\n".join(sorted(k + "/" if isinstance(v, dict) else k for k, v in node.items()))


# ---------------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EC2ws"

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - we keep our own log
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, BrokenPipeError, TimeoutError):
            pass

    @property
    def state(self):
        return self.server.state

    # -- plumbing ---------------------------------------------------------------------------

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            return b""
        return self.rfile.read(n) if n > 0 else b""

    def setup(self):
        super().setup()
        # Headers and body leave in one segment (see send()); no Nagle delay either way.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def send(self, status, body=b"", headers=None, content_type="text/plain"):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status, REASONS.get(status))
        if body or status != 204:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        # end_headers() would flush the headers in a write of their own; a second small write
        # for the body then waits for the client's delayed ACK (40 ms) under Nagle.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []
        self.wfile.flush()

    def send_error_status(self, status, headers=None):
        self.send(status, error_page(status), headers, content_type="text/html")

    # -- dispatch ---------------------------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def dispatch(self):
        url = urlsplit(self.path)
        path = url.path
        if path.startswith("/_fake/"):
            self.control(path, parse_qs(url.query))
            return
        self.read_body()  # drained so that keep-alive stays in sync
        has_token = TOKEN_HEADER.lower() in (k.lower() for k in self.headers.keys())
        fault = self.state.take_fault(self.command, path)

        # Each request is logged *before* its answer leaves, so a test that reads the log
        # right after getting an answer always finds it there.
        def log(status):
            self.state.record(self.command, path, status, has_token,
                              fault.kind if fault is not None else None, self.peer())

        if fault is not None and self.apply_fault(fault, path, log):
            return
        status, resp_body, headers, ctype = self.answer(path)
        if fault is not None and fault.kind == "delay" and isinstance(fault.status, int):
            status, resp_body, headers, ctype = fault.status, error_page(fault.status), {}, \
                "text/html"
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        log(status)
        self.send(status, resp_body, headers, ctype)

    def apply_fault(self, fault, path, log):
        """Acts on a fault. Returns True when the request is finished, False when the normal
        answer must follow (a delay without a status)."""
        if fault.delay_ms and fault.kind != "stall_mid_body":
            time.sleep(fault.delay_ms / 1000.0)
        if fault.kind == "delay":
            return False
        if fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            log(fault.status)
            self.send_error_status(fault.status, headers)
        elif fault.kind == "drop":
            log(0)
            self.close_connection = True
            self.abort_socket()
        elif fault.kind in ("reset_mid_body", "stall_mid_body"):
            # Headers and the first half of the normal body; then either a reset at once, or
            # (stall) nothing for delay_ms before the connection closes: a body that never
            # completes within the client's time limit.
            _, body, _, ctype = self.answer(path)
            if len(body) < 2:
                body = b"x" * 64
            log(200)
            self.wfile.write(("HTTP/1.1 200 OK\r\nServer: %s\r\nContent-Type: %s\r\n"
                              "Content-Length: %d\r\n\r\n" % (self.server_version, ctype,
                                                              len(body))).encode("ascii")
                             + body[:len(body) // 2])
            self.wfile.flush()
            if fault.kind == "stall_mid_body":
                time.sleep(max(fault.delay_ms, 0) / 1000.0)
            self.close_connection = True
            if fault.kind == "reset_mid_body":
                self.reset_socket()
            else:
                self.abort_socket()
        elif fault.kind == "oversize":
            log(200)
            self.send(200, b"x" * fault.size)
        elif fault.kind == "nul":
            log(200)
            self.send(200, b"value\x00with-nul")
        elif fault.kind == "body":
            log(200)
            self.send(200, fault.body)
        elif fault.kind == "malformed":
            log(0)
            self.wfile.write(b"HTTP/1.1 OK-ish\r\nthis is not a header\r\n\r\ngarbage")
            self.wfile.flush()
            self.close_connection = True
            self.abort_socket()
        else:
            raise AssertionError(fault.kind)
        return True

    def peer(self):
        """The client's address and port: one value per TCP connection."""
        host, port = self.client_address[0], self.client_address[1]
        return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)

    def reset_socket(self):
        """Close with SO_LINGER 0: the peer gets a TCP RST ("connection reset"), not a FIN. The
        descriptor really closes once the handler's file objects are closed too."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def abort_socket(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- IMDS -------------------------------------------------------------------------------

    def answer(self, path):
        """The normal answer: (status, body bytes, headers, content type)."""
        text = "text/plain"
        if self.headers.get("X-Forwarded-For") is not None:
            return 403, error_page(403), {}, "text/html"
        if DATED_TOKEN_PATH.match(path):
            return 403, error_page(403), {}, "text/html"
        if path.rstrip("/") == "/latest/api/token":
            if self.command != "PUT":
                return 405, error_page(405), {}, "text/html"
            ttl = self.headers.get(TTL_HEADER)
            if ttl is None or not re.fullmatch(r"[0-9]+", ttl.strip()):
                return 400, error_page(400), {}, "text/html"
            ttl = int(ttl.strip())
            if not TTL_MIN <= ttl <= TTL_MAX:
                return 400, error_page(400), {}, "text/html"
            return 200, self.state.new_token(ttl).encode("ascii"), {TTL_HEADER: ttl}, text
        if self.command not in ("GET", "HEAD"):
            return 405, error_page(405), {}, "text/html"
        token = self.headers.get(TOKEN_HEADER)
        if token is not None:
            if not self.state.token_valid(token):
                return 401, error_page(401), {}, "text/html"
        elif self.state.tokens_mode == "required":
            return 401, error_page(401), {}, "text/html"

        with self.state.lock:
            lf = "\n" if self.state.trailing_lf else ""
            if path in ("/", ""):
                return 200, ("latest" + lf).encode(), {}, text
            if path.rstrip("/") == "/latest":
                names = ["dynamic", "meta-data"]
                if self.state.user_data is not None:
                    names.append("user-data")
                return 200, ("\n".join(names) + lf).encode(), {}, text
            if path == "/latest/user-data":
                if self.state.user_data is None:
                    return 404, error_page(404), {}, "text/html"
                data = self.state.user_data
                return 200, data.encode("utf-8", "surrogateescape") \
                    if isinstance(data, str) else data, {}, \
                    "application/octet-stream"
            for prefix, tree in (("/latest/meta-data", self.state.meta_data),
                                 ("/latest/dynamic", self.state.dynamic)):
                if path == prefix or path.startswith(prefix + "/"):
                    rest = path[len(prefix):]
                    parts = [p for p in rest.split("/") if p]
                    node = lookup(tree, parts)
                    if node is None:
                        break
                    if isinstance(node, dict):
                        return 200, (listing(node) + lf).encode(), {}, text
                    if rest.endswith("/"):
                        break  # a leaf asked for as a directory
                    body = node if node.endswith("\n") else node + lf
                    # surrogateescape: bytes set through /_fake/set that are not UTF-8 go out
                    # exactly as they came in.
                    return 200, body.encode("utf-8", "surrogateescape"), {}, text
        return 404, error_page(404), {}, "text/html"

    # -- control API ------------------------------------------------------------------------

    def control(self, path, query):
        body = self.read_body()
        try:
            status, result = self.control_op(path, query, body)
        except (ValueError, KeyError, TypeError) as e:
            status, result = 400, {"error": str(e)}
        self.send(status, json.dumps(result), content_type="application/json")

    def control_op(self, path, query, body):
        st = self.state
        op = path[len("/_fake/"):].rstrip("/")
        if op == "log" and self.command == "GET":
            with st.lock:
                return 200, list(st.log)
        if self.command != "POST":
            return 405, {"error": "method not allowed"}
        if op == "reset-log":
            with st.lock:
                st.log.clear()
            return 200, {"ok": True}
        if op == "tree":
            tree = json.loads(body or b"{}")
            if not isinstance(tree, dict):
                raise ValueError("tree must be an object")
            if "meta-data" in tree and isinstance(tree["meta-data"], dict):
                md, dyn = tree["meta-data"], tree.get("dynamic", {})
            else:
                md, dyn = tree, None
            with st.lock:
                st.meta_data = clean_tree(md)
                if dyn is not None:
                    st.dynamic = clean_tree(dyn)
            return 200, {"ok": True}
        if op in ("set", "delete"):
            target = query.get("path", [""])[0].strip("/")
            if target.startswith("latest/"):
                target = target[len("latest/"):]
            parts = [p for p in target.split("/") if p]
            if len(parts) < 1 or parts[0] not in ("meta-data", "dynamic", "user-data"):
                raise ValueError("path must start with meta-data/, dynamic/ or user-data")
            with st.lock:
                if parts[0] == "user-data":
                    st.user_data = body.decode("utf-8", "surrogateescape") \
                        if op == "set" else None
                    return 200, {"ok": True}
                tree = st.meta_data if parts[0] == "meta-data" else st.dynamic
                if len(parts) < 2:
                    raise ValueError("path names no key")
                if op == "set":
                    tree_set(tree, parts[1:], body.decode("utf-8", "surrogateescape"))
                    return 200, {"ok": True}
                parent = lookup(tree, parts[1:-1])
                found = isinstance(parent, dict) and parts[-1] in parent
                if found:
                    del parent[parts[-1]]
                return 200, {"ok": True, "deleted": found}
        if op == "fault":
            spec = json.loads(body or b"{}")
            fault = Fault(spec)
            with st.lock:
                st.faults.append(fault)
            return 200, {"ok": True}
        if op == "clear-faults":
            with st.lock:
                st.faults.clear()
            return 200, {"ok": True}
        if op == "expire-tokens":
            with st.lock:
                n = len(st.tokens)
                st.tokens.clear()
            return 200, {"ok": True, "expired": n}
        if op == "mode":
            spec = json.loads(body or b"{}")
            with st.lock:
                if "tokens" in spec:
                    if spec["tokens"] not in ("required", "optional"):
                        raise ValueError("tokens must be 'required' or 'optional'")
                    st.tokens_mode = spec["tokens"]
                if "trailing_lf" in spec:
                    st.trailing_lf = bool(spec["trailing_lf"])
                return 200, {"ok": True, "tokens": st.tokens_mode,
                             "trailing_lf": st.trailing_lf}
        return 404, {"error": "unknown control operation '%s'" % op}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, state):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.state = state
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def write_port_file(filename, port):
    tmp = "%s.tmp.%d" % (filename, os.getpid())
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % port)
    os.rename(tmp, filename)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake EC2 IMDS for tests")
    ap.add_argument("--data", required=True, help="fixture file (our layout, AEMM or plain)")
    ap.add_argument("--dataset", help="dataset name in our layout (default: the first)")
    ap.add_argument("--listen", default="127.0.0.1", help="IPv4 or IPv6 literal")
    ap.add_argument("--port", type=int, default=80, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="append one line per request to this file")
    ap.add_argument("--tokens", choices=("required", "optional"), default="required")
    ap.add_argument("--trailing-lf", action="store_true", help="end every body with LF")
    args = ap.parse_args(argv)

    try:
        meta_data, dynamic, user_data, _ = load_data(args.data, args.dataset)
    except (OSError, ValueError) as e:
        print("fake_imds: %s" % e, file=sys.stderr)
        return 2

    log_file = open(args.log, "a", encoding="utf-8") if args.log else None
    state = State(meta_data, dynamic, user_data, args.tokens, args.trailing_lf, log_file)
    listen = args.listen.strip("[]")
    try:
        server = Server((listen, args.port), state)
    except OSError as e:
        print("fake_imds: cannot listen on %s port %d: %s" % (listen, args.port, e),
              file=sys.stderr)
        return 1

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("fake_imds: listening on %s port %d" % (listen, port), file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        if log_file:
            log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
