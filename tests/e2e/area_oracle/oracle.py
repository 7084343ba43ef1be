#!/usr/bin/env python3
"""Helpers of the area-oracle suite (stdlib only). Subcommands:

  alerts DIR OUT        CAP XML / NINA JSON files -> raw rows for PostGIS (alerts.tsv, infos.tsv,
                        parts.tsv). Only the text of the elements is extracted; every rule
                        (key normalisation, warn cells, geometry) is applied in oracle.sql.
  devices CSV DIR OUT   deterministic devices (fixed seed) -> OUT/devices.jsonl (the line format
                        of `fanout devices import`) and OUT/devices.tsv (for PostGIS)
  send ...              upload every alert, then poll the reports (see run.sh)
  compare OUT           expected (from oracle.sql) vs delivered (pushsim) per alert; exit 1 on
                        any difference
"""
import json
import math
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def esc(s):
    return (s or "").replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def row(*cols):
    return "\t".join(esc(str(c)) for c in cols) + "\n"


# ---------------------------------------------------------------- alerts -> raw rows
def provider_of(fn):
    # alert files are named NAME.PROVIDER.xml|json
    return fn.rsplit(".", 2)[1]


def read_alert(path):
    """-> dict(identifier, sender, sent, status, scope, msgType, references, infos=[{severity,
    areas=[{parts=[(kind, name, value)]}], params=[(name, value)]}])"""
    if path.endswith(".json"):
        d = json.load(open(path, encoding="utf-8"))
        a = {k: d.get(k, "") for k in ("identifier", "sender", "sent", "status", "scope", "msgType")}
        a["references"] = d.get("references", "")
        a["infos"] = []
        for inf in d.get("info", []):
            areas = []
            for ar in inf.get("area", []):
                parts = [("polygon", "", p) for p in ar.get("polygon", [])]
                parts += [("circle", "", c) for c in ar.get("circle", [])]
                parts += [("geocode", g["valueName"], g["value"]) for g in ar.get("geocode", [])]
                areas.append(parts)
            params = [(p["valueName"], p["value"]) for p in inf.get("parameter", [])]
            a["infos"].append({"severity": inf.get("severity", ""), "areas": areas, "params": params})
        return a
    root = ET.parse(path).getroot()
    t = lambda e, n: (e.findtext(CAP + n) or "").strip()
    a = {k: t(root, k) for k in ("identifier", "sender", "sent", "status", "scope", "msgType")}
    a["references"] = t(root, "references")
    a["infos"] = []
    for inf in root.findall(CAP + "info"):
        areas = []
        for ar in inf.findall(CAP + "area"):
            parts = [("polygon", "", (p.text or "").strip()) for p in ar.findall(CAP + "polygon")]
            parts += [("circle", "", (c.text or "").strip()) for c in ar.findall(CAP + "circle")]
            parts += [("geocode", t(g, "valueName"), t(g, "value")) for g in ar.findall(CAP + "geocode")]
            areas.append(parts)
        params = [(t(p, "valueName"), t(p, "value")) for p in inf.findall(CAP + "parameter")]
        a["infos"].append({"severity": t(inf, "severity"), "areas": areas, "params": params})
    return a


def alert_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith((".xml", ".json")))


def cmd_alerts(d, out):
    with open(f"{out}/alerts.tsv", "w") as fa, open(f"{out}/infos.tsv", "w") as fi, \
            open(f"{out}/parts.tsv", "w") as fp:
        for fn in alert_files(d):
            a = read_alert(os.path.join(d, fn))
            refs = a["references"].split()
            ref = refs[0].split(",") if refs else ["", "", ""]
            fa.write(row(a["identifier"], fn, provider_of(fn), a["sender"], a["sent"], a["status"],
                         a["scope"], a["msgType"], ref[1] if len(ref) == 3 else ""))
            for i, inf in enumerate(a["infos"]):
                fi.write(row(a["identifier"], i, inf["severity"]))
                for j, parts in enumerate(inf["areas"]):
                    for kind, name, value in parts:
                        fp.write(row(a["identifier"], i, j, kind, name, value))
                for name, value in inf["params"]:
                    fp.write(row(a["identifier"], i, -1, "parameter", name, value))
    print(f"oracle: {len(alert_files(d))} alert files", file=sys.stderr)


