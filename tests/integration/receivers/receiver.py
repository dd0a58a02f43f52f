#!/usr/bin/python3
"""Test receivers for salve's relay: what salve's notifications arrive at.

One HTTP server (Python 3 standard library only), in one of three modes:

  webhook       a Standard Webhooks consumer (https://www.standardwebhooks.com/):
                checks webhook-id, webhook-timestamp and webhook-signature
                ("v1,BASE64(HMAC-SHA256(key, ID.TIMESTAMP.BODY))", a space-
                separated list, any entry may match), refuses a missing or bad
                signature or a timestamp outside the tolerance with 401, and
                dedupes by webhook-id: a second delivery of an id is answered
                200 (as the spec asks) but recorded as "duplicate".
  pagerduty     a STAND-IN for PagerDuty's Events API v2 (POST /v2/enqueue).
                PagerDuty itself cannot be reached from the test machine; this
                validates events against the published schema, strictly (an
                unknown field is an error here, where PagerDuty may ignore it),
                answers 202 {"status":"success","message":"Event processed",
                "dedup_key":...} or 400 {"status":"invalid event","message":...,
                "errors":[...]}, and keeps each dedup_key's alert state
                (triggered, acknowledged, resolved) as PagerDuty would.
  alertmanager  Alertmanager's webhook_configs receiver: checks the version "4"
                group notification and records it, firing and resolved.

Every request but the control ones is recorded as one JSON line in --log:
  {"t": epoch seconds, "mode", "method", "path", "headers", "body", "json",
   "status": answered, "verdict", "key", "errors"}
verdicts: accepted, duplicate, bad-signature, missing-headers, stale-timestamp,
invalid, forced (a status set by /_control), hung, not-found, too-large.
key: webhook-id, dedup_key, or Alertmanager's groupKey.

The log outlives the process: on start the receiver reads it back, so a
restarted receiver still knows which webhook-ids and dedup keys it has seen
(tests restart receivers to play an outage).

Control (never recorded):
  POST /_control {"status": 500, "count": 2, "retry_after": 5, "hang": false,
                  "down_for": 20}
      status: answer every request with it (0 or null: back to normal);
      count: only the next N requests; retry_after: a Retry-After header on
      forced answers; hang: accept requests and never answer (until a control
      call sets it false; at most 10 minutes); down_for: close the listening
      socket for that many seconds (connections are refused), then listen
      again on the same port.
  GET /_received   every record so far (JSON array)
  GET /_state      dedup state: {"seen": {key: count}, "alerts": {dedup_key: state}}
  GET /_ready      200 once listening

Usage: receiver.py --mode MODE --log FILE [--listen 127.0.0.1] [--port 0]
       [--port-file FILE] [--secret whsec_... | --secret-file FILE]
       [--tolerance 300] [--parent PID]
--port 0 picks a free port and writes it to --port-file.  --parent: exit when
that process is gone (so a killed test leaves nothing behind).
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 1 << 20


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.records = []
        self.seen = {}        # key -> accepted deliveries (1 unless duplicates)
        self.alerts = {}      # pagerduty: dedup_key -> triggered|acknowledged|resolved
        self.status = 0
        self.count = None
        self.retry_after = None
        self.hang = threading.Event()   # set: answer; clear: hang
        self.hang.set()
        self.down_until = 0.0
        self.server = None
        self.logf = None

    def load(self):
        try:
            with open(self.args.log, encoding="utf-8") as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    self.records.append(rec)
                    self.note(rec)
        except FileNotFoundError:
            pass
        self.logf = open(self.args.log, "a", encoding="utf-8")

    def note(self, rec):
        key = rec.get("key")
        if key is None or rec.get("verdict") not in ("accepted", "duplicate"):
            return
        if rec.get("verdict") == "accepted":
            self.seen.setdefault(key, 0)
            self.seen[key] += 1
        if rec.get("mode") == "pagerduty" and rec.get("pd_state"):
            self.alerts[key] = rec["pd_state"]

    def record(self, rec):
        with self.lock:
            self.records.append(rec)
            self.note(rec)
            self.logf.write(json.dumps(rec, sort_keys=True) + "\n")
            self.logf.flush()

    def forced(self):
        """The status a control call forces on this request, or 0."""
        with self.lock:
            if not self.status:
                return 0
            st = self.status
            if self.count is not None:
                self.count -= 1
                if self.count <= 0:
                    self.status, self.count = 0, None
            return st


# ---------------------------------------------------------------- checks

def load_secret(args):
    if args.secret is not None:
        raw = args.secret.encode()
    elif args.secret_file:
        with open(args.secret_file, "rb") as f:
            raw = f.read()
        if raw.endswith(b"\n"):
            raw = raw[:-1]   # a credential file's newline is not part of it
    else:
        return None
    if raw.startswith(b"whsec_"):
        return base64.b64decode(raw[6:], validate=True)
    return raw


def check_webhook(st, headers, body):
    """(status, verdict, key, errors)"""
    wid = headers.get("webhook-id")
    wts = headers.get("webhook-timestamp")
    wsig = headers.get("webhook-signature")
    if not wid or not wts or not wsig:
        return 401, "missing-headers", wid, ["webhook-id, webhook-timestamp and webhook-signature are required"]
    if not wts.isdigit():
        return 401, "missing-headers", wid, ["webhook-timestamp is not decimal seconds"]
    key = st.args.key
    mac = hmac.new(key, f"{wid}.{wts}.".encode() + body, hashlib.sha256).digest()
    good = False
    for entry in wsig.split(" "):
        ver, _, sig = entry.partition(",")
        if ver != "v1":
            continue
        try:
            given = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, mac):
            good = True
    if not good:
        return 401, "bad-signature", wid, ["no v1 signature matches"]
    if abs(time.time() - int(wts)) > st.args.tolerance:
        return 401, "stale-timestamp", wid, [f"webhook-timestamp {wts} is outside {st.args.tolerance}s"]
    with st.lock:   # claim the id at once: two concurrent deliveries, one accepted
        dup = wid in st.seen
        if not dup:
            st.seen[wid] = 0
    return 200, "duplicate" if dup else "accepted", wid, []


PD_TOP = {"routing_key", "event_action", "dedup_key", "payload", "images", "links", "client", "client_url"}
PD_PAYLOAD = {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}
PD_SEVERITIES = ("critical", "error", "warning", "info")
PD_ACTIONS = ("trigger", "acknowledge", "resolve")


def iso8601_ok(s):
    if not isinstance(s, str) or len(s) < 10:
        return False
    t = s.replace("Z", "+00:00")
    # PagerDuty's own example writes "+0000"; fromisoformat wants "+00:00"
    if len(t) > 5 and t[-5] in "+-" and t[-4:].isdigit():
        t = t[:-2] + ":" + t[-2:]
    try:
        datetime.datetime.fromisoformat(t)
    except ValueError:
        return False
    return True


def pd_errors(ev):
    errs = []
    if not isinstance(ev, dict):
        return ["the event is not a JSON object"]
    for k in sorted(set(ev) - PD_TOP):
        errs.append(f"unknown field '{k}'")
    rk = ev.get("routing_key")
    if not isinstance(rk, str):
        errs.append("'routing_key' is missing or not a string")
    elif len(rk) != 32:
        errs.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    act = ev.get("event_action")
    if act not in PD_ACTIONS:
        errs.append("'event_action' is missing or invalid (trigger, acknowledge or resolve)")
    dk = ev.get("dedup_key")
    if dk is not None and (not isinstance(dk, str) or not dk or len(dk) > 255):
        errs.append("'dedup_key' must be a string of 1 to 255 characters")
    if act in ("acknowledge", "resolve") and dk is None:
        errs.append(f"'dedup_key' is required for {act}")
    for k in ("client", "client_url"):
        if k in ev and not isinstance(ev[k], str):
            errs.append(f"'{k}' must be a string")
    pl = ev.get("payload")
    if act == "trigger" or pl is not None:
        if not isinstance(pl, dict):
            errs.append("'payload' is missing or not an object")
        else:
            for k in sorted(set(pl) - PD_PAYLOAD):
                errs.append(f"unknown field 'payload.{k}'")
            s = pl.get("summary")
            if not isinstance(s, str) or not s:
                errs.append("'payload.summary' is missing or empty")
            elif len(s) > 1024:
                errs.append("'payload.summary' is longer than 1024 characters")
            src = pl.get("source")
            if not isinstance(src, str) or not src:
                errs.append("'payload.source' is missing or empty")
            if pl.get("severity") not in PD_SEVERITIES:
                errs.append("'payload.severity' is missing or invalid (critical, error, warning or info)")
            if "timestamp" in pl and not iso8601_ok(pl["timestamp"]):
                errs.append("'payload.timestamp' is not an ISO 8601 timestamp")
            for k in ("component", "group", "class"):
                if k in pl and not isinstance(pl[k], str):
                    errs.append(f"'payload.{k}' must be a string")
            if "custom_details" in pl and not isinstance(pl["custom_details"], dict):
                errs.append("'payload.custom_details' must be an object")
    for name, req, opt in (("links", "href", ("text",)), ("images", "src", ("href", "alt"))):
        if name not in ev:
            continue
        arr = ev[name]
        if not isinstance(arr, list):
            errs.append(f"'{name}' must be an array of objects")
            continue
        for i, o in enumerate(arr):
            if not isinstance(o, dict):
                errs.append(f"'{name}[{i}]' is not an object")
                continue
            if not isinstance(o.get(req), str) or not o.get(req):
                errs.append(f"'{name}[{i}].{req}' is required")
            elif name == "images" and not o[req].startswith("https://"):
                errs.append(f"'{name}[{i}].src' must be an https URL")
            for k in sorted(set(o) - {req, *opt}):
                errs.append(f"unknown field '{name}[{i}].{k}'")
            for k in opt:
                if k in o and not isinstance(o[k], str):
                    errs.append(f"'{name}[{i}].{k}' must be a string")
    return errs


def pd_apply(st, ev):
    """PagerDuty's dedup rules: (dedup_key, new state or None if dropped)."""
    act, dk = ev["event_action"], ev.get("dedup_key")
    with st.lock:
        if act == "trigger":
            if dk is None:
                dk = uuid.uuid4().hex
            return dk, "triggered" if st.alerts.get(dk) != "acknowledged" else "acknowledged"
        cur = st.alerts.get(dk)
        if cur in (None, "resolved"):
            return dk, None            # dropped: no open alert
        return dk, "acknowledged" if act == "acknowledge" else "resolved"


