#!/usr/bin/env python3
"""Dashboards under load while a nationwide alert fans out (issue 13).

  bench/dashboards/dashboard_load.py FANOUT_BINARY DATA_DIR [--devices 300000] [--rounds 3]
      [--connections 32] [--seconds 8]

One `fanout serve` (embedded, production defaults) with N generated devices across Germany
and `fanout pushsim`. Per round, interleaved:
  quiet  an Extreme alert on all 16 Länder, nobody reading dashboards: pushes/s;
  loaded the same with h2load (HTTP/1.1, C kept-alive connections) reading the dashboards of a
         Land, a Kreis and a municipality for the whole fan-out: pushes/s and dashboard
         requests/s;
  idle   h2load alone (no fan-out): dashboard requests/s.
pushes/s = pushes / (last push - receipt) from the alert's report. Prints each run and the
medians; every alert must end done with every push accepted.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "e2e", "lib"))
from fanout_e2e import Serve, config_tokens, free_port, http, wait_done  # noqa: E402

LAENDER = ["%02d0000000000" % i for i in range(1, 17)]
KEYS = ["090000000000", "091790000000", "091620000000", "050000000000", "146120000000"]


def nationwide(ident):
    codes = "".join("<geocode><valueName>ARS</valueName><value>%s</value></geocode>" % k
                    for k in LAENDER)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{ident}</identifier><sender>bench@fanout.invalid</sender>
  <sent>2026-12-03T10:00:00+01:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><language>de-DE</language><category>Safety</category><event>Probewarnung</event>
    <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
    <expires>2099-01-01T00:00:00+01:00</expires><headline>Bundesweite Warnung</headline>
    <area><areaDesc>Deutschland</areaDesc>{codes}</area></info>
</alert>""".encode()


def h2load(urls, connections, seconds):
    cmd = ["h2load", "--h1", "-c", str(connections), "-t", "1", "-D", str(seconds)] + urls
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def h2load_result(proc):
    out = proc.communicate()[0]
    m = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    ok = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed",
                   out)
    if not m or not ok or int(ok.group(3)) != 0:
        raise SystemExit("h2load failed:\n" + out[-1500:])
    return float(m.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("data_dir")
    p.add_argument("--devices", type=int, default=300000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=int, default=8)
    args = p.parse_args()
    os.environ["FANOUT_DATA_DIR"] = args.data_dir
    work = tempfile.mkdtemp(prefix="fanout-dashbench-")
    example = subprocess.run([args.fanout, "config", "example"], check=True,
                             capture_output=True, text=True)
    text = example.stdout
    config = os.path.join(work, "fanout.toml")
    with open(config, "w") as f:
        f.write(text)
    ap2, admin = config_tokens(example.stderr)
    subprocess.run([args.fanout, "devices", "generate", "--count", str(args.devices), "--seed",
                    "5", "--geo-dir", os.path.join(args.data_dir, "geo"), "--data-dir",
                    os.path.join(work, "data")], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    sim_port = free_port()
    sim = subprocess.Popen([args.fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    region = Serve(args.fanout, config, work, "serve", [
        "push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
        "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port,
        "store.data_dir=" + os.path.join(work, "data"),
        # The readers here stand for many clients behind one address (a CDN's edge): the
        # per-client rate limit (issue 14) would measure the limit, not the server.
        "http.client_requests_per_s=0"])
    rates = {"quiet": [], "loaded": []}
    dash = {"loaded": [], "idle": []}
    try:
        region.start()
        urls = [region.api + "/v1/dashboard/%s.json" % k for k in KEYS]
        n = 0

        def fan_out(label, with_load):
            nonlocal n
            n += 1
            ident = "dash-bench-%d-%d" % (os.getpid(), n)
            load = h2load(urls, args.connections, args.seconds) if with_load else None
            if load:
                time.sleep(0.5)  # readers running before the alert arrives
            status, answer = http("PUT", region.api + "/v1/alerts/AP2/" + ident, ap2,
                                  nationwide(ident))
            if status != 202:
                raise SystemExit("PUT answered %d %s" % (status, answer[:200]))
            r = wait_done(region.api, admin, ident, 600)
            t = r.get("total", {})
            if r.get("status") != "done" or t.get("sent") != t.get("targeted"):
                raise SystemExit("alert not done cleanly: %s" % r)
            secs = (t["last_push_ms"] - r["received_ms"]) / 1000.0
            rate = t["sent"] / secs
            rates[label].append(rate)
            line = "%-6s %d pushes in %.2f s: %.0f pushes/s" % (label, t["sent"], secs, rate)
            if load:
                rps = h2load_result(load)
                dash[label].append(rps)
                line += "; dashboards %.0f req/s over the %d s" % (rps, args.seconds)
            print(line, flush=True)

        for r in range(args.rounds):
            order = [("quiet", False), ("loaded", True)]
            if r % 2:
                order.reverse()
            for label, load in order:
                fan_out(label, load)
            rps = h2load_result(h2load(urls, args.connections, args.seconds))
            dash["idle"].append(rps)
            print("idle   dashboards %.0f req/s" % rps, flush=True)
        q, lo = statistics.median(rates["quiet"]), statistics.median(rates["loaded"])
        print("\n| run | pushes/s (median of %d) | dashboard req/s (median) |" % args.rounds)
        print("|---|---|---|")
        print("| fan-out, no dashboard readers | %.0f | – |" % q)
        print("| fan-out + %d dashboard connections | %.0f | %.0f |"
              % (args.connections, lo, statistics.median(dash["loaded"])))
        print("| dashboard readers, no fan-out | – | %.0f |" % statistics.median(dash["idle"]))
        print("\npush throughput with readers / without: %.2f" % (lo / q))
    finally:
        region.stop()
        sim.terminate()
        sim.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