# ---------------------------------------------------------------- devices
PROVIDERS = ["AP1", "AP2", "AP3", "AP4"]
FCM_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:-"


def focus_boxes(alert_dir, lakes_file):
    """Bounding boxes (lat0, lon0, lat1, lon1) of every polygon, circle, WKT and lake/coast cell
    of the suite: devices are placed densely there so that border neighbours are tested."""
    boxes = []
    lakes = {}
    for f in json.load(open(lakes_file, encoding="utf-8"))["features"]:
        pts = []

        def walk(c):
            if isinstance(c[0], (int, float)):
                pts.append((c[1], c[0]))
            else:
                for x in c:
                    walk(x)
        walk(f["geometry"]["coordinates"])
        lakes[f["properties"]["WARNCELLID"]] = pts
    for fn in alert_files(alert_dir):
        a = read_alert(os.path.join(alert_dir, fn))
        for inf in a["infos"]:
            for parts in inf["areas"]:
                for kind, name, value in parts:
                    pts = []
                    if kind == "polygon" or (kind == "geocode" and name == "EXCLUDE_POLYGON"):
                        pts = [tuple(map(float, p.split(","))) for p in value.split()]
                    elif kind == "circle":
                        c, r = value.split()
                        la, lo = map(float, c.split(","))
                        dr = max(float(r), 0.5) / 111.0
                        pts = [(la - dr, lo - dr / math.cos(math.radians(la))),
                               (la + dr, lo + dr / math.cos(math.radians(la)))]
                    elif kind == "geocode" and name == "WKT":
                        nums = list(map(float, re.findall(r"-?\d+(?:\.\d+)?", value)))
                        pts = [(nums[i + 1], nums[i]) for i in range(0, len(nums) - 1, 2)]
                    elif kind == "geocode" and name == "WARNCELLID" and value in lakes:
                        pts = lakes[value]
                    if pts:
                        la = [p[0] for p in pts]
                        lo = [p[1] for p in pts]
                        boxes.append((min(la), min(lo), max(la), max(lo)))
    return boxes


def cmd_devices(csv_file, alert_dir, lakes_file, out):
    rnd = random.Random(20261201)
    munis = []
    for line in open(csv_file, encoding="utf-8").read().splitlines()[1:]:
        c = line.split(",")
        munis.append((c[0], c[5], float(c[8]), float(c[9])))  # ars, land, lat, lon
    boxes = focus_boxes(alert_dir, lakes_file)
    m = 0.12  # degrees of margin: the neighbours of every shape get devices too
    chosen = []
    for ars, land, la, lo in munis:
        p = 0.20  # background: about one municipality in five, in every Land
        for (a0, o0, a1, o1) in boxes:
            if a0 - m <= la <= a1 + m and o0 - m <= lo <= o1 + m:
                size = (a1 - a0 + 2 * m) * (o1 - o0 + 2 * m)
                p = max(p, 1.0 if size < 0.6 else 0.7 if size < 1.5 else 0.3)
        if rnd.random() < p:
            chosen.append(ars)
    kreise = sorted({a[:5] for a, *_ in munis})
    laender = sorted({a[:2] for a, *_ in munis})
    rbs = sorted({a[:3] for a, *_ in munis if a[2] != "0"})
    gvs = sorted({a[:9] for a, *_ in munis if a[5:9] != "0000"})
    pad = lambda k: k.ljust(12, "0")
    all_munis = [a for a, *_ in munis]
    regions = []  # one entry per device: list of keys
    regions += [[a] for a in chosen]
    regions += [[pad(k)] for k in kreise]                     # every Kreis once
    regions += [[pad(rnd.choice(kreise))] for _ in range(300)]
    regions += [[pad(l)] for l in laender for _ in range(3)]  # every Land, three times
    regions += [[pad(r)] for r in rnd.sample(rbs, min(15, len(rbs)))]
    regions += [[pad(g)] for g in rnd.sample(gvs, 120)]
    for _ in range(600):  # several regions of mixed levels
        keys = set()
        for _ in range(rnd.randint(2, 4)):
            x = rnd.random()
            if x < 0.6:
                keys.add(rnd.choice(chosen if rnd.random() < 0.7 else all_munis))
            elif x < 0.85:
                keys.add(pad(rnd.choice(kreise)))
            elif x < 0.95:
                keys.add(pad(rnd.choice(gvs)))
            else:
                keys.add(pad(rnd.choice(laender)))
        regions.append(sorted(keys))
    rnd.shuffle(regions)
    n_myloc = len(regions) // 19  # about 5 % of all devices
    for i in range(n_myloc):
        regions.append([] if i % 2 == 0 else [rnd.choice(all_munis)])
    tokens = set()
    with open(f"{out}/devices.jsonl", "w") as fj, open(f"{out}/devices.tsv", "w") as ft:
        for i, keys in enumerate(regions):
            myloc = i >= len(regions) - n_myloc
            platform = "apns" if rnd.random() < 0.55 else "fcm"
            while True:
                if platform == "apns":
                    tok = "".join(rnd.choice("0123456789abcdef") for _ in range(64))
                else:
                    tok = "".join(rnd.choice(FCM_CHARS) for _ in range(rnd.randint(20, 200)))
                if tok not in tokens:
                    break
            tokens.add(tok)
            levels = {}
            if rnd.random() < 0.4:
                for p in rnd.sample(PROVIDERS, rnd.randint(1, 4)):
                    levels[p] = rnd.randint(0, 4)
            dev_id = f"ora-{i:05d}"
            fj.write(json.dumps({"device_id": dev_id, "platform": platform, "token": tok,
                                 "levels": levels, "mylocation": myloc, "regions": keys},
                                separators=(",", ":")) + "\n")
            ft.write(row(dev_id, platform, tok, "t" if myloc else "f",
                         "{" + ",".join(keys) + "}", json.dumps(levels)))
    print(f"oracle: {len(regions)} devices ({n_myloc} mylocation, {len(chosen)} single-municipality "
          f"near the shapes or in the background)", file=sys.stderr)


