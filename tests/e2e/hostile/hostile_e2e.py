#!/usr/bin/env python3
"""Hostile clients against the real binary (issue 14): `fanout serve` with short timeouts,
attacked over loopback as the issue found it could be.

  hostile_e2e.py FANOUT_BINARY DATA_DIR

Checks, each against the running server:
  slowloris  400 connections from 8 client addresses (127.0.0.2-9) send part of a header
             block and then nothing. Meanwhile /healthz answers, a provider's alert is
             accepted (202) and its report read, within seconds. After http.header_timeout_s
             every slow connection has been told 408 and closed.
  limit      a client address over http.max_connections_per_client gets 503 and is closed;
             another address is still served.
  idle       a kept-alive connection silent for http.idle_timeout_s is closed.
  guessing   wrong tokens from one address: 401 until http.auth_failures_per_minute, then
             429 with Retry-After; the provider's valid token is still accepted.
  rates      a provider over http.provider_alerts_burst gets 429 PROVIDER_RATE_LIMITED with
             Retry-After while another provider is accepted; a client address over
             http.client_burst gets 429 RATE_LIMITED while another address is served.
  metrics    /metrics counts the timeouts and the refused connections.
  logs       with log.json every line of serve's log is a JSON object, and the alert's facts
             (received, processed) are lines with its id under "alert";
  leaks      no clear token (providers, device, admin), no guessed token, no NATS password
             or PostgreSQL password from the config in serve's debug log, /metrics, /readyz,
             reports or `fanout config check` (which shows them with --show-secrets);
  secrets    a TLS key readable by every user is refused (exit 2, naming the file);
  tls        a second server with http.tls_cert_file/key (a certificate made here with
             openssl): HTTP/1.1 over TLS (Python's client) and HTTP/2 over TLS (curl) answer.
  mtls       on it, AP2 must present a client certificate (auth.provider_client_certs,
             http.tls_client_ca_file): without one or with another provider's 403
             CLIENT_CERTIFICATE_REQUIRED, with its own 202, one no CA signed fails the TLS
             handshake; AP3 (no rule) needs only its token.
Exit 0 if all hold.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fanout_e2e import Serve, alert_xml, clear_tokens, free_port, http  # noqa: E402

HEADER_TIMEOUT_S = 2
IDLE_TIMEOUT_S = 3
PER_CLIENT = 50
ADDRESSES = 8
AUTH_FAILURES = 20
PROVIDER_BURST = 5
CLIENT_BURST = 100


def connect(port, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    return s


def read_all(s, seconds):
    """Everything the server sends until it closes (or `seconds` pass)."""
    s.settimeout(seconds)
    out = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        out += b"<timeout>"
    except ConnectionResetError:
        out += b"<reset>"
    return out


def timed(fn):
    t0 = time.monotonic()
    result = fn()
    return result, time.monotonic() - t0


def main():
    fanout, data = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="fanout-hostile-")
    failures = []
    env = dict(os.environ, FANOUT_DATA_DIR=data)
    conf = os.path.join(work, "fanout.toml")
    with open(conf, "w") as f:
        made = subprocess.run([fanout, "config", "example"], stdout=f, stderr=subprocess.PIPE,
                              text=True, env=env, check=True)
    tokens = clear_tokens(made.stderr)
    ap2 = tokens["AP2"]
    admin = tokens["admin_token"]
    sim_port = free_port()
    sim = subprocess.Popen([fanout, "pushsim", "--listen", "127.0.0.1:%d" % sim_port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    common = ["push.apns.endpoint=http://127.0.0.1:%d" % sim_port,
              "push.fcm.endpoint=http://127.0.0.1:%d" % sim_port,
              "http.header_timeout_s=%d" % HEADER_TIMEOUT_S,
              "http.idle_timeout_s=%d" % IDLE_TIMEOUT_S,
              "http.max_connections_per_client=%d" % PER_CLIENT,
              "http.auth_failures_per_minute=%d" % AUTH_FAILURES,
              "http.provider_alerts_per_s=1", "http.provider_alerts_burst=%d" % PROVIDER_BURST,
              "http.client_requests_per_s=10", "http.client_burst=%d" % CLIENT_BURST]
    # Secrets planted next to the tokens (unused by the embedded engine, but configured): the
    # audit below finds none of them in logs, metrics, reports or config dumps.
    planted = {"nats_password": "NatsSecret%d" % os.getpid(),
               "postgres_password": "PgSecret%d" % os.getpid()}
    secret_sets = ["store.nats_user=fanout-sender",
                   "store.nats_password=" + planted["nats_password"],
                   "store.postgres_url=postgresql://fanout:%s@127.0.0.1/fanout"
                   % planted["postgres_password"]]
    region = Serve(fanout, conf, work, "serve", common + secret_sets + [
        "store.data_dir=" + os.path.join(work, "data"), "log.level=debug", "log.json=true"])
    secure = None
    slow = []
    try:
        region.start()
        # --- slowloris
        t_open = time.monotonic()
        for i in range(ADDRESSES * PER_CLIENT):
            s = connect(region.port, "127.0.0.%d" % (2 + i % ADDRESSES))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        (status, _), took = timed(lambda: http("GET", region.api + "/healthz", timeout=5))
        print("slowloris: %d slow connections open; /healthz %d in %.1f ms"
              % (len(slow), status, took * 1000))
        if status != 200:
            failures.append("/healthz answered %s under slowloris" % status)
        ident = "hostile-%d" % os.getpid()
        (status, answer), took = timed(lambda: http(
            "PUT", region.api + "/v1/alerts/AP2/" + ident, ap2, alert_xml(ident, "Hostile"),
            timeout=5))
        print("slowloris: alert PUT %d in %.1f ms" % (status, took * 1000))
        if status != 202:
            failures.append("alert PUT answered %s under slowloris: %s" % (status, answer[:200]))
        status, _ = http("GET", region.api + "/v1/alerts/" + ident, admin, timeout=5)
        if status != 200:
            failures.append("report answered %s under slowloris" % status)
        # --- limit: the 51st connection of one address
        extra = connect(region.port, "127.0.0.2")
        answer = read_all(extra, 5)
        extra.close()
        print("limit: connection %d of 127.0.0.2 got %r" % (PER_CLIENT + 1, answer[:40]))
        if not answer.startswith(b"HTTP/1.1 503") or b"too many connections" not in answer:
            failures.append("connection over the per-client limit got %r" % answer[:80])
        status, _ = http("GET", region.api + "/healthz", timeout=5)
        if status != 200:
            failures.append("another address was not served while one was at its limit")
        # --- every slow connection: 408, then closed
        answered = 0
        for s in slow:
            answer = read_all(s, HEADER_TIMEOUT_S + 5)
            if answer.startswith(b"HTTP/1.1 408") and not answer.endswith(b"<timeout>"):
                answered += 1
            s.close()
        took = time.monotonic() - t_open
        print("slowloris: %d of %d told 408 and closed within %.1f s (header timeout %d s)"
              % (answered, len(slow), took, HEADER_TIMEOUT_S))
        if answered != len(slow):
            failures.append("%d slow connections were not answered 408 and closed"
                            % (len(slow) - answered))
        slow = []
        # --- idle
        s = connect(region.port, "127.0.0.1")
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        t0 = time.monotonic()
        answer = read_all(s, IDLE_TIMEOUT_S + 5)
        idle_for = time.monotonic() - t0
        s.close()
        print("idle: answered, then closed after %.1f s (idle timeout %d s)"
              % (idle_for, IDLE_TIMEOUT_S))
        if not answer.startswith(b"HTTP/1.1 200") or answer.endswith(b"<timeout>"):
            failures.append("idle connection: %r" % answer[-60:])
        elif idle_for < IDLE_TIMEOUT_S - 0.5:
            failures.append("idle connection closed after %.1f s, before the timeout" % idle_for)
        # --- guessing tokens
        codes = []
        retry_after = None
        for i in range(AUTH_FAILURES + 5):
            req = urllib.request.Request(region.api + "/v1/alerts/AP2/guess-%d" % i,
                                         method="PUT", data=b"<alert/>")
            req.add_header("Authorization", "Bearer guess%04d" % i)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    codes.append(r.status)
            except urllib.error.HTTPError as e:
                codes.append(e.code)
                if e.code == 429:
                    retry_after = e.headers.get("Retry-After")
        print("guessing: %s; Retry-After %s" % (codes, retry_after))
        if codes[:AUTH_FAILURES] != [401] * AUTH_FAILURES or 429 not in codes[AUTH_FAILURES:]:
            failures.append("wrong tokens answered %s" % codes)
        if not retry_after:
            failures.append("429 without Retry-After")
        ident2 = ident + "-after"
        status, _ = http("PUT", region.api + "/v1/alerts/AP2/" + ident2, ap2,
                         alert_xml(ident2, "Valid after guessing"), timeout=5)
        if status != 202:
            failures.append("the valid token was refused after guessing: %s" % status)
        # --- rates: a provider's burst, then a client's
        codes = []
        for i in range(PROVIDER_BURST + 3):
            ident3 = "%s-ap3-%d" % (ident, i)
            status, answer = http("PUT", region.api + "/v1/alerts/AP3/" + ident3, tokens["AP3"],
                                  alert_xml(ident3, "Burst %d" % i), timeout=5)
            codes.append(status)
        print("rates: AP3 sends %d alerts at once: %s" % (len(codes), codes))
        if 429 not in codes[PROVIDER_BURST - 1:] or b"PROVIDER_RATE_LIMITED" not in answer:
            failures.append("provider over its burst: %s %s" % (codes, answer[:200]))
        ident4 = ident + "-ap4"
        status, _ = http("PUT", region.api + "/v1/alerts/AP4/" + ident4, tokens["AP4"],
                         alert_xml(ident4, "Other provider"), timeout=5)
        if status != 202:
            failures.append("another provider was refused (%s) while AP3 was limited" % status)
        limited = 0
        for i in range(CLIENT_BURST + 20):
            c = connect(region.port, "127.0.0.9")
            c.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = read_all(c, 5)
            c.close()
            if answer.startswith(b"HTTP/1.1 429") and b"RATE_LIMITED" in answer:
                limited += 1
        print("rates: 127.0.0.9 made %d requests at once, %d answered 429 RATE_LIMITED"
              % (CLIENT_BURST + 20, limited))
        if limited < 10:
            failures.append("a client over its burst was limited %d times" % limited)
        status, _ = http("GET", region.api + "/readyz", timeout=5)
        if status != 200:
            failures.append("another address was limited too (%s)" % status)
        # --- metrics
        _, metrics = http("GET", region.api + "/metrics", timeout=5)
        metrics = metrics.decode()

        def metric(name):
            for line in metrics.splitlines():
                if line.startswith(name + "{") or line.startswith(name + " "):
                    return float(line.rsplit(" ", 1)[1])
            return None
        timeouts = metric("fanout_http_timeouts_total")
        refused = metric("fanout_http_connections_refused_total")
        print("metrics: timeouts %s, refused connections %s" % (timeouts, refused))
        if not timeouts or timeouts < ADDRESSES * PER_CLIENT:
            failures.append("fanout_http_timeouts_total = %s" % timeouts)
        if not refused or refused < 1:
            failures.append("fanout_http_connections_refused_total = %s" % refused)
        # --- leaks: no secret in the log (debug level), /metrics, /readyz, a report, the
        # effective config `config check` prints; but `--show-secrets` shows them (so they are
        # configured, and the search would find them).
        secrets = dict(tokens, **planted)
        secrets["a guessed token"] = "guess0003"
        dumps = {}
        for path, auth in (("/metrics", None), ("/readyz", None), ("/v1/alerts/" + ident, admin),
                           ("/v1/alerts", admin)):
            dumps[path] = http("GET", region.api + path, auth, timeout=10)[1].decode(
                "utf-8", "replace")
        check = [fanout, "config", "check", conf] + sum((["--set", x] for x in secret_sets), [])
        dumps["config check"] = subprocess.run(check, capture_output=True, text=True,
                                               env=env).stdout
        shown = subprocess.run(check + ["--show-secrets"], capture_output=True, text=True,
                               env=env).stdout
        with open(region.log, errors="replace") as f:
            dumps["serve log (debug)"] = f.read()
        # --- structured logs: every line one JSON object; the facts of the alert PUT under
        # slowloris carry its id as a key.
        lines = dumps["serve log (debug)"].splitlines()
        parsed, broken = [], []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                broken.append(line)
        facts = sorted({p["msg"].split(":")[0] for p in parsed
                        if p.get("component") == "events" and p.get("alert") == ident})
        print("logs: %d JSON lines, %d not JSON; facts of %s: %s"
              % (len(parsed), len(broken), ident, ", ".join(facts)))
        if broken:
            failures.append("log lines that are not JSON objects, first: %r" % broken[0][:200])
        if "received" not in facts or "processed" not in facts:
            failures.append("no structured received/processed lines for %s: %s" % (ident, facts))
        leaks = ["%s in %s" % (name, where) for name, value in sorted(secrets.items())
                 for where, text in sorted(dumps.items()) if value in text]
        hidden = [name for name in planted if planted[name] not in shown]
        print("leaks: %d secrets searched in %s: %s" % (
            len(secrets), ", ".join(sorted(dumps)), ", ".join(leaks) or "none found"))
        if leaks:
            failures.append("secrets leaked: " + "; ".join(leaks))
        if hidden:
            failures.append("config check --show-secrets lacks %s: the search proves nothing"
                            % hidden)
        # --- TLS
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        # A secret file readable by every user is refused, naming it and the remedy.
        os.chmod(key, 0o644)
        refused = subprocess.run([fanout, "serve", "--config", conf, "--set",
                                  "http.listen=127.0.0.1:%d" % free_port(), "--set",
                                  "http.tls_cert_file=" + cert, "--set",
                                  "http.tls_key_file=" + key], capture_output=True, text=True,
                                 timeout=60)
        print("secrets: world-readable TLS key: exit %d, %s"
              % (refused.returncode, refused.stderr.strip()[:160]))
        if refused.returncode != 2 or "readable by every user" not in refused.stderr:
            failures.append("serve started with a world-readable key: %d %r"
                            % (refused.returncode, refused.stderr[-300:]))
        os.chmod(key, 0o600)
        # Mutual TLS for AP2: a CA of the providers, AP2's certificate, another provider's,
        # and one no CA signed.
        def openssl(*a):
            subprocess.run(["openssl"] + list(a), check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        ca, ca_key = os.path.join(work, "ca.pem"), os.path.join(work, "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=providers")
        clients = {}
        for name, cn, signed in (("ap2", "ap2.provider.example", True),
                                 ("other", "other.provider.example", True),
                                 ("rogue", "ap2.provider.example", False)):
            ck, cc = os.path.join(work, name + ".key"), os.path.join(work, name + ".pem")
            if signed:
                csr = os.path.join(work, name + ".csr")
                openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ck, "-out", csr,
                        "-subj", "/CN=" + cn)
                openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                        "-CAcreateserial", "-out", cc, "-days", "2")
            else:
                openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ck, "-out", cc,
                        "-days", "2", "-subj", "/CN=" + cn)
            clients[name] = (cc, ck)
        secure = Serve(fanout, conf, work, "secure", common + [
            "store.data_dir=" + os.path.join(work, "data-tls"),
            "http.tls_cert_file=" + cert, "http.tls_key_file=" + key,
            "http.tls_client_ca_file=" + ca,
            'auth.provider_client_certs={AP2 = "ap2.provider.example"}'])
        secure.api = "https://127.0.0.1:%d" % secure.port
        ctx = ssl.create_default_context(cafile=cert)

        def https_get(path):
            with urllib.request.urlopen(secure.api + path, timeout=5, context=ctx) as r:
                return r.status, r.read()
        secure.start(wait=False)
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = https_get("/readyz")[0]
            except OSError:
                time.sleep(0.1)
        status, body = https_get("/healthz")
        print("tls: HTTP/1.1 over TLS /healthz %d" % status)
        if status != 200:
            failures.append("HTTPS (HTTP/1.1) /healthz answered %s" % status)
        plain = None
        try:
            plain = http("GET", "http://127.0.0.1:%d/healthz" % secure.port, timeout=3)[0]
        except OSError:
            pass
        if plain == 200:
            failures.append("the TLS port answered plain HTTP")
        def https_put(provider, token, ident, client=None):
            c = ssl.create_default_context(cafile=cert)
            if client:
                c.load_cert_chain(*clients[client])
            req = urllib.request.Request(
                secure.api + "/v1/alerts/%s/%s" % (provider, ident),
                data=alert_xml(ident, "Mutual TLS"), method="PUT",
                headers={"Authorization": "Bearer " + token, "Content-Type": "application/xml"})
            try:
                with urllib.request.urlopen(req, timeout=5, context=c) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()
        base = "mtls-%d-" % os.getpid()
        got = {"no certificate": https_put("AP2", ap2, base + "1"),
               "another provider's certificate": https_put("AP2", ap2, base + "2", "other"),
               "its certificate": https_put("AP2", ap2, base + "3", "ap2"),
               "AP3 (no rule), no certificate": https_put("AP3", tokens["AP3"], base + "4")}
        try:
            got["an unsigned certificate"] = https_put("AP2", ap2, base + "5", "rogue")
        except (OSError, ssl.SSLError) as e:
            got["an unsigned certificate"] = ("refused", str(e)[:60].encode())
        print("mtls: AP2 " + "; ".join("%s %s" % (k, v[0]) for k, v in got.items()))
        want = {"no certificate": 403, "another provider's certificate": 403,
                "its certificate": 202, "AP3 (no rule), no certificate": 202,
                "an unsigned certificate": "refused"}
        for k, w in want.items():
            if got[k][0] != w:
                failures.append("mutual TLS, %s: %s %r" % (k, got[k][0], got[k][1][:200]))
        # A TLS 1.2 client resuming its session (curl, Java and proxies do) on the listener
        # that asks for client certificates: OpenSSL refuses resumption without a session id
        # context, which would fail the handshake.
        c12 = ssl.create_default_context(cafile=cert)
        c12.maximum_version = ssl.TLSVersion.TLSv1_2
        resumed, session = [], None
        for _ in range(2):
            raw = socket.create_connection(("127.0.0.1", secure.port), timeout=5)
            tls = c12.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = read_all(tls, 5)
            resumed.append((tls.session_reused, answer[:12]))
            session = tls.session
            tls.close()
        print("mtls: TLS 1.2 session resumed %s, answers %s"
              % (resumed[1][0], [a for _, a in resumed]))
        if not resumed[1][0] or any(not a.startswith(b"HTTP/1.1 200") for _, a in resumed):
            failures.append("TLS 1.2 session resumption with client verification: %r" % resumed)
        if b"CLIENT_CERTIFICATE_REQUIRED" not in got["no certificate"][1]:
            failures.append("no CLIENT_CERTIFICATE_REQUIRED code: %r" % got["no certificate"][1])
        if shutil.which("curl"):
            out = subprocess.run(["curl", "-sS", "--http2", "--cacert", cert, "-o", "/dev/null",
                                  "-w", "%{http_code} %{http_version}",
                                  secure.api + "/healthz"], capture_output=True, text=True)
            print("tls: curl --http2: %s" % out.stdout.strip())
            if out.stdout.strip() != "200 2":
                failures.append("HTTP/2 over TLS: %r %r" % (out.stdout, out.stderr[-200:]))
        else:
            failures.append("curl is missing (scripts/install-deps.sh installs it)")
    finally:
        for s in slow:
            s.close()
        region.stop()
        if secure:
            secure.stop()
        sim.terminate()
        sim.wait()
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        print("logs in " + work)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("hostile_e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
