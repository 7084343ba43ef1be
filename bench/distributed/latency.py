#!/usr/bin/env python3
"""Latency of small alerts on the distributed engine: receipt -> processed -> first push ->
last push, per alert, for the region as three processes (front = ingest+processor+registry,
queuer, sender) or as one process with every role. Devices: --devices in München (half APNs,
half FCM); each alert goes to all of them.

  scripts/with-postgres.sh python3 bench/distributed/latency.py build/release/apps/fanout/fanout \\
      [--devices 100] [--alerts 10] [--mode split|single]

Starts its own nats-server; prints one line per alert and the medians (from the reports'
received_ms, processed_ms, first_push_ms and last_push_ms).
"""
import argparse
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "data"))
    p.add_argument("--devices", type=int, default=100)
    p.add_argument("--alerts", type=int, default=10)
    p.add_argument("--mode", choices=["split", "single"], default="split")
    args = p.parse_args()
    os.environ["FANOUT_DATA_DIR"] = os.path.abspath(args.data_dir)
    work = tempfile.mkdtemp(prefix="fanout-latency-")
    nats, pg = Nats(work), Postgres()
    procs, sim = [], None
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
        devices, _ = make_devices(args.devices, 0, seed=13, prefix="lat")
        write_jsonl(os.path.join(work, "d.jsonl"), devices)
        subprocess.run([args.fanout, "devices", "import", os.path.join(work, "d.jsonl"),
                        "--postgres", pg.url], check=True, capture_output=True)
        sim_port = free_port()
        sim = subprocess.Popen([args.fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        push = ["push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
                "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port, "log.level=warn"]
        layout = ([("front", '"ingest","processor","registry"'), ("queuer", '"queuer"'),
                   ("sender", '"sender"')] if args.mode == "split" else [("all", None)])
        for name, roles in layout:
            sets = push + ["store.data_dir=" + os.path.join(work, name)]
            if roles:
                sets.append("roles=[%s]" % roles)
            procs.append(Serve(args.fanout, config, work, name, sets))
            procs[-1].start()
        time.sleep(1.0)
        rows = []
        for i in range(args.alerts):
            ident = "lat-%d-%d" % (os.getpid(), i)
            status, body = http("PUT", procs[0].api + "/v1/alerts/AP2/" + ident, ap2,
                                alert_xml(ident, "Latency"))
            if status != 202:
                raise SystemExit("PUT answered %d %s" % (status, body[:200]))
            r = wait_done(procs[0].api, admin, ident, 60)
            t = r["total"]
            row = (r["processed_ms"] - r["received_ms"], t["first_push_ms"] - r["received_ms"],
                   t["last_push_ms"] - r["received_ms"])
            rows.append(row)
            print("alert %2d: processed +%d ms, first push +%d ms, last push +%d ms" % (i, *row))
            time.sleep(0.2)
        print("medians (%s, %d devices, %d alerts): processed +%d ms, first push +%d ms, "
              "last push +%d ms" % (args.mode, args.devices, args.alerts,
                                    *(statistics.median(r[k] for r in rows) for k in range(3))))
    finally:
        for x in procs:
            x.stop()
        if sim:
            sim.terminate()
            sim.wait()
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