# ---------------------------------------------------------------- send + poll
def http_get(url, token=None, timeout=10):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()


def wait_reports(api, admin, ids, timeout_s):
    """Poll GET /v1/alerts/{id} until every report is done, quarantined or skipped."""
    final = {}
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for i in ids:
            if i in final:
                continue
            try:
                st = json.loads(http_get(f"{api}/v1/alerts/{urllib.request.quote(i, safe='')}", admin))
            except Exception:
                continue
            if st.get("status") in ("done", "quarantined", "skipped"):
                final[i] = st
        if len(final) == len(ids):
            break
        time.sleep(0.2)
    return final


def cmd_send(fanout, alert_dir, api, config_tokens, admin, out, timeout_s):
    tokens = json.loads(config_tokens)
    files = alert_files(alert_dir)
    # An Update/Cancel goes after every original is finished (its referenced plan must exist).
    first = [f for f in files if read_alert(os.path.join(alert_dir, f))["msgType"] == "Alert"]
    second = [f for f in files if f not in first]
    reports = {}
    sent = {}
    for batch in (first, second):
        ids = []
        for fn in batch:
            prov = provider_of(fn)
            r = subprocess.run([fanout, "alert", "send", os.path.join(alert_dir, fn), "--provider", prov,
                                "--to", api, "--token", tokens[prov]], capture_output=True, text=True,
                               timeout=30)
            ident = read_alert(os.path.join(alert_dir, fn))["identifier"]
            sent[ident] = (r.returncode, (r.stdout + r.stderr).strip())
            ids.append(ident)
        reports.update(wait_reports(api, admin, ids, timeout_s))
    json.dump({"reports": reports, "sent": sent}, open(f"{out}/reports.json", "w"))
    missing = [i for i in sent if i not in reports]
    print(f"oracle: sent {len(sent)} alerts, {len(reports)} reports final"
          + (f", NOT final after {timeout_s}s: {missing}" if missing else ""), file=sys.stderr)


