#!/usr/bin/env python3
"""Takeover time distribution of `fanout demo --kill-region` (issue 12).

  bench/regions/takeover.py FANOUT_BINARY [--engine embedded|distributed] [--runs 5]
      [--kill-at 0,0.3,1.0] [--devices 20000] [--regions 2] [--victim eu-central]
      [--deadline-high MS --deadline-regular MS --stall MS]

Runs the demo once per (run, kill time), killing --victim that many seconds after the first
alert is sent, and reads what each run prints per taken-over alert: its priority, the
detection time (takeover minus the later of receipt and kill: the silence the watchdog
waited out) and the completion time (alert-done minus takeover). Prints the distribution
per priority (n, median, p90, max) as Markdown rows, plus each run's duplicates and whether
it passed. Every run must pass its own checks (every targeted device warned, duplicates
reported or within the in-flight bound); a failed run is printed and counted.
"""
import argparse
import re
import statistics
import subprocess
import sys

ROW = re.compile(r"^(\S+)\s+(\S+)\s+(high|regular)\s+(\S+)\s+")
TAKEOVER = re.compile(r"takeovers: (\d+), by (\S+), (-?\d+) ms after receipt, (-?\d+) ms after "
                      r"the silence began; done (-?\d+) ms later")
DUPS = re.compile(r"duplicates (\d+), unexpected (\d+) \(pushes the reports count as re-sent: "
                  r"(\d+), possibly re-sent: (\d+)\)")


def quantile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("--engine", default="embedded")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--kill-at", default="0,0.3,1.0")
    p.add_argument("--devices", type=int, default=20000)
    p.add_argument("--regions", type=int, default=2)
    p.add_argument("--victim", default="eu-central")
    p.add_argument("--deadline-high", type=int)
    p.add_argument("--deadline-regular", type=int)
    p.add_argument("--stall", type=int)
    args = p.parse_args()

    detect = {"high": [], "regular": []}
    complete = {"high": [], "regular": []}
    failures = 0
    for run in range(args.runs):
        for at in [float(x) for x in args.kill_at.split(",")]:
            cmd = [args.fanout, "demo", "--engine", args.engine, "--devices", str(args.devices),
                   "--regions", str(args.regions), "--seed", str(run + 1),
                   "--kill-region", "%s@%g" % (args.victim, at)]
            for flag in ("deadline_high", "deadline_regular", "stall"):
                if getattr(args, flag) is not None:
                    cmd += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            priority = None
            taken = 0
            for line in out.stdout.splitlines():
                m = ROW.match(line)
                if m:
                    priority = m.group(3)
                    continue
                m = TAKEOVER.search(line)
                if m and priority:
                    taken += 1
                    detect[priority].append(int(m.group(4)))
                    if int(m.group(5)) >= 0:
                        complete[priority].append(int(m.group(5)))
            dups = DUPS.search(out.stdout)
            ok = out.returncode == 0
            failures += 0 if ok else 1
            print("run %d kill@%gs: %s, %d alerts taken over, duplicates %s, reported re-sent %s, "
                  "possibly re-sent %s"
                  % (run + 1, at, "ok" if ok else "FAILED (exit %d)" % out.returncode, taken,
                     dups.group(1) if dups else "?", dups.group(3) if dups else "?",
                     dups.group(4) if dups else "?"),
                  flush=True)
            if not ok:
                sys.stdout.write(out.stdout[-3000:] + out.stderr[-2000:])
    print("\n| engine | priority | alerts taken over | detection median / p90 / max (ms) "
          "| completion median / p90 / max (ms) |")
    print("|---|---|---|---|---|")
    for prio in ("high", "regular"):
        d, c = detect[prio], complete[prio]
        if not d:
            continue
        print("| %s | %s | %d | %d / %d / %d | %s |" % (
            args.engine, prio, len(d), statistics.median(d), quantile(d, 0.9), max(d),
            "%d / %d / %d" % (statistics.median(c), quantile(c, 0.9), max(c)) if c else "-"))
    print("\nfailed runs: %d" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
