#!/usr/bin/env python3
"""Dashboards over HTTP and the operator console in a real browser (issue 13).

  console_e2e.py FANOUT_BINARY DATA_DIR OUT_DIR [--devices 3000] [--no-browser]

One `fanout serve` (embedded engine) with `fanout pushsim`; devices in München (and some in
Hamburg) imported into its store. The expectations are written by hand from the keys:

Dashboards (`GET /v1/dashboard/{key}.json`, no token):
  - an Alert on München is on München's, Oberbayern's and Bayern's dashboards, not on
    Hamburg's; `ETag` + `If-None-Match` answer 304; `Cache-Control` carries max-age;
  - an Update replaces it (same dashboards), a Cancel empties them — and the devices that
    got the Alert get the Cancel too, with the Alert's collapse id (pushsim's log);
  - a Cancel that arrives before its Alert keeps that Alert off;
  - after `serve` is killed with -9 and started again, the dashboards are the same (ETag).
Console (`GET /`, headless Debian Chromium driven by playwright-core, console_browser.mjs):
  signs in with the admin token through the form, waits until the alert's row shows 100 %
  and the map draws its area, and saves a screenshot as OUT_DIR/console.png.
Exit 0 if all hold.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fanout_e2e import (IN_AREA, Serve, config_tokens, free_port, http,  # noqa: E402
                        make_devices, sim_deliveries, wait_done, write_jsonl)

HERE = os.path.dirname(os.path.abspath(__file__))


def cap(identifier, msg_type="Alert", references=None, headline="Unwetter in München"):
    refs = ("<references>e2e@fanout.invalid,%s,2026-12-02T10:00:00+01:00</references>"
            % references) if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>e2e@fanout.invalid</sender>
  <sent>2026-12-02T10:00:00+01:00</sent>
  <status>Actual</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <language>de-DE</language>
    <category>Met</category>
    <event>Unwetter</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <expires>2099-12-31T23:00:00+01:00</expires>
    <headline>{headline}</headline>
    <area>
      <areaDesc>München</areaDesc>
      <geocode><valueName>ARS</valueName><value>{IN_AREA}</value></geocode>
    </area>
  </info>
  <info>
    <language>en-GB</language>
    <category>Met</category>
    <event>Severe weather</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <expires>2099-12-31T23:00:00+01:00</expires>
    <headline>Severe weather in Munich</headline>
    <area>
      <areaDesc>Munich</areaDesc>
      <geocode><valueName>ARS</valueName><value>{IN_AREA}</value></geocode>
    </area>
  </info>
</alert>
""".encode()


def dashboard(api, key, etag=None):
    req = urllib.request.Request(api + "/v1/dashboard/%s.json" % key)
    if etag:
        req.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read()), r.headers.get("ETag"), r.headers.get(
                "Cache-Control")
    except urllib.error.HTTPError as e:
        return e.code, None, e.headers.get("ETag"), e.headers.get("Cache-Control")


def ids(api, key):
    status, body, _, _ = dashboard(api, key)
    return [e["id"] for e in body] if status == 200 else "HTTP %d" % status