# ---------------------------------------------------------------- compare
def read_tsv(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        rows.append([c.replace("\\t", "\t").replace("\\n", "\n").replace("\\\\", "\\")
                     for c in line.rstrip("\n").split("\t")])
    return rows


def key_prefix(k):
    for n, z in ((2, 10), (3, 9), (5, 7), (9, 3)):
        if k[n:] == "0" * z:
            return k[:n]
    return k


def cmd_compare(out):
    exp_alerts = {r[0]: r for r in read_tsv(f"{out}/expected_alerts.tsv")}
    exp_dev = {}
    for a, dev, tok, optional in read_tsv(f"{out}/expected_devices.tsv"):
        exp_dev.setdefault(a, {})[tok] = (dev, optional == "t")
    decisions = {}
    for r in read_tsv(f"{out}/decisions.tsv"):
        decisions.setdefault(r[0], []).append(r)
    devices = {}
    for line in open(f"{out}/devices.jsonl"):
        d = json.loads(line)
        devices[d["token"]] = d
    rep = json.load(open(f"{out}/reports.json"))
    reports, sent = rep["reports"], rep["sent"]
    delivered = {}
    dups = {}
    collapse = {}
    for line in open(f"{out}/deliveries.jsonl"):
        line = line.strip()
        if not line:
            continue
        d = json.loads(line)
        s = delivered.setdefault(d["alert_id"], set())
        if d["token"] in s:
            dups[d["alert_id"]] = dups.get(d["alert_id"], 0) + 1
        s.add(d["token"])
        collapse.setdefault(d["alert_id"], set()).add(d.get("collapse_id", ""))
    final_munis = {}
    for a, ars, dec in read_tsv(f"{out}/expected_munis.tsv"):
        final_munis.setdefault(a, set()).add(ars)
    defaults = {p: int(l) for p, l in read_tsv(f"{out}/default_levels.tsv")}

    def accepts(d, provider, level):
        return level <= d["levels"].get(provider, defaults.get(provider, 4))

    failures = []
    borderline_notes = []
    print("columns: munis = municipalities the oracle expects (bord = borderline ones); expected = devices\n"
          "that must get the alert (sel = of them by subscription, the rest mylocation); guard = devices\n"
          "subscribed only to municipalities the shapes touch but must NOT reach (sliver neighbours):\n"
          "a plain-intersects resolution would push to them\n")
    hdr = f"{'alert file':<44} {'exp.status':<11} {'status':<11} {'munis':>5} {'bord':>4} {'expected':>8} {'sel':>4} {'optional':>8} {'delivered':>9} {'missing':>7} {'extra':>5} {'dup':>3} {'guard':>5}  result"
    print(hdr)
    print("-" * len(hdr))
    for aid, (aid_, fn, exp_status, level, provider, n_munis, n_border, ref) in sorted(
            exp_alerts.items(), key=lambda x: x[1][1]):
        status = reports.get(aid, {}).get("status", "NO REPORT")
        exp = exp_dev.get(aid, {})
        certain = {t for t, (_, opt) in exp.items() if not opt}
        optional = {t for t, (_, opt) in exp.items() if opt}
        got = delivered.get(aid, set())
        missing = certain - got
        extra = got - certain - optional
        dup = dups.get(aid, 0)
        sel = sum(1 for t in certain if t in devices and not devices[t]["mylocation"])
        touched_no = {r[1] for r in decisions.get(aid, []) if r[4] == "no"} - final_munis.get(aid, set())
        guard = sum(1 for t, d in devices.items() if t not in certain and t not in optional and
                    not d["mylocation"] and accepts(d, provider, int(level)) and
                    any(_covers(d, m) for m in touched_no)) if exp_status != "skipped" else 0
        problems = []
        ok_status = status == exp_status or (exp_status == "done|quarantined" and status in ("done", "quarantined"))
        if not ok_status:
            problems.append(f"status {status}, expected {exp_status}")
            if status in ("quarantined", "skipped"):
                det = reports.get(aid, {})
                problems.append("report reasons: " + json.dumps(det.get("reasons", []))[:400])
        rpt = reports.get(aid, {})
        if exp_status == "quarantined" and status == "quarantined" and \
                not any("AREA_UNRESOLVED" in x for x in rpt.get("reasons", [])):
            problems.append(f"quarantined for another reason than AREA_UNRESOLVED: {rpt.get('reasons')}")
        if status == "done" and rpt.get("total", {}).get("sent") != len(got):
            problems.append(f"report total.sent {rpt.get('total', {}).get('sent')} != {len(got)} delivered")
        if missing:
            problems.append(f"{len(missing)} missing")
        if extra:
            problems.append(f"{len(extra)} extra")
        if dup:
            problems.append(f"{dup} duplicate pushes")
        if ref and got:
            want = ref if len(ref.encode()) <= 64 else None
            if want and collapse.get(aid) != {want}:
                problems.append(f"collapse ids {sorted(collapse.get(aid, []))}, expected {want}")
        res = "ok" if not problems else "FAIL"
        print(f"{fn[:44]:<44} {exp_status[:11]:<11} {status[:11]:<11} {n_munis:>5} {n_border:>4} {len(certain):>8} "
              f"{sel:>4} {len(optional):>8} {len(got):>9} {len(missing):>7} {len(extra):>5} {dup:>3} {guard:>5}  {res}")
        if int(n_border):
            bl = [r for r in decisions.get(aid, []) if r[4] == "borderline"]
            borderline_notes.append(f"{fn}: " + "; ".join(
                f"{r[1]} {r[2]} (area {float(r[7]):.0f} m², width {float(r[8]):.2f} m) "
                f"{'delivered' if any(_covers(devices[t], r[1]) for t in got if t in devices) else 'not delivered'}"
                for r in bl[:8]))
        if problems:
            failures.append((fn, aid, problems, missing, extra))
    for note in borderline_notes:
        print("borderline (either answer accepted): " + note)
    # How close the shape decisions came to the thresholds (5 ha, 10 m mean width).
    fname = {a: r[1] for a, r in exp_alerts.items()}
    allrows = [r for rows in decisions.values() for r in rows]
    ratio = lambda r: max(float(r[7]) / 50000, float(r[8]) / 10)
    no = [r for r in allrows if r[4] == "no"]
    by_measure = [r for r in allrows if r[4] == "yes" and r[5] == "f" and r[6] == "f"]
    print(f"\nshape decisions: {len(allrows)} (municipality, shape) pairs intersect; {len(no)} rejected as slivers, "
          f"{len(by_measure)} accepted by area/width alone, "
          f"{sum(1 for r in allrows if r[4] == 'borderline')} borderline")
    if no:
        r = max(no, key=ratio)
        print(f"  largest rejected overlap: {float(r[7]):.0f} m², mean width {float(r[8]):.2f} m "
              f"({r[1]} {r[2]}, {fname.get(r[0], r[0])})")
    if by_measure:
        r = min(by_measure, key=ratio)
        print(f"  smallest accepted overlap: {float(r[7]):.0f} m², mean width {float(r[8]):.2f} m "
              f"({r[1]} {r[2]}, {fname.get(r[0], r[0])})")
    if not failures:
        total = sum(len(v) for v in delivered.values())
        print(f"\narea oracle: OK — {len(exp_alerts)} alerts, {total} pushes, every alert's device set "
              f"equals the PostGIS oracle's")
        return 0
    print(f"\narea oracle: FAIL — {len(failures)} of {len(exp_alerts)} alerts differ from the oracle")
    for fn, aid, problems, missing, extra in failures:
        print(f"\n== {fn} ({aid}): " + "; ".join(problems))
        dec = decisions.get(aid, [])
        for label, toks in (("missing", missing), ("extra", extra)):
            for t in sorted(toks, key=lambda t: devices.get(t, {}).get("device_id", t))[:5]:
                d = devices.get(t)
                if not d:
                    print(f"  {label}: unknown token {t[:20]}…")
                    continue
                why = [f"{r[1]} {r[2]} [{r[3]}: {r[4]}; within={r[5]} label={r[6]} area={float(r[7]):.0f} m² "
                       f"width={float(r[8]):.2f} m]" for r in dec if any(_covers_key(k, r[1]) for k in d["regions"])]
                print(f"  {label}: {d['device_id']} {d['platform']} mylocation={d['mylocation']} "
                      f"levels={d['levels']} regions={d['regions']}")
                for w in why[:4]:
                    print(f"      oracle: {w}")
    return 1


def _covers_key(key, ars):
    return ars.startswith(key_prefix(key))


def _covers(dev, ars):
    return dev["mylocation"] is False and any(_covers_key(k, ars) for k in dev["regions"])


def main():
    cmd = sys.argv[1]
    if cmd == "alerts":
        cmd_alerts(sys.argv[2], sys.argv[3])
    elif cmd == "devices":
        cmd_devices(*sys.argv[2:6])
    elif cmd == "send":
        cmd_send(*sys.argv[2:8], int(sys.argv[8]))
    elif cmd == "compare":
        return cmd_compare(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
