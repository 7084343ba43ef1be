"""Helpers shared by the Python end-to-end tests (crash, distributed): loopback ports, HTTP
calls, the example config's tokens, generated devices with their independent expectation,
a `fanout serve` process, pushsim's delivery log and alert reports."""
import json
import os
import random
import re
import signal
import socket
import string
import subprocess
import time
import urllib.error
import urllib.request

IN_AREA = "091620000000"  # München
OUT_AREA = "020000000000"  # Hamburg


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_ports(n):
    """n distinct free ports (the sockets are held until all are chosen)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def http(method, url, token=None, body=None, timeout=10):
    req = urllib.request.Request(url, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def printed_secrets(stderr):
    """`name = value` lines a fanout command prints once on standard error (the passwords of
    `fanout config nats`)."""
    return dict(line.split(" = ", 1) for line in stderr.splitlines() if " = " in line)


def nats_violations(log_files):
    """Lines in nats-server logs where it refused a user a subject: nats-server 2.9 writes
    `Publish Violation - User "u", Subject "s"` (and `Subscription Violation`)."""
    found = []
    for path in log_files:
        with open(path, errors="replace") as f:
            found += [line.strip() for line in f
                      if re.search(r"(Publish|Subscription) Violation", line)]
    return found


def clear_tokens(stderr):
    """The clear tokens `fanout config example` prints once on standard error
    (`NAME = <token>` lines; the config itself stores their SHA-256)."""
    tokens = {}
    for line in stderr.splitlines():
        m = re.match(r"^(AP\d+|device_token|admin_token) = ([0-9a-f]+)$", line.strip())
        if m:
            tokens[m.group(1)] = m.group(2)
    return tokens


def config_tokens(stderr):
    """(AP2 token, admin token) from `fanout config example`'s standard error."""
    t = clear_tokens(stderr)
    if "AP2" not in t or "admin_token" not in t:
        raise SystemExit("AP2 or admin token not on config example's standard error")
    return t["AP2"], t["admin_token"]


def alert_xml(identifier, headline, sender="e2e@fanout.invalid", expires=None):
    expires = "<expires>%s</expires>" % expires if expires else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>2026-12-02T10:00:00+01:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>de-DE</language>
    <category>Safety</category>
    <event>Gefahreninformation</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    {expires}
    <headline>{headline}</headline>
    <area>
      <areaDesc>München</areaDesc>
      <geocode><valueName>ARS</valueName><value>{IN_AREA}</value></geocode>
    </area>
  </info>
</alert>
""".encode()


def make_devices(n_in, n_out, seed, prefix="e2e"):
    """Devices, and the independent truth: the tokens of those subscribed to IN_AREA."""
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits + "-_"
    devices, expected = [], set()
    for i in range(n_in + n_out):
        apns = i % 2 == 0
        if apns:
            token = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        else:
            token = ("".join(rng.choice(alnum) for _ in range(22)) + ":APA91b" +
                     "".join(rng.choice(alnum) for _ in range(134)))
        inside = i < n_in
        devices.append({"device_id": "%s-%d" % (prefix, i), "platform": "apns" if apns else "fcm",
                        "token": token, "levels": {}, "mylocation": False,
                        "regions": [IN_AREA if inside else OUT_AREA]})
        if inside:
            expected.add(token)
    return devices, expected


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


class Serve:
    """One `fanout serve` process: `sets` are its --set overrides (besides http.listen)."""

    def __init__(self, fanout, config, work, name, sets):
        self.fanout, self.config, self.work, self.name = fanout, config, work, name
        self.sets = list(sets)
        self.port = free_port()
        self.api = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.starts = 0

    def start(self, wait=True):
        self.starts += 1
        self.log = os.path.join(self.work, "%s-%d.log" % (self.name, self.starts))
        cmd = [self.fanout, "serve", "--config", self.config,
               "--set", "http.listen=127.0.0.1:%d" % self.port]
        for s in self.sets:
            cmd += ["--set", s]
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        return self.wait_ready(t0) if wait else 0.0

    def wait_ready(self, t0=None, seconds=60):
        t0 = t0 or time.monotonic()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s exited with %s; see %s" % (self.name, self.proc.returncode,
                                                                 self.log))
            if self.ready() == 200:
                return time.monotonic() - t0
            time.sleep(0.05)
        raise SystemExit("%s did not become ready; see %s" % (self.name, self.log))

    def ready(self):
        try:
            return http("GET", self.api + "/readyz", timeout=2)[0]
        except OSError:
            return None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def sim_deliveries(sim_port, alert_id=None):
    """pushsim's delivery log (it answers HTTP/1.1 on its cleartext port too)."""
    status, body = http("GET", "http://127.0.0.1:%d/sim/deliveries" % sim_port, timeout=30)
    if status != 200:
        raise SystemExit("/sim/deliveries answered %d" % status)
    out = []
    for line in body.decode().splitlines():
        if line.strip():
            d = json.loads(line)
            if alert_id is None or d.get("alert_id") == alert_id:
                out.append(d)
    return out


def report(api, admin, ident):
    try:
        status, body = http("GET", api + "/v1/alerts/" + ident, admin)
    except OSError as e:
        return {"status": "unreachable: %s" % e}
    return json.loads(body) if status == 200 else {"status": "http %d" % status}


def wait_done(api, admin, ident, seconds):
    deadline = time.monotonic() + seconds
    r = {}
    while time.monotonic() < deadline:
        r = report(api, admin, ident)
        if r.get("status") in ("done", "quarantined", "skipped"):
            return r
        time.sleep(0.1)
    return r


def delivery_failures(deliveries, expected, redelivered, bound):
    """What a warning system owes, against the independent expectation: everyone in the area
    warned, nobody outside, at most twice, the devices warned twice no more than the report's
    `redelivered`, which stays within the in-flight bound. Returns (failures, devices, twice)."""
    counts = {}
    for d in deliveries:
        counts[d["token"]] = counts.get(d["token"], 0) + 1
    got = set(counts)
    twice = sum(1 for c in counts.values() if c == 2)
    more = sum(1 for c in counts.values() if c > 2)
    failures = []
    if expected - got:
        failures.append("%d targeted devices never got the alert" % len(expected - got))
    if got - expected:
        failures.append("%d devices outside the area got it" % len(got - expected))
    if more:
        failures.append("%d devices got it more than twice" % more)
    if twice > redelivered:
        failures.append("%d devices got it twice but the report says redelivered=%d" %
                        (twice, redelivered))
    if redelivered > bound:
        failures.append("redelivered=%d exceeds the in-flight bound %d" % (redelivered, bound))
    return failures, len(got), twice