def wait_ids(api, key, want, seconds=20):
    deadline = time.monotonic() + seconds
    got = None
    while time.monotonic() < deadline:
        got = ids(api, key)
        if got == want:
            return got
        time.sleep(0.1)
    return got


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fanout")
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--devices", type=int, default=3000)
    p.add_argument("--no-browser", action="store_true")
    args = p.parse_args()
    os.environ["FANOUT_DATA_DIR"] = args.data_dir
    os.makedirs(args.out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="fanout-console-")
    example = subprocess.run([args.fanout, "config", "example"], check=True,
                             capture_output=True, text=True)
    text = example.stdout
    config = os.path.join(work, "fanout.toml")
    with open(config, "w") as f:
        f.write(text)
    ap2, admin = config_tokens(example.stderr)
    devices, expected = make_devices(args.devices, args.devices // 5, seed=21, prefix="con")
    write_jsonl(os.path.join(work, "devices.jsonl"), devices)
    subprocess.run([args.fanout, "devices", "import", os.path.join(work, "devices.jsonl"),
                    "--data-dir", os.path.join(work, "data")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim_port = free_port()
    sim = subprocess.Popen([args.fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port,
                            "--faults", "latency_ms=20"],
                           stdout=open(os.path.join(work, "sim.log"), "w"),
                           stderr=subprocess.STDOUT)
    region = Serve(args.fanout, config, work, "serve", [
        "push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
        "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port,
        "store.data_dir=" + os.path.join(work, "data"), "http.dashboard_max_age_s=7"])
    failures = []

    def check(what, got, want):
        if got != want:
            failures.append("%s: got %r, expected %r" % (what, got, want))
        else:
            print("  ok: %s" % what)

    def put(ident, body):
        status, answer = http("PUT", region.api + "/v1/alerts/AP2/" + ident, ap2, body)
        if status != 202:
            failures.append("PUT %s answered %d %s" % (ident, status, answer[:200]))

    tag = "%d" % os.getpid()
    try:
        region.start()
        a1 = "con-a1-" + tag
        put(a1, cap(a1))
        wait_done(region.api, admin, a1, 60)
        for key in (IN_AREA, "091000000000", "090000000000"):
            check("alert on München's key %s" % key, wait_ids(region.api, key, [a1]), [a1])
        check("not on Hamburg's", ids(region.api, "020000000000"), [])
        status, body, etag, cache = dashboard(region.api, IN_AREA)
        entry = body[0]
        check("NINA shape: headline, languages, severity, msgType",
              (entry["payload"]["data"]["headline"], sorted(entry["i18nTitle"]),
               entry["payload"]["data"]["severity"], entry["payload"]["data"]["msgType"]),
              ("Unwetter in München", ["de", "en"], "Severe", "Alert"))
        check("Cache-Control", cache, "public, max-age=7")
        check("If-None-Match answers 304", dashboard(region.api, IN_AREA, etag)[0], 304)
        check("unknown key 404", dashboard(region.api, "099990000000")[0], 404)

        u1 = "con-u1-" + tag
        put(u1, cap(u1, "Update", a1, "Update: Unwetter in München"))
        wait_done(region.api, admin, u1, 60)
        check("the Update replaces the Alert", wait_ids(region.api, IN_AREA, [u1]), [u1])
        c1 = "con-c1-" + tag
        put(c1, cap(c1, "Cancel", u1, "Entwarnung"))
        wait_done(region.api, admin, c1, 60)
        check("the Cancel empties München's", wait_ids(region.api, IN_AREA, []), [])
        check("and Bayern's", ids(region.api, "090000000000"), [])
        # The Cancel reaches the phones that got the Alert, collapsing onto it.
        got_alert = {d["token"] for d in sim_deliveries(sim_port, a1)}
        cancels = [d for d in sim_deliveries(sim_port) if d.get("collapse_id") == a1]
        check("every device warned got the Alert", got_alert == expected, True)
        per_token = {}
        for d in cancels:
            per_token[d["token"]] = per_token.get(d["token"], 0) + 1
        check("the Update and the Cancel reached every device that got the Alert (3 pushes "
              "with the Alert's collapse id)", sorted(set(per_token.values())), [3])

        # A Cancel before its Alert.
        a2, c2 = "con-a2-" + tag, "con-c2-" + tag
        put(c2, cap(c2, "Cancel", a2, "Entwarnung"))
        wait_done(region.api, admin, c2, 60)
        put(a2, cap(a2))
        wait_done(region.api, admin, a2, 60)
        time.sleep(1)
        check("a Cancel before its Alert keeps it off", ids(region.api, IN_AREA), [])

        # The SLA histogram: one observation per completed alert (a1, u1, c1, c2, a2 so far).
        _, metrics = http("GET", region.api + "/metrics")
        counts = [float(line.split()[-1]) for line in metrics.decode().splitlines()
                  if line.startswith("fanout_alert_receipt_to_done_seconds_count")]
        check("SLA histogram: one observation per completed alert", sum(counts), 5.0)

        a3 = "con-a3-" + tag
        put(a3, cap(a3, headline="Unwetter, zweite Warnung"))
        wait_done(region.api, admin, a3, 60)
        wait_ids(region.api, IN_AREA, [a3])
        before = dashboard(region.api, "090000000000")
        region.kill9()
        region.start()
        after = wait_ids(region.api, "090000000000", [a3])
        check("after kill -9 and restart: the same dashboard", after, [a3])
        check("... with the same ETag", dashboard(region.api, "090000000000")[2], before[2])

        if not args.no_browser:
            shot = os.path.join(args.out_dir, "console.png")
            r = subprocess.run(["node", os.path.join(HERE, "console_browser.mjs"), region.api,
                                admin, a3, shot], capture_output=True, text=True, timeout=180)
            sys.stdout.write(r.stdout)
            if r.returncode != 0:
                failures.append("browser: exit %d: %s" % (r.returncode, r.stderr[-2000:]))
            elif not os.path.exists(shot):
                failures.append("browser: no screenshot")
            else:
                print("  ok: console screenshot %s" % shot)
    finally:
        region.stop()
        sim.terminate()
        sim.wait()
        if failures:
            print("work dir kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    if failures:
        sys.exit(1)
    print("console e2e: OK")


if __name__ == "__main__":
    main()
