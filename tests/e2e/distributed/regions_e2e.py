#!/usr/bin/env python3
"""Active-active regions on real nats-servers (issue 12): replication, watch and takeover.

  regions_e2e.py FANOUT_BINARY DATA_DIR [--regions 2|3] [--scenarios a,b,...]

Needs PostgreSQL from scripts/with-postgres.sh (each region gets its own database). Each
region is one nats-server with JetStream domain = the region's name (region 0 the leafnode
hub, the others its leaves, as in reference/stack.md §2) and one `fanout serve` process with
every role; regions are configured by `fanout config example --distributed --region R
--regions R0,R1,..`, their servers by `fanout config nats` (TLS, the process as user `fanout`,
leafnodes as `fanout-leaf`; a permissions violation fails the run), each region's PostgreSQL
schema by `fanout db migrate` with the region connecting as an application role. One
`fanout pushsim` stands in for Apple and Google. The watchdog's
deadlines are shortened (high 2 s, regular 3 s, stall 3 s).

Scenarios (each a new alert whose owner is chosen by its hash, DESIGN §1.2):
  replicate  devices registered at region 0's API reach region 1's index; an alert owned by
             region 1 sent to region 0 only (a provider that reaches one region) is
             delivered by region 1, no takeover
  before     the owner region (its fanout process and its nats-server) killed with -9, then
             the alert sent to the others: its first successor takes it over; the owner
             restarted catches up and pushes nothing again
  during     the owner killed with -9 mid-fan-out: taken over, everyone warned, duplicates at
             most what the dead region had in flight
  after      the owner killed after alert-done: nobody takes over, nothing pushed again
  partition  the leafnode link of the owner cut (its nats-server restarted without it), the
             alert sent to both: both deliver ("when in doubt, deliver"); link restored: the
             logs merge and the report counts the duplicates
With --regions 3, `before` also checks that exactly one region (the owner's first
successor) takes over. Every delivery check uses the expectation from the generated devices
(their subscribed municipality), never a plan. Exit 0 if all hold.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fanout_e2e import (IN_AREA, Serve, alert_xml, clear_tokens, delivery_failures,  # noqa: E402
                        free_port, free_ports, http, make_devices, nats_violations,
                        printed_secrets, report, sim_deliveries, wait_done, write_jsonl)

NAMES = ["eu-central", "eu-west", "eu-north"]
BATCH = 250
SENDERS = 4
DEADLINES = ["watchdog.deadline_high_ms=2000", "watchdog.deadline_regular_ms=3000",
             "watchdog.stall_ms=3000"]


ALL_ROLES = "ingest+processor+queuer+sender+watchdog+dashboard+registry"


class Domain:
    """A region's nats-server: JetStream domain = the region's name; the hub listens for
    leafnodes, the others connect to it. Configured by `fanout config nats` (issue 14): the
    region's process logs in as user `fanout`, clients and leafnodes use TLS, leafnodes log in
    as `fanout-leaf`; every server shares the hub's passwords."""

    def __init__(self, work, fanout, names, name, port, leaf_port, hub_leaf_port, cert):
        self.dir = os.path.join(work, "nats-" + name)
        os.makedirs(self.dir)
        self.name, self.port, self.leaf_port, self.hub = name, port, leaf_port, hub_leaf_port
        self.url = "tls://127.0.0.1:%d" % port
        self.ca = cert[0]
        self.proc = None
        self.starts = 0
        passwords = os.path.join(work, "nats-passwords.txt")
        base = [fanout, "config", "nats", "--region", name, "--regions", ",".join(names),
                "--listen", "127.0.0.1:%d" % port, "--store-dir", os.path.join(self.dir, "js"),
                "--tls-cert", cert[0], "--tls-key", cert[1], "--tls-ca", cert[0],
                "--users", "fanout=" + ALL_ROLES]
        for linked in (True, False):
            cmd = list(base)
            if os.path.exists(passwords):  # the hub's first configuration wrote them
                cmd += ["--passwords-from", passwords]
            if hub_leaf_port is None:
                cmd += ["--leafnode-listen", "127.0.0.1:%d" % leaf_port]
            elif linked:
                cmd += ["--leafnode-remote", "nats-leaf://127.0.0.1:%d" % hub_leaf_port]
            made = subprocess.run(cmd, check=True, capture_output=True, text=True)
            with open(self.conf(linked), "w") as f:
                f.write(made.stdout)
            if not os.path.exists(passwords):
                with open(passwords, "w") as f:
                    f.write(made.stderr)
            self.password = printed_secrets(made.stderr)["fanout"]

    def conf(self, linked):
        return os.path.join(self.dir, "nats-linked.conf" if linked else "nats-alone.conf")

    def client(self):
        return ["store.nats_user=fanout", "store.nats_password=" + self.password,
                "store.nats_ca_file=" + self.ca]

    def violations(self):
        return nats_violations(os.path.join(self.dir, n) for n in sorted(os.listdir(self.dir))
                               if n.startswith("server-"))

    def start(self, linked=True):
        conf = self.conf(linked)
        self.starts += 1
        log = os.path.join(self.dir, "server-%d.log" % self.starts)
        self.proc = subprocess.Popen(["nats-server", "-c", conf], stdout=open(log, "w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "Server is ready" in open(log).read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("nats-server %s did not start; see %s" % (self.name, log))

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def pg_url(db, user=None):
    return "postgresql://%s@/%s?host=%s&port=%s" % (user or os.environ.get("PGUSER", "postgres"),
                                                    db, os.environ["PGHOST"], os.environ["PGPORT"])


def app_role_for(fanout, db, role):
    """Least privilege (issue 14): the schema is migrated by its owner, the region connects as
    an application role granted only rows. Returns the application role's URL."""
    subprocess.run(["psql", "-q", "-c", "CREATE ROLE %s LOGIN" % role], check=True,
                   stdout=subprocess.DEVNULL)
    status = subprocess.run([fanout, "db", "status", "--postgres", pg_url(db)],
                            capture_output=True, text=True)
    if status.returncode != 1 or "no fanout schema" not in status.stdout:
        raise SystemExit("db status on an empty database: rc %d, %r" % (status.returncode,
                                                                        status.stdout))
    subprocess.run([fanout, "db", "migrate", "--postgres", pg_url(db), "--app-role", role],
                   check=True, stdout=subprocess.DEVNULL)
    return pg_url(db, role)


def create_database(db):
    subprocess.run(["psql", "-q", "-c", "DROP DATABASE IF EXISTS %s" % db], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["psql", "-q", "-c", "CREATE DATABASE %s" % db], check=True,
                   stdout=subprocess.DEVNULL)


def owner_of(body, n):
    return int(hashlib.sha256(body).hexdigest()[-8:], 16) % n


def alert_owned_by(ident, owner, n):
    """An alert `ident` whose hash makes region `owner` its owner (the headline varies)."""
    for i in range(1000):
        # Active until 2099: on every region's dashboards at the end.
        body = alert_xml(ident, "Regions test %s #%d" % (ident, i),
                         expires="2099-01-01T00:00:00+01:00")
        if owner_of(body, n) == owner:
            return body
    raise SystemExit("no headline gives owner %d" % owner)


def index_size(proc):
    try:
        _, body = http("GET", proc.api + "/metrics", timeout=3)
    except OSError:
        return None
    for line in body.decode().splitlines():
        if line.startswith("fanout_registry_devices{"):
            return int(float(line.split()[-1]))
    return None


def replication_idle(proc):
    """{peer: seconds since this region last heard from it} from /metrics (-1: never)."""
    try:
        _, body = http("GET", proc.api + "/metrics", timeout=3)
    except OSError:
        return {}
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("fanout_replication_idle_seconds{"):
            peer = line.split('from="')[1].split('"')[0]
            out[peer] = float(line.split()[-1])
    return out


def wait_for(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.05)
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("data_dir")
    p.add_argument("--regions", type=int, default=2, choices=[2, 3])
    p.add_argument("--devices", type=int, default=4000, help="devices in the area")
    p.add_argument("--latency-ms", type=int, default=60, help="pushsim latency per push")
    p.add_argument("--scenarios", default="replicate,before,during,after,partition")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if "PGHOST" not in os.environ:
        raise SystemExit("PGHOST is not set: run under scripts/with-postgres.sh")
    os.environ["FANOUT_DATA_DIR"] = args.data_dir
    n = args.regions
    names = NAMES[:n]
    work = tempfile.mkdtemp(prefix="fanout-regions-")
    ports = free_ports(2 * n + 1)
    cert = (os.path.join(work, "nats.pem"), os.path.join(work, "nats.key"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", cert[1], "-out", cert[0]], check=True, capture_output=True)
    domains = []
    for i, name in enumerate(names):
        domains.append(Domain(work, args.fanout, names, name, ports[2 * i], ports[2 * i + 1],
                              None if i == 0 else ports[1], cert))
    sim = None
    serves = []
    failures = []
    timings = []
    try:
        for d in domains:
            d.start()
        # Each region's config from `fanout config example`, sharing region 0's tokens.
        configs, first, tokens = [], None, {}
        for i, name in enumerate(names):
            db = "fanout_regions_%d" % i
            create_database(db)
            app_url = app_role_for(args.fanout, db, "fanout_app_%d" % i)
            cmd = [args.fanout, "config", "example", "--distributed", "--region", name,
                   "--regions", ",".join(names), "--nats", domains[i].url, "--postgres",
                   app_url]
            if first:
                cmd += ["--tokens-from", first]
            example = subprocess.run(cmd, check=True, capture_output=True, text=True)
            text = example.stdout
            tokens = tokens or clear_tokens(example.stderr)  # region 0's; the others copy them
            path = os.path.join(work, "%s.toml" % name)
            with open(path, "w") as f:
                f.write(text)
            first = first or path
            configs.append((path, text, app_url))
        ap2, admin, device_token = tokens["AP2"], tokens["admin_token"], tokens["device_token"]
        devices, expected = make_devices(args.devices, args.devices // 4, seed=12, prefix="reg")
        write_jsonl(os.path.join(work, "devices.jsonl"), devices)
        for _, _, url in configs:  # every region's store holds the devices at the start
            subprocess.run([args.fanout, "devices", "import", os.path.join(work, "devices.jsonl"),
                            "--postgres", url], check=True, stdout=subprocess.DEVNULL)
        sim_port = free_port()
        sim = subprocess.Popen([args.fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port,
                                "--faults", "latency_ms=%d" % args.latency_ms],
                               stdout=open(os.path.join(work, "sim.log"), "w"),
                               stderr=subprocess.STDOUT)
        for i, name in enumerate(names):
            serves.append(Serve(args.fanout, configs[i][0], work, name, [
                "push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
                "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port,
                "fanout.ack_wait_ms=2000", "fanout.batch_size=%d" % BATCH,
                "fanout.sender_workers_high=%d" % SENDERS,
                "fanout.sender_workers_regular=%d" % SENDERS,
                "store.data_dir=" + os.path.join(work, "data-" + name),
                "store.postgres_migrate=false"] + domains[i].client() + DEADLINES))
        for s in serves:
            s.start()
        in_flight = SENDERS * BATCH * 2  # batches one region's sender has out at once

        def put(region, body, ident):
            return http("PUT", serves[region].api + "/v1/alerts/AP2/" + ident, ap2, body)[0]

        def linked():
            """Until every region hears from every other (replication running again)."""
            t = time.monotonic()
            ok = wait_for("linked", lambda: all(
                len(idle) == n - 1 and all(0 <= v < 2 for v in idle.values())
                for idle in (replication_idle(s) for s in serves)), 60)
            print("  replication running between all regions after %.1f s" %
                  (time.monotonic() - t))
            if not ok:
                failures.append("replication did not resume: %s" %
                                [replication_idle(s) for s in serves])

        def restart(region):
            domains[region].start()
            serves[region].start()
            linked()

        def check(name, region, ident, bound, exact=True):
            r = wait_done(serves[region].api, admin, ident, 90)
            total = r.get("total", {})
            redelivered = total.get("redelivered", 0)
            found = []
            if r.get("status") != "done":
                found.append("status %r: %s" % (r.get("status"), r))
            f, got, twice = delivery_failures(sim_deliveries(sim_port, ident), expected,
                                              redelivered if exact else bound, bound)
            found += f
            print("  %s: %d devices warned, %d twice, report: redelivered %d, takeovers %s, "
                  "processing %s" % (name, got, twice, redelivered, r.get("takeovers"),
                                     r.get("processing_region")))
            return found, r, twice

        linked()
        for k, scenario in enumerate(args.scenarios.split(",")):
            ident = "reg-%s-%d-%d" % (scenario, os.getpid(), k)
            t0 = time.monotonic()
            print("scenario %s" % scenario)
            found = []
            if scenario == "replicate":
                extra, extra_expected = make_devices(20, 0, seed=13, prefix="api")
                before = index_size(serves[1])
                lags = []  # one device at a time: its PUT at region 0 -> region 1's index
                for j, d in enumerate(extra):
                    t_put = time.monotonic()
                    code = http("PUT", serves[0].api + "/v1/devices/" + d["device_id"],
                                device_token, json.dumps(d).encode())[0]
                    if code not in (200, 201):
                        found.append("device PUT at %s answered %d" % (names[0], code))
                    if wait_for("device", lambda: (index_size(serves[1]) or 0) >= before + j + 1,
                                10):
                        lags.append(time.monotonic() - t_put)
                if lags:
                    lags.sort()
                    timings.append(("device replication %s -> %s (median of %d; max %.3f s)" %
                                    (names[0], names[1], len(lags), lags[-1]),
                                    lags[len(lags) // 2]))
                if not wait_for("index", lambda: index_size(serves[1]) == before + 20, 20):
                    found.append("%s's index has %s devices, expected %d (registered at %s)" %
                                 (names[1], index_size(serves[1]), before + 20, names[0]))
                expected |= extra_expected
                body = alert_owned_by(ident, 1, n)
                code = put(0, body, ident)  # the provider reaches region 0 only
                if code != 202:
                    found.append("PUT at %s answered %d" % (names[0], code))
                f, r, _ = check(scenario, 0, ident, 0)
                found += f
                if r.get("received_ms") and r.get("processed_ms"):
                    timings.append(("alert hand-over %s -> owner %s (receipt to processed)" %
                                    (names[0], names[1]),
                                    (r["processed_ms"] - r["received_ms"]) / 1000.0))
                if r.get("takeovers") or r.get("processing_region") != names[1]:
                    found.append("expected %s to process it without takeover, got %s / %s" %
                                 (names[1], r.get("processing_region"), r.get("takeovers")))
            elif scenario == "before":
                victim = n - 1  # a leaf: the others stay linked through the hub
                body = alert_owned_by(ident, victim, n)
                serves[victim].kill9()
                domains[victim].kill9()
                t_put = time.monotonic()
                for i in range(n - 1):
                    put(i, body, ident)
                f, r, _ = check(scenario, 0, ident, 0)
                found += f
                took = time.monotonic() - t_put
                successor = names[(victim + 1) % n]
                # Another deadline of silence: the second successor must not act.
                time.sleep(3.5)
                r = report(serves[0].api, admin, ident)
                if r.get("takeovers") != 1 or r.get("processing_region") != successor:
                    found.append("expected one takeover by %s, got %s by %s" %
                                 (successor, r.get("takeovers"), r.get("processing_region")))
                timings.append(("takeover before processing, regular: alert sent -> done", took))
                pushed = len(sim_deliveries(sim_port, ident))
                restart(victim)
                t_back = time.monotonic()
                # It catches up from the replicated streams.
                rv = wait_for("catch-up", lambda: (lambda r: r if r.get("status") == "done"
                                                   else None)(report(serves[victim].api, admin,
                                                                     ident)), 30) or {}
                timings.append(("catch-up of the returning owner: restart -> its report says done",
                                time.monotonic() - t_back))
                time.sleep(1)
                again = len(sim_deliveries(sim_port, ident)) - pushed
                if again:
                    found.append("the returning owner pushed %d again" % again)
                if rv.get("status") != "done":
                    found.append("the returning owner reports %r" % rv.get("status"))
            elif scenario == "during":
                victim = n - 1
                body = alert_owned_by(ident, victim, n)
                for i in range(n):
                    put(i, body, ident)
                if not wait_for("pushes", lambda: len(sim_deliveries(sim_port, ident)) >=
                                len(expected) // 5, 60):
                    found.append("the owner never started pushing")
                serves[victim].kill9()
                domains[victim].kill9()
                t_kill = time.monotonic()
                f, r, _ = check(scenario, 0, ident, in_flight, exact=False)
                found += f
                timings.append(("takeover during fan-out, regular: kill -> done",
                                time.monotonic() - t_kill))
                if not r.get("takeovers"):
                    found.append("no takeover recorded")
                both = sim_deliveries(sim_port, ident)
                restart(victim)
                # The returning owner's records of what it pushed before it died replicate:
                # the report now counts the devices warned twice.
                counts = {}
                for d in both:
                    counts[d["token"]] = counts.get(d["token"], 0) + 1
                twice = sum(1 for c in counts.values() if c == 2)
                def counted():
                    t = report(serves[0].api, admin, ident).get("total", {})
                    return t.get("redelivered", 0) + t.get("possibly_redelivered", 0)
                reported = wait_for("merge", lambda: counted() >= twice, 30)
                t = report(serves[0].api, admin, ident).get("total", {})
                print("  during: %d devices warned twice; after the owner returned the report "
                      "counts re-sent %s, possibly re-sent %s" % (
                          twice, t.get("redelivered"), t.get("possibly_redelivered")))
                if not reported:
                    found.append("the %d devices warned twice are not all in the report" % twice)
                if len(sim_deliveries(sim_port, ident)) != len(both):
                    found.append("the returning owner pushed its leftover work")
            elif scenario == "after":
                victim = n - 1
                body = alert_owned_by(ident, victim, n)
                for i in range(n):
                    put(i, body, ident)
                found += check(scenario, 0, ident, 0)[0]
                pushed = len(sim_deliveries(sim_port, ident))
                serves[victim].kill9()
                domains[victim].kill9()
                time.sleep(7)  # two deadlines
                r = report(serves[0].api, admin, ident)
                if r.get("takeovers"):
                    found.append("a finished alert was taken over")
                if len(sim_deliveries(sim_port, ident)) != pushed:
                    found.append("pushed again after alert-done")
                restart(victim)
            elif scenario == "partition":
                victim = n - 1
                body = alert_owned_by(ident, victim, n)
                domains[victim].stop()
                domains[victim].start(linked=False)  # the link is cut; both regions live
                if not wait_for("ready", lambda: serves[victim].ready() == 200, 30):
                    found.append("%s not ready after its server restarted" % names[victim])
                for i in range(n):
                    put(i, body, ident)
                # Both deliver: the owner its own, the watcher after the deadline.
                f, r, _ = check(scenario, victim, ident, len(expected), exact=False)
                found += f
                wait_for("takeover", lambda: report(serves[0].api, admin, ident).get(
                    "status") == "done", 30)
                both = sim_deliveries(sim_port, ident)
                domains[victim].stop()
                domains[victim].start(linked=True)  # the link is back
                linked()
                # The logs merge: every region's report counts the batches pushed twice.
                counts = {}
                for d in both:
                    counts[d["token"]] = counts.get(d["token"], 0) + 1
                twice = sum(1 for c in counts.values() if c == 2)
                merged = wait_for("merge", lambda: all(
                    report(s.api, admin, ident).get("total", {}).get("redelivered", 0) >= twice
                    for s in [serves[0], serves[victim]]), 30)
                print("  partition: %d devices warned twice (bound: every unfinished unit), "
                      "reports merged: %s" % (twice, bool(merged)))
                if not merged:
                    found.append("after the link came back the reports do not count the %d "
                                 "devices warned twice: %s / %s" % (
                                     twice, report(serves[0].api, admin, ident).get("total"),
                                     report(serves[victim].api, admin, ident).get("total")))
                f2, _, _ = delivery_failures(both, expected, len(expected), len(expected))
                found += f2
            else:
                raise SystemExit("unknown scenario " + scenario)
            print("  %s: %s (%.1f s)" % (scenario, "ok" if not found else "FAILED",
                                         time.monotonic() - t0))
            failures += ["%s: %s" % (scenario, f) for f in found]
        # Dashboards derive from replicated state only: every region serves the same list (one
        # entry per scenario's alert, all on München) with the same ETag.
        want = len(args.scenarios.split(","))
        for key in (IN_AREA, "090000000000"):
            def same():
                pages = [http("GET", s.api + "/v1/dashboard/%s.json" % key) for s in serves]
                bodies = {b for c, b in pages if c == 200}
                return bodies if len(bodies) == 1 and len(json.loads(next(iter(bodies)))) == want \
                    else None
            if wait_for("dashboards", same, 30):
                print("dashboard %s: identical in all %d regions (%d alerts)" % (key, n, want))
            else:
                failures.append("dashboard %s differs between regions or lacks alerts: %s" % (
                    key, [len(json.loads(b)) if c == 200 else c for c, b in
                          (http("GET", s.api + "/v1/dashboard/%s.json" % key) for s in serves)]))
        for what, seconds in timings:
            print("time: %s: %.3f s" % (what, seconds))
        refused = sum((d.violations() for d in domains), [])
        if refused:
            failures.append("NATS refused %d operation(s) of user fanout, first: %s"
                            % (len(refused), refused[0]))
    finally:
        for s in serves:
            s.stop()
        for d in domains:
            d.stop()
        if sim:
            sim.terminate()
            sim.wait()
    if failures:
        print("FAILED (work dir %s):" % work)
        for f in failures:
            print("  " + f)
        return 1
    print("OK: %d regions, every scenario held" % n)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
