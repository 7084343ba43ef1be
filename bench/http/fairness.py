#!/usr/bin/env python3
"""Does a flood from one client delay another provider's Extreme alert? (issue 14)

  fairness.py FANOUT_BINARY DATA_DIR [--trials 5] [--devices 2000] [--flood-connections 8]

One `fanout serve` (example config, embedded engine) + `fanout pushsim`, DEVICES devices in
München. Per trial and condition, alternating:
  quiet    nothing else happens;
  devices  a device client floods `PUT /v1/devices/{id}` (devices in Köln) from
           127.0.0.2 over FLOOD kept-alive connections, as fast as the server answers;
  alerts   provider AP2 floods `PUT /v1/alerts/AP2/{id}` (distinct alerts for Hamburg, where
           no device is: the flood costs the API and the pipeline, not pushes) from
           127.0.0.3 over FLOOD connections.
The Extreme alert's audience (the München devices) stays the same in every condition.
After 1 s of flood, provider AP1 (high priority) sends an Extreme alert from 127.0.0.1 and
the script measures its PUT latency and the time from sending it to its first push at
pushsim (pushsim's t_ms; same clock) and to its last. Prints per condition the medians and
the flood's request rate, and the ratios flood / quiet.
"""
import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "e2e", "lib"))
from fanout_e2e import (IN_AREA, OUT_AREA, Serve, alert_xml, clear_tokens, free_port, make_devices,  # noqa: E402
                        sim_deliveries, wait_done, write_jsonl)


def flood(kind, port, tokens, stop, counter, conns):
    source = "127.0.0.2" if kind == "devices" else "127.0.0.3"

    def run(k):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                       source_address=(source, 0))
        i = 0
        while not stop.is_set():
            i += 1
            if kind == "devices":
                path = "/v1/devices/flood-%d-%d" % (k, i % 500)
                body = ('{"platform":"apns","token":"%064x","regions":["053150000000"]}'
                        % (k * 1000000 + i)).encode()
                auth = tokens["device_token"]
            else:
                ident = "flood-%d-%d-%d" % (os.getpid(), k, i)
                path = "/v1/alerts/AP2/" + ident
                body = alert_xml(ident, "Flut %d" % i).replace(IN_AREA.encode(),
                                                                 OUT_AREA.encode())
                auth = tokens["AP2"]
            try:
                c.request("PUT", path, body=body, headers={"Authorization": "Bearer " + auth})
                r = c.getresponse()
                r.read()
                counter[0] += 1
            except (OSError, http.client.HTTPException):
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                               source_address=(source, 0))
        c.close()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    return threads


def extreme(api_port, sim_port, tokens, ident):
    body = alert_xml(ident, "Extreme").replace(b"<severity>Severe</severity>",
                                               b"<severity>Extreme</severity>")
    c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    t_send = time.time() * 1000
    c.request("PUT", "/v1/alerts/AP1/" + ident, body=body,
              headers={"Authorization": "Bearer " + tokens["AP1"]})
    r = c.getresponse()
    r.read()
    put_ms = time.time() * 1000 - t_send
    if r.status != 202:
        raise SystemExit("Extreme alert answered %d" % r.status)
    first = last = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        d = sim_deliveries(sim_port, ident)
        if d:
            first = min(x["t_ms"] for x in d) - t_send
            last = max(x["t_ms"] for x in d) - t_send
            if len(d) >= EXPECTED[0]:
                break
        time.sleep(0.02)
    return put_ms, first, last


EXPECTED = [0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fanout")
    ap.add_argument("data")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--devices", type=int, default=2000)
    ap.add_argument("--flood-connections", type=int, default=8)
    args = ap.parse_args()
    os.environ["FANOUT_DATA_DIR"] = os.path.abspath(args.data)  # a copied binary finds its data
    work = tempfile.mkdtemp(prefix="fanout-fairness-")
    conf = os.path.join(work, "fanout.toml")
    with open(conf, "w") as f:
        made = subprocess.run([args.fanout, "config", "example"], stdout=f,
                              stderr=subprocess.PIPE, text=True, check=True,
                              env=dict(os.environ, FANOUT_DATA_DIR=args.data))
    tokens = clear_tokens(made.stderr)
    devices, expected = make_devices(args.devices, 0, 7, prefix="fair")
    EXPECTED[0] = len(expected)
    write_jsonl(os.path.join(work, "devices.jsonl"), devices)
    subprocess.run([args.fanout, "devices", "import", os.path.join(work, "devices.jsonl"),
                    "--data-dir", os.path.join(work, "data")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim_port = free_port()
    sim = subprocess.Popen([args.fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    region = Serve(args.fanout, conf, work, "serve", [
        "push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
        "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port,
        "store.data_dir=" + os.path.join(work, "data"), "log.level=warn"])
    results = {k: [] for k in ("quiet", "devices", "alerts")}
    rates = {k: [] for k in results}
    try:
        region.start()
        print("# %s, %d cores, load %s; %d devices, %d flood connections"
              % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.cpu_count(),
                 open("/proc/loadavg").read().split()[0], args.devices,
                 args.flood_connections))
        for trial in range(args.trials):
            for kind in ("quiet", "devices", "alerts"):
                stop = threading.Event()
                counter = [0]
                threads = []
                if kind != "quiet":
                    threads = flood(kind, region.port, tokens, stop, counter,
                                    args.flood_connections)
                time.sleep(1.0)
                n0, t0 = counter[0], time.monotonic()
                ident = "fair-%d-%s-%d" % (os.getpid(), kind, trial)
                put_ms, first, last = extreme(region.port, sim_port, tokens, ident)
                rate = (counter[0] - n0) / max(time.monotonic() - t0, 1e-3)
                stop.set()
                for t in threads:
                    t.join()
                wait_done(region.api, tokens["admin_token"], ident, 60)
                results[kind].append((put_ms, first, last))
                rates[kind].append(rate)
                print("trial %d %-8s put %7.1f ms  first push %7.1f ms  last push %7.1f ms  "
                      "flood %6.0f req/s" % (trial, kind, put_ms, first or -1, last or -1, rate))
                time.sleep(2.0 if kind == "alerts" else 0.2)  # let the flood's fan-outs drain
    finally:
        region.stop()
        sim.terminate()
        sim.wait()
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)]
           for k, v in results.items()}
    for k in results:
        print("median %-8s put %7.1f ms  first push %7.1f ms  last push %7.1f ms  "
              "flood %6.0f req/s" % (k, med[k][0], med[k][1], med[k][2],
                                     statistics.median(rates[k])))
    for k in ("devices", "alerts"):
        print("ratio %s/quiet: put %.2f, first push %.2f, last push %.2f"
              % (k, med[k][0] / med["quiet"][0], med[k][1] / med["quiet"][1],
                 med[k][2] / med["quiet"][2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
