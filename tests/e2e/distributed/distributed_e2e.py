#!/usr/bin/env python3
"""One region as several processes on the distributed engines (issue 11), with failures.

  distributed_e2e.py FANOUT_BINARY DATA_DIR [--devices N] [--scenarios a,b,...]

Needs PostgreSQL from scripts/with-postgres.sh (PGHOST, PGPORT, ...); starts its own
nats-server (JetStream, loopback, a temp dir) so that it can kill and restart it, and a
`fanout pushsim` with latency so a fan-out takes seconds. The region runs as
  front      roles ingest, processor, registry   (alerts and devices are PUT here)
  queuer     role queuer
  sender-1/2 role sender
with a short ack wait (fanout.ack_wait_ms) so that a dead process's work moves on quickly.
Each process group is its own NATS user with only its roles' subjects, over TLS, on servers
configured by `fanout config nats` (--cluster: its routes authenticated and over TLS too);
the run fails if a server logged a permissions violation.
Devices are imported into PostgreSQL with `fanout devices import --postgres`. Scenarios, each
a new alert to the same devices:
  roles     a device registered and one removed through the front reach the queuer's index
            (device feed); the alert is delivered exactly once to the area's devices as they
            are now; other processes refuse alerts/devices (421)
  sender    kill -9 a sender mid-fan-out: its batch goes to the other sender; done
  queuer    kill -9 the only queuer right after the alert is accepted; a new queuer process
            started later completes the units
  nats      nats-server stopped mid-fan-out: /readyz 503 naming NATS, an alert PUT meanwhile
            is refused (503: never accepted and lost); nats-server started again on the same
            storage: the processes resume by themselves, the alert completes, the refused one
            sent again is delivered. (A single server killed with -9 may lose its last
            acknowledged writes — nats-server 2.9 does not fsync each one; production runs
            a 3-node cluster with replicas 3, see the nats-cluster scenario.)
  node      (--cluster: 3 nodes, replicas 3) kill -9 one node mid-fan-out: the alert
            completes, a new alert is accepted and delivered
  postgres  PostgreSQL stopped during a fan-out: /readyz 503 naming it, a device PUT is 503,
            the alert (selection is in memory) still completes; started again: ready
Every check of who got the alert uses the expectation from the generated devices (their
subscribed municipality), never the pipeline's plan: all in the area, nobody else, at most
twice, devices pushed twice <= the report's `redelivered` <= what the killed process had in
flight. Exit 0 if all hold.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fanout_e2e import (IN_AREA, Serve, alert_xml, clear_tokens, config_tokens,  # noqa: E402
                        delivery_failures, free_port, free_ports, http,
                        make_devices, nats_violations, printed_secrets, sim_deliveries,
                        wait_done, write_jsonl)

BATCH = 250
SENDERS = 4  # workers per platform in each sender process
ACK_WAIT_MS = 2000
CLUSTER_ACK_WAIT_MS = 10000


# Least privilege (issue 14): each process group is its own NATS user with only its role's
# subjects, over TLS; the server's configuration is `fanout config nats`'s.
NATS_USERS = {("ingest", "processor", "registry"): "front", ("queuer",): "queuer",
              ("sender",): "sender"}


class NatsAccess:
    """Least privilege (issue 14): a certificate for the server(s) and `fanout config nats`
    configurations with a user per process group; each process gets its user's overrides."""

    def __init__(self, fanout, dir):
        self.fanout, self.dir = fanout, dir
        self.ca = os.path.join(dir, "server.pem")
        self.key = os.path.join(dir, "server.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.ca], check=True, capture_output=True)
        self.passwords = None
        self.passwords_file = os.path.join(dir, "passwords.txt")

    def config(self, path, extra):
        """Writes a server configuration; every node shares the first one's passwords."""
        cmd = [self.fanout, "config", "nats", "--region", "eu-central",
               "--tls-cert", self.ca, "--tls-key", self.key, "--tls-ca", self.ca,
               "--users", ",".join("%s=%s" % (u, "+".join(r)) for r, u in NATS_USERS.items())]
        if self.passwords is not None:
            cmd += ["--passwords-from", self.passwords_file]
        made = subprocess.run(cmd + extra, check=True, capture_output=True, text=True)
        with open(path, "w") as f:
            f.write(made.stdout)
        if self.passwords is None:
            with open(self.passwords_file, "w") as f:
                f.write(made.stderr)
            self.passwords = printed_secrets(made.stderr)

    def client(self, roles):
        """The config overrides for a process running `roles`."""
        user = NATS_USERS[tuple(roles)]
        return ["store.nats_user=" + user, "store.nats_password=" + self.passwords[user],
                "store.nats_ca_file=" + self.ca]

    def violations(self):
        return nats_violations(os.path.join(self.dir, n) for n in sorted(os.listdir(self.dir))
                               if n.endswith(".log"))


class Nats(NatsAccess):
    def __init__(self, work, fanout):
        os.makedirs(os.path.join(work, "nats"))
        super().__init__(fanout, os.path.join(work, "nats"))
        self.port = free_port()
        self.url = "tls://127.0.0.1:%d" % self.port
        self.config(os.path.join(self.dir, "nats.conf"),
                    ["--listen", "127.0.0.1:%d" % self.port,
                     "--store-dir", os.path.join(self.dir, "js")])
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = os.path.join(self.dir, "server-%d.log" % self.starts)
        self.proc = subprocess.Popen(
            ["nats-server", "-c", os.path.join(self.dir, "nats.conf")],
            stdout=open(log, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "Server is ready" in open(log).read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("nats-server did not start; see " + log)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


class NatsCluster(NatsAccess):
    """Three JetStream nodes on loopback, routed to each other (--cluster), each configured by
    `fanout config nats` (routes authenticated and over TLS)."""

    def __init__(self, work, fanout, size=3):
        os.makedirs(os.path.join(work, "nats"))
        super().__init__(fanout, os.path.join(work, "nats"))
        flat = free_ports(3 * size)  # distinct: client, cluster route and monitor port per node
        ports = [tuple(flat[3 * i:3 * i + 3]) for i in range(size)]
        self.nodes = []
        routes = sum((["--route", "nats-route://127.0.0.1:%d" % c] for _, c, _ in ports), [])
        for i, (client, cluster, monitor) in enumerate(ports):
            conf = os.path.join(self.dir, "n%d.conf" % i)
            self.config(conf, ["--server-name", "n%d" % i, "--listen", "127.0.0.1:%d" % client,
                               "--monitor", "127.0.0.1:%d" % monitor,
                               "--store-dir", os.path.join(self.dir, "js%d" % i),
                               "--cluster-listen", "127.0.0.1:%d" % cluster] + routes)
            self.nodes.append({"conf": conf, "monitor": monitor, "proc": None})
        self.url = ",".join("tls://127.0.0.1:%d" % c for c, _, _ in ports)

    def start_node(self, i):
        n = self.nodes[i]
        n["proc"] = subprocess.Popen(["nats-server", "-c", n["conf"]],
                                     stdout=open(n["conf"] + ".log", "a"),
                                     stderr=subprocess.STDOUT)

    def start(self):
        for i in range(len(self.nodes)):
            self.start_node(i)
        # Ready when every node's JetStream is (the meta leader elected, /healthz 200).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if all(http("GET", "http://127.0.0.1:%d/healthz" % n["monitor"], timeout=1)[0] ==
                       200 for n in self.nodes):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("the NATS cluster did not become ready; see %s/*.log" % self.dir)

    def kill9_node(self, i):
        self.nodes[i]["proc"].kill()
        self.nodes[i]["proc"].wait()

    def stop(self):
        for n in self.nodes:
            if n["proc"] and n["proc"].poll() is None:
                n["proc"].terminate()
                n["proc"].wait()


class Postgres:
    """The cluster of scripts/with-postgres.sh, stopped and started in place."""

    def __init__(self):
        self.host, self.port = os.environ["PGHOST"], os.environ["PGPORT"]
        self.url = "postgresql://%s@/%s?host=%s&port=%s" % (
            os.environ.get("PGUSER", "postgres"), os.environ.get("PGDATABASE", "postgres"),
            self.host, self.port)
        bins = sorted(d for d in os.listdir("/usr/lib/postgresql"))
        self.pg_ctl = "/usr/lib/postgresql/%s/bin/pg_ctl" % bins[-1]

    def _run(self, *args):
        cmd = [self.pg_ctl, "-D", os.path.join(self.host, "data")] + list(args)
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        self._run("-m", "fast", "-w", "stop")

    def start(self):
        self._run("-l", os.path.join(self.host, "server-restart.log"), "-w", "-o",
                  "-p %s -k %s -c listen_addresses=''" % (self.port, self.host), "start")


class Region:
    def __init__(self, args, work, config, sim_port, nats):
        common = ["push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
                  "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port,
                  # A cluster moves a dead node's consumers within seconds: the ack wait must
                  # outlast that, or live work is handed out twice.
                  "fanout.ack_wait_ms=%d" % (CLUSTER_ACK_WAIT_MS if args.cluster else ACK_WAIT_MS),
                  "store.nats_replicas=%d" % (3 if args.cluster else 1),
                  "fanout.batch_size=%d" % BATCH,
                  "fanout.sender_workers_high=%d" % SENDERS,
                  "fanout.sender_workers_regular=%d" % SENDERS]

        def proc(name, roles):
            return Serve(args.fanout, config, work, name, common + nats.client(roles) + [
                "roles=[%s]" % ",".join('"%s"' % r for r in roles),
                "store.data_dir=" + os.path.join(work, "data-" + name)])

        self.proc = proc
        self.front = proc("front", ["ingest", "processor", "registry"])
        self.queuer = proc("queuer-1", ["queuer"])
        self.senders = [proc("sender-1", ["sender"]), proc("sender-2", ["sender"])]

    def all(self):
        return [self.front, self.queuer] + self.senders

    def start(self):
        for p in self.all():
            p.start()

    def stop(self):
        for p in self.all():
            p.stop()


def wait_pushed(sim_port, ident, at_least, seconds=60):
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n = len(sim_deliveries(sim_port, ident))
        if n >= at_least:
            return n
        time.sleep(0.02)
    return n


def wait_devices(proc, n, seconds=10):
    """Until the process's index holds n devices (its /metrics gauge)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, body = http("GET", proc.api + "/metrics")
        for line in body.decode().splitlines():
            if line.startswith("fanout_registry_devices{") and line.split()[-1] == str(n):
                return True
        time.sleep(0.05)
    return False


def wait_status(proc, want, seconds=30):
    deadline = time.monotonic() + seconds
    got = None
    while time.monotonic() < deadline:
        got = proc.ready()
        if got == want:
            return got
        time.sleep(0.05)
    return got


def check_alert(name, region, sim_port, admin, ident, expected, bound, seconds=120):
    r = wait_done(region.front.api, admin, ident, seconds)
    total = r.get("total", {})
    redelivered = total.get("redelivered", 0)
    failures = []
    if r.get("status") != "done":
        failures.append("status %r after %d s: %s" % (r.get("status"), seconds, r))
    found, got, twice = delivery_failures(sim_deliveries(sim_port, ident), expected,
                                          redelivered, bound)
    failures += found
    if total.get("targeted") != len(expected):
        failures.append("report targeted=%s, expected %d" % (total.get("targeted"),
                                                               len(expected)))
    return failures, got, twice, redelivered


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("data_dir")
    p.add_argument("--devices", type=int, default=8000, help="devices in the area")
    p.add_argument("--latency-ms", type=int, default=100, help="pushsim latency per push")
    p.add_argument("--scenarios", default="roles,sender,queuer,nats,postgres")
    p.add_argument("--cluster", action="store_true",
                   help="a 3-node NATS cluster, streams with 3 replicas (scenario node)")
    args = p.parse_args()
    if "PGHOST" not in os.environ:
        raise SystemExit("PGHOST is not set: run under scripts/with-postgres.sh")
    os.environ["FANOUT_DATA_DIR"] = args.data_dir
    work = tempfile.mkdtemp(prefix="fanout-distributed-")
    nats = NatsCluster(work, args.fanout) if args.cluster else Nats(work, args.fanout)
    pg = Postgres()
    sim = region = None
    failures = []
    finished = False
    try:
        nats.start()
        example = subprocess.run([args.fanout, "config", "example", "--distributed", "--nats",
                                  nats.url, "--postgres", pg.url], check=True,
                                 capture_output=True, text=True)
        text = example.stdout
        config = os.path.join(work, "fanout.toml")
        with open(config, "w") as f:
            f.write(text)
        ap2, admin = config_tokens(example.stderr)
        device_token = clear_tokens(example.stderr)["device_token"]
        devices, expected = make_devices(args.devices, args.devices // 4, seed=11, prefix="dist")
        write_jsonl(os.path.join(work, "devices.jsonl"), devices)
        subprocess.run([args.fanout, "devices", "import", os.path.join(work, "devices.jsonl"),
                        "--postgres", pg.url], check=True, stdout=subprocess.DEVNULL)
        sim_port = free_port()
        sim = subprocess.Popen([args.fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port,
                                "--faults", "latency_ms=%d" % args.latency_ms],
                               stdout=open(os.path.join(work, "sim.log"), "w"),
                               stderr=subprocess.STDOUT)
        region = Region(args, work, config, sim_port, nats)
        region.start()
        one_process = SENDERS * BATCH * 2  # batches one sender process works on at once

        def put(ident):
            return http("PUT", region.front.api + "/v1/alerts/AP2/" + ident, ap2,
                        alert_xml(ident, "Distributed test " + ident))

        for name in args.scenarios.split(","):
            ident = "dist-%s-%d" % (name, os.getpid())
            bad = []
            note = ""
            if name == "roles":
                # The queuer's index follows the device feed: a device registered and one
                # removed through the front are there before the alert.
                new_token = "f0" * 32
                status, _ = http("PUT", region.front.api + "/v1/devices/dist-new", device_token,
                                 ('{"platform":"apns","token":"%s","regions":["%s"]}' %
                                  (new_token, IN_AREA)).encode())
                if status != 201:
                    bad.append("device PUT to the front answered %d" % status)
                if not wait_devices(region.queuer, len(devices) + 1):
                    bad.append("the queuer's index did not get the registered device")
                gone = devices[0]
                status, _ = http("DELETE", region.front.api + "/v1/devices/" + gone["device_id"],
                                 device_token)
                if status not in (200, 204):
                    bad.append("device DELETE to the front answered %d" % status)
                if not wait_devices(region.queuer, len(devices)):
                    bad.append("the queuer's index did not drop the removed device")
                expected = (expected - {gone["token"]}) | {new_token}
                status, body = put(ident)
                if status != 202:
                    raise SystemExit("PUT answered %d %s" % (status, body[:300]))
                status, body = http("PUT", region.queuer.api + "/v1/alerts/AP2/x", ap2,
                                    alert_xml("x", "x"))
                if status != 421 or b"ROLE_NOT_SERVED" not in body:
                    bad.append("an alert PUT to the queuer answered %d %s" % (status, body[:200]))
                status, body = http("GET", region.senders[0].api + "/v1/devices/dist-0", "x")
                if status != 421:
                    bad.append("a device call to a sender answered %d" % status)
                found, got, twice, redelivered = check_alert(name, region, sim_port, admin,
                                                             ident, expected, 0)
                bad += found
                note = "%d devices, %d twice" % (got, twice)
            elif name == "sender":
                status, body = put(ident)
                if status != 202:
                    raise SystemExit("PUT answered %d %s" % (status, body[:300]))
                at_kill = wait_pushed(sim_port, ident, len(expected) // 10)
                region.senders[0].kill9()
                at_kill = len(sim_deliveries(sim_port, ident))
                if not 0 < at_kill < len(expected):
                    bad.append("the kill did not land mid-fan-out (%d of %d pushed)" %
                               (at_kill, len(expected)))
                found, got, twice, redelivered = check_alert(name, region, sim_port, admin,
                                                             ident, expected, one_process)
                bad += found
                note = "killed at %d pushed; %d devices, %d twice, redelivered %d (bound %d)" % (
                    at_kill, got, twice, redelivered, one_process)
                region.senders[0].start()
            elif name == "queuer":
                status, body = put(ident)
                if status != 202:
                    raise SystemExit("PUT answered %d %s" % (status, body[:300]))
                region.queuer.kill9()
                time.sleep(ACK_WAIT_MS / 1000.0 + 1.0)
                before = len(sim_deliveries(sim_port, ident))
                if before >= len(expected):
                    bad.append("all %d pushed before the queuer was killed: the kill came too "
                               "late to test anything" % before)
                region.queuer = region.proc("queuer-2", ["queuer"])
                region.queuer.start()
                found, got, twice, redelivered = check_alert(name, region, sim_port, admin,
                                                             ident, expected, 0)
                bad += found
                note = "%d pushed before the new queuer; %d devices, %d twice" % (before, got,
                                                                                 twice)
            elif name == "nats":
                status, body = put(ident)
                if status != 202:
                    raise SystemExit("PUT answered %d %s" % (status, body[:300]))
                at_kill = wait_pushed(sim_port, ident, len(expected) // 10)
                nats.stop()
                ready = wait_status(region.front, 503)
                _, ready_body = http("GET", region.front.api + "/readyz")
                if ready != 503 or b"nats" not in ready_body:
                    bad.append("/readyz with NATS down answered %s %s" % (ready, ready_body))
                during = ident + "-during"
                status_during, _ = put(during)
                if status_during == 202:
                    bad.append("an alert was accepted (202) while NATS was down")
                time.sleep(1.0)
                nats.start()
                for proc in region.all():
                    if wait_status(proc, 200, 60) != 200:
                        bad.append("%s not ready again after NATS came back" % proc.name)
                found, got, twice, redelivered = check_alert(name, region, sim_port, admin,
                                                             ident, expected, 2 * one_process)
                bad += found
                # The refused alert, sent again, is delivered.
                status, _ = put(during)
                if status != 202:
                    bad.append("the alert refused during the outage answered %d when re-sent" %
                               status)
                else:
                    found, _, _, _ = check_alert(name, region, sim_port, admin, during,
                                                 expected, 0)
                    bad += ["re-sent alert: " + f for f in found]
                note = ("stopped at %d pushed; PUT during the outage answered %d; %d devices, %d "
                        "twice, redelivered %d" % (at_kill, status_during, got, twice,
                                                   redelivered))
            elif name == "node":
                # A cluster node dies (-9): with 3 replicas nothing acknowledged is lost, the
                # processes move to the other nodes, and new alerts are still accepted.
                status, body = put(ident)
                if status != 202:
                    raise SystemExit("PUT answered %d %s" % (status, body[:300]))
                at_kill = wait_pushed(sim_port, ident, len(expected) // 10)
                nats.kill9_node(0)
                print("node 0 killed at %d ms" % int(time.time() * 1000), flush=True)
                after = ident + "-after"
                status_after = 0
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # leaders move within seconds
                    try:
                        status_after, _ = put(after)
                    except OSError:  # no answer in time: a provider sends again
                        status_after = 0
                    if status_after == 202:
                        break
                    time.sleep(0.5)
                if status_after != 202:
                    bad.append("no alert accepted within 30 s of a node's death (%d)" %
                               status_after)
                # While the cluster moves leaders (seconds) acknowledgements and the log's tail
                # lag, so batches done just before may be handed out again: any number, each
                # pushed at most twice and every one reported.
                found, got, twice, redelivered = check_alert(name, region, sim_port, admin,
                                                             ident, expected, len(expected))
                bad += found
                if status_after == 202:
                    found, _, _, _ = check_alert(name, region, sim_port, admin, after, expected,
                                                 2 * one_process)
                    bad += ["alert after the node died: " + f for f in found]
                note = ("node killed at %d pushed; alert after it answered %d; %d devices, %d "
                        "twice, redelivered %d" % (at_kill, status_after, got, twice,
                                                   redelivered))
            elif name == "postgres":
                status, body = put(ident)
                if status != 202:
                    raise SystemExit("PUT answered %d %s" % (status, body[:300]))
                pg.stop()
                try:
                    for proc in (region.front, region.queuer):
                        ready = wait_status(proc, 503)
                        _, ready_body = http("GET", proc.api + "/readyz")
                        if ready != 503 or b"postgresql" not in ready_body:
                            bad.append("%s /readyz with PostgreSQL down answered %s %s" %
                                       (proc.name, ready, ready_body))
                    dev = devices[2]  # APNs, like the JSON below
                    status, _ = http("PUT", region.front.api + "/v1/devices/" + dev["device_id"],
                                     device_token, b'{"platform":"apns","token":"' +
                                     dev["token"].encode() + b'","regions":["' +
                                     dev["regions"][0].encode() + b'"]}')
                    if status != 503:
                        bad.append("a device PUT with PostgreSQL down answered %d, not 503" %
                                   status)
                    found, got, twice, redelivered = check_alert(name, region, sim_port, admin,
                                                                 ident, expected, 0)
                    bad += found
                finally:
                    pg.start()
                for proc in region.all():
                    if wait_status(proc, 200, 60) != 200:
                        bad.append("%s not ready again after PostgreSQL came back" % proc.name)
                note = "%d devices, %d twice (PostgreSQL down throughout)" % (got, twice)
            else:
                raise SystemExit("unknown scenario " + name)
            print("%-8s %s%s" % (name, "FAIL " if bad else "ok   ", note), flush=True)
            failures += ["%s: %s" % (name, b) for b in bad]
        # Every process did its work as its own user: the server refused nothing it needed.
        refused = nats.violations()
        if refused:
            failures.append("NATS refused %d operation(s) of a role's own work, first: %s"
                            % (len(refused), refused[0]))
        finished = True
    finally:
        if region:
            region.stop()
        if sim:
            if failures or not finished:
                try:
                    _, body = http("GET", "http://127.0.0.1:%d/sim/deliveries" % sim_port,
                                   timeout=30)
                    with open(os.path.join(work, "deliveries.ndjson"), "wb") as f:
                        f.write(body)
                except OSError:
                    pass
            sim.terminate()
            sim.wait()
        nats.stop()
        if failures or not finished:
            print("kept %s for inspection" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    if failures:
        sys.exit(1)
    print("distributed e2e: OK")


if __name__ == "__main__":
    main()
