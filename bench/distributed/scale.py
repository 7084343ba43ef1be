#!/usr/bin/env python3
"""End-to-end pushes/s of one region: embedded (one `fanout serve`) versus distributed (NATS
JetStream + PostgreSQL, the region as processes: front = ingest+processor+registry, one
queuer, and 1, 2 or 4 sender processes), on the same devices, alert and `fanout pushsim`,
interleaved ROUNDS times so every configuration is measured side by side on this shared
machine. Prints per run: pushes/s (devices / (last push - receipt)), first-push latency, and
the CPU seconds each kind of process used during the run (pushsim and nats-server included:
everything shares the machine's cores).

  scripts/with-postgres.sh python3 bench/distributed/scale.py build/release/apps/fanout/fanout \\
      --devices 200000 --rounds 3 [--senders 1,2,4] [--embedded]

Starts its own nats-server (loopback, temp dir) and needs PostgreSQL (PGHOST...: run it under
scripts/with-postgres.sh). Medians per configuration at the end.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e", "distributed"))
from fanout_e2e import (Serve, alert_xml, config_tokens, free_port, http,  # noqa: E402
                        make_devices, wait_done, write_jsonl)
from distributed_e2e import Nats, Postgres  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """utime + stime of a process and its reaped children, seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / TICK
    except OSError:
        return 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "data"))
    p.add_argument("--devices", type=int, default=200000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--senders", default="1,2,4")
    p.add_argument("--no-embedded", action="store_true")
    args = p.parse_args()
    if "PGHOST" not in os.environ:
        raise SystemExit("run under scripts/with-postgres.sh")
    os.environ["FANOUT_DATA_DIR"] = os.path.abspath(args.data_dir)
    work = tempfile.mkdtemp(prefix="fanout-scale-")
    nats, pg = Nats(work), Postgres()
    procs = []
    results = {}
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
        devices, expected = make_devices(args.devices, 0, seed=12, prefix="scale")
        write_jsonl(os.path.join(work, "devices.jsonl"), devices)
        for target in (["--postgres", pg.url], ["--data-dir", os.path.join(work, "data-emb")]):
            subprocess.run([args.fanout, "devices", "import", os.path.join(work, "devices.jsonl")]
                           + target, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        sim_port = free_port()
        sim = subprocess.Popen([args.fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port],
                               stdout=open(os.path.join(work, "sim.log"), "w"),
                               stderr=subprocess.STDOUT)
        procs.append(sim)
        push = ["push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
                "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port, "log.level=warn"]

        def serve(name, sets):
            return Serve(args.fanout, config, work, name, push + sets)

        front = serve("front", ['roles=["ingest","processor","registry"]',
                                "store.data_dir=" + os.path.join(work, "d-front")])
        queuer = serve("queuer", ['roles=["queuer"]',
                                  "store.data_dir=" + os.path.join(work, "d-queuer")])
        front.start()
        queuer.start()
        configs = ([] if args.no_embedded else ["embedded"]) + [
            "distributed-%s" % k for k in args.senders.split(",")]
        n = 0
        for rnd in range(args.rounds):
            for cfg in configs:
                n += 1
                http("DELETE", "http://127.0.0.1:%d/sim/deliveries" % sim_port)
                if cfg == "embedded":
                    emb = serve("embedded", ['store.mode="embedded"',
                                             "store.data_dir=" + os.path.join(work, "data-emb")])
                    emb.start()
                    runners, api = [emb], emb.api
                    groups = {"serve": [emb]}
                else:
                    k = int(cfg.split("-")[1])
                    senders = [serve("sender%d" % i, ['roles=["sender"]', "store.data_dir=" +
                                                      os.path.join(work, "d-sender%d" % i)])
                               for i in range(k)]
                    for s in senders:
                        s.start()
                    runners, api = senders, front.api
                    groups = {"front": [front], "queuer": [queuer], "senders": senders}
                pids = {g: [x.proc.pid for x in ps] for g, ps in groups.items()}
                pids["pushsim"] = [sim.pid]
                pids["nats"] = [nats.proc.pid]
                before = {g: sum(cpu_s(x) for x in ps) for g, ps in pids.items()}
                ident = "scale-%d-%d" % (os.getpid(), n)
                status, body = http("PUT", api + "/v1/alerts/AP2/" + ident, ap2,
                                    alert_xml(ident, "Scale " + cfg))
                if status != 202:
                    raise SystemExit("PUT answered %d %s" % (status, body[:200]))
                r = wait_done(api, admin, ident, 600)
                after = {g: sum(cpu_s(x) for x in ps) for g, ps in pids.items()}
                for x in runners:
                    x.stop()
                t = r.get("total", {})
                if r.get("status") != "done" or t.get("sent") != len(expected):
                    raise SystemExit("%s: %s" % (cfg, json.dumps(r)[:400]))
                wall = (t["last_push_ms"] - r["received_ms"]) / 1000.0
                rate = len(expected) / wall
                cpu = {g: after[g] - before[g] for g in pids}
                results.setdefault(cfg, []).append((rate, t["first_push_ms"] - r["received_ms"],
                                                    cpu))
                print("round %d %-14s %8.0f pushes/s  %6.2f s  first push %4d ms  CPU s: %s" % (
                    rnd + 1, cfg, rate, wall, t["first_push_ms"] - r["received_ms"],
                    " ".join("%s %.1f" % (g, c) for g, c in cpu.items())), flush=True)
        print("\nmedians over %d rounds, %d devices (half APNs, half FCM), one alert each:" %
              (args.rounds, args.devices))
        base = statistics.median(x[0] for x in results[configs[0]])
        for cfg in configs:
            rates = [x[0] for x in results[cfg]]
            groups = results[cfg][0][2].keys()
            cpu = " ".join("%s %.1f" % (g, statistics.median(x[2][g] for x in results[cfg]))
                           for g in groups)
            print("  %-14s %8.0f pushes/s (%.2f× %s)  first push %d ms  CPU s: %s" % (
                cfg, statistics.median(rates), statistics.median(rates) / base, configs[0],
                statistics.median(x[1] for x in results[cfg]), cpu))
        front.stop()
        queuer.stop()
    finally:
        for x in procs:
            x.terminate()
            x.wait()
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
