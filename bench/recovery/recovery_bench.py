#!/usr/bin/env python3
"""Recovery time of `fanout serve` versus the size of its durable state (issue 10).

  bench/recovery/recovery_bench.py FANOUT_BINARY DATA_DIR [--devices 100000]
      [--alerts 10,100,300] [--runs 3]

Imports N devices (a fifth outside the alerts' area), starts `serve` with pushsim, sends A
alerts (each to N devices), waits until every report says done, kills serve with SIGKILL and
starts it again on the same data dir R times, measuring process start -> /readyz 200 and the
"recovered in" line `serve` logs (events, plans, queued items, identifiers, open alerts).
Prints one Markdown row per alert count with the medians; the exact command goes into
BENCHMARKS.md with the rows.
"""
import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "crash_e2e", os.path.join(HERE, "..", "..", "tests", "e2e", "crash", "crash_e2e.py"))
crash = importlib.util.module_from_spec(spec)
spec.loader.exec_module(crash)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("data_dir")
    p.add_argument("--devices", type=int, default=100000)
    p.add_argument("--alerts", default="10,100,300")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    os.environ["FANOUT_DATA_DIR"] = args.data_dir
    example = subprocess.run([args.fanout, "config", "example"], check=True,
                             capture_output=True, text=True)
    text = example.stdout
    ap2, admin = crash.config_tokens(example.stderr)
    devices, expected = crash.make_devices(args.devices * 4 // 5, args.devices // 5, seed=3)
    print("| alerts done | events | plans | devices | restart → ready (median of %d) | "
          "`recovered in` (median) |" % args.runs)
    print("|---|---|---|---|---|---|")
    for n_alerts in [int(x) for x in args.alerts.split(",")]:
        work = tempfile.mkdtemp(prefix="fanout-recovery-")
        config = os.path.join(work, "fanout.toml")
        with open(config, "w") as f:
            f.write(text)
        sim_port = crash.free_port()
        sim = subprocess.Popen([args.fanout, "pushsim", "--no-record", "--listen",
                                "127.0.0.1:%d" % sim_port], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        region = None
        try:
            dev_file = os.path.join(work, "devices.jsonl")
            with open(dev_file, "w") as f:
                for d in devices:
                    f.write(crash.json.dumps(d) + "\n")
            subprocess.run([args.fanout, "devices", "import", dev_file, "--data-dir",
                            os.path.join(work, "data")], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            region = crash.Region(args.fanout, config, work, sim_port)
            region.start()
            ids = []
            for i in range(n_alerts):
                ident = "recovery-%d-%d" % (n_alerts, i)
                status, body = crash.http("PUT", region.api + "/v1/alerts/AP2/" + ident, ap2,
                                          crash.alert_xml(ident, "Recovery %d" % i))
                if status != 202:
                    raise SystemExit("PUT %s answered %d %s" % (ident, status, body[:200]))
                ids.append(ident)
            for ident in ids:
                r = crash.wait_done(region, admin, ident, 600)
                if r.get("status") != "done":
                    raise SystemExit("%s not done: %s" % (ident, r.get("status")))
            ready, recovered, line = [], [], ""
            for _ in range(args.runs):
                region.kill9()
                ready.append(region.start())
                log = open(os.path.join(work, "serve-%d.log" % region.starts)).read()
                m = re.search(r"recovered in (\d+) ms: (.*)", log)
                if not m:
                    raise SystemExit("no 'recovered in' line in the serve log")
                recovered.append(int(m.group(1)))
                line = m.group(2)
            ev = re.search(r"(\d+) events", line).group(1)
            pl = re.search(r"(\d+) plans", line).group(1)
            print("| %d | %s | %s | %d | %.2f s | %d ms |" %
                  (n_alerts, ev, pl, len(devices), statistics.median(ready),
                   statistics.median(recovered)))
            sys.stdout.flush()
        finally:
            if region:
                region.stop()
            sim.terminate()
            sim.wait()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