AM_ALERT = ("status", "labels", "annotations", "startsAt", "endsAt", "fingerprint")
AM_TOP = ("version", "groupKey", "status", "receiver", "groupLabels", "commonLabels",
          "commonAnnotations", "externalURL", "alerts")


def am_errors(msg):
    if not isinstance(msg, dict):
        return ["not a JSON object"]
    errs = [f"'{k}' is missing" for k in AM_TOP if k not in msg]
    if msg.get("version") != "4":
        errs.append("'version' is not \"4\"")
    if msg.get("status") not in ("firing", "resolved"):
        errs.append("'status' is not firing or resolved")
    alerts = msg.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        errs.append("'alerts' is not a non-empty array")
    else:
        for i, a in enumerate(alerts):
            if not isinstance(a, dict):
                errs.append(f"alerts[{i}] is not an object")
                continue
            errs += [f"alerts[{i}].{k} is missing" for k in AM_ALERT if k not in a]
    return errs


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "salve-test-receiver"

    def log_message(self, fmt, *a):
        if self.server.st.args.verbose:
            sys.stderr.write("receiver: " + (fmt % a) + "\n")

    def answer(self, status, obj=None, extra=None):
        data = b"" if obj is None else (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.st
        path = self.path.split("?", 1)[0]
        if path == "/_ready":
            self.answer(200, {"mode": st.args.mode})
        elif path == "/_received":
            with st.lock:
                recs = list(st.records)
            self.answer(200, recs)
        elif path == "/_state":
            with st.lock:
                self.answer(200, {"seen": dict(st.seen), "alerts": dict(st.alerts)})
        else:
            self.handle_event(b"")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > BODY_MAX:
            return None
        return self.rfile.read(n) if n > 0 else b""

    def do_POST(self):
        st = self.server.st
        if self.path == "/_control":
            body = self.read_body() or b"{}"
            try:
                c = json.loads(body)
                assert isinstance(c, dict)
            except (ValueError, AssertionError):
                self.answer(400, {"error": "control body must be a JSON object"})
                return
            with st.lock:
                if "status" in c:
                    st.status = int(c["status"] or 0)
                    st.count = int(c["count"]) if c.get("count") else None
                    st.retry_after = c.get("retry_after")
            if "hang" in c:
                (st.hang.clear if c["hang"] else st.hang.set)()
            self.answer(200, {"ok": True})
            if c.get("down_for"):
                st.down_until = time.time() + float(c["down_for"])
                threading.Thread(target=st.server.shutdown, daemon=True).start()
            return
        body = self.read_body()
        if body is None:
            self.close_connection = True
            self.record(413, "too-large", None, [f"body longer than {BODY_MAX}"], b"")
            self.answer(413, {"error": "too large"})
            return
        self.handle_event(body)

    do_PUT = do_POST

    def record(self, status, verdict, key, errors, body, **more):
        try:
            js = json.loads(body) if body else None
        except ValueError:
            js = None
        rec = {"t": time.time(), "mode": self.server.st.args.mode, "method": self.command,
               "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace"), "json": js, "status": status,
               "verdict": verdict, "key": key, "errors": errors}
        rec.update(more)
        self.server.st.record(rec)

    def handle_event(self, body):
        st = self.server.st
        if not st.hang.is_set():
            self.record(0, "hung", None, [], body)
            st.hang.wait(600)
            self.close_connection = True
            return
        forced = st.forced()
        if forced:
            extra = {"Retry-After": str(st.retry_after)} if st.retry_after else None
            self.record(forced, "forced", None, [], body)
            self.answer(forced, {"status": "error", "message": f"forced {forced} by the test"}, extra)
            return
        mode = st.args.mode
        if self.command != "POST" or (mode == "pagerduty" and self.path != "/v2/enqueue"):
            self.record(404, "not-found", None, [], body)
            self.answer(404, {"error": "not found"})
            return
        if mode == "webhook":
            status, verdict, key, errs = check_webhook(st, self.headers, body)
            self.record(status, verdict, key, errs, body)
            self.answer(status, {"verdict": verdict, "errors": errs})
        elif mode == "pagerduty":
            try:
                ev = json.loads(body)
            except ValueError:
                ev = None
                errs = ["the body is not JSON"]
            else:
                errs = pd_errors(ev)
            if errs:
                self.record(400, "invalid", ev.get("dedup_key") if isinstance(ev, dict) else None, errs, body)
                self.answer(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errs})
                return
            dk, new = pd_apply(st, ev)
            with st.lock:
                dup = ev["event_action"] == "trigger" and st.alerts.get(dk) in ("triggered", "acknowledged")
            self.record(202, "duplicate" if dup else "accepted", dk, [], body,
                        pd_action=ev["event_action"], pd_state=new)
            self.answer(202, {"status": "success", "message": "Event processed", "dedup_key": dk})
        else:
            try:
                msg = json.loads(body)
            except ValueError:
                msg, errs = None, ["the body is not JSON"]
            else:
                errs = am_errors(msg)
            if errs:
                self.record(400, "invalid", None, errs, body)
                self.answer(400, {"errors": errs})
                return
            self.record(200, "accepted", msg["groupKey"], [], body)
            self.answer(200, {"ok": True})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def watch_parent(pid):
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main():
    p = argparse.ArgumentParser(description="salve's test receivers")
    p.add_argument("--mode", required=True, choices=("webhook", "pagerduty", "alertmanager"))
    p.add_argument("--log", required=True)
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--secret")
    p.add_argument("--secret-file")
    p.add_argument("--tolerance", type=int, default=300)
    p.add_argument("--parent", type=int)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    args.key = load_secret(args)
    if args.mode == "webhook" and not args.key:
        p.error("webhook mode needs --secret or --secret-file")

    st = State(args)
    st.load()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.parent:
        threading.Thread(target=watch_parent, args=(args.parent,), daemon=True).start()

    port = args.port
    while True:
        srv = None
        for _ in range(50):   # the old socket may linger briefly after down_for
            try:
                srv = Server((args.listen, port), Handler)
                break
            except OSError:
                time.sleep(0.1)
        if srv is None:
            sys.exit(f"receiver: cannot listen on {args.listen}:{port}")
        srv.st = st
        st.server = srv
        if port == 0:
            port = srv.server_address[1]
            if args.port_file:
                tmp = args.port_file + ".tmp"
                with open(tmp, "w") as f:
                    f.write(f"{port}\n")
                os.rename(tmp, args.port_file)
        srv.serve_forever(poll_interval=0.1)
        srv.server_close()    # down_for: refuse connections for a while
        while time.time() < st.down_until:
            time.sleep(0.05)


if __name__ == "__main__":
    main()
