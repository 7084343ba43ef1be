#!/usr/bin/env python3
"""Cost of watching on normal throughput (issue 12): `fanout demo` with the regions watching
each other (the default) and with `--no-watch`, interleaved, same devices and alerts.

  bench/regions/watch_overhead.py FANOUT_BINARY [--rounds 5] [--devices 200000] [--regions 2]

Reads the demo's "total: N pushes accepted ... in S s ... (P pushes/s)" line per run and
prints both configurations' medians and their ratio. Every run must pass its own checks.
"""
import argparse
import re
import statistics
import subprocess
import sys

TOTAL = re.compile(r"total: (\d+) pushes accepted by the simulator in ([\d.]+) s from first "
                   r"receipt to last push \((\d+) pushes/s\); whole send\+deliver phase ([\d.]+) s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--devices", type=int, default=200000)
    p.add_argument("--regions", type=int, default=2)
    args = p.parse_args()
    rate = {"watch": [], "no-watch": []}
    phase = {"watch": [], "no-watch": []}
    for r in range(args.rounds):
        order = ["watch", "no-watch"] if r % 2 == 0 else ["no-watch", "watch"]
        for mode in order:
            cmd = [args.fanout, "demo", "--devices", str(args.devices), "--regions",
                   str(args.regions)] + (["--no-watch"] if mode == "no-watch" else [])
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            m = TOTAL.search(out.stdout)
            if out.returncode != 0 or not m:
                print("round %d %s: FAILED (exit %d)\n%s" % (r + 1, mode, out.returncode,
                                                           out.stdout[-2000:]))
                return 1
            rate[mode].append(int(m.group(3)))
            phase[mode].append(float(m.group(4)))
            print("round %d %-8s %s pushes in %s s: %s pushes/s; send+deliver phase %s s"
                  % (r + 1, mode, m.group(1), m.group(2), m.group(3), m.group(4)), flush=True)
    w, n = statistics.median(rate["watch"]), statistics.median(rate["no-watch"])
    print("\n| regions watching | pushes/s median (%d runs) | send+deliver phase median (s) |"
          % args.rounds)
    print("|---|---|---|")
    print("| yes (default) | %d | %.2f |" % (w, statistics.median(phase["watch"])))
    print("| no (`--no-watch`) | %d | %.2f |" % (n, statistics.median(phase["no-watch"])))
    print("\nratio watch / no-watch: %.3f" % (w / n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
