#!/usr/bin/env python3
"""Writes fanout.json, the Grafana dashboard for Fanout's Prometheus metrics
(docs/metrics.md). Regenerate after adding a metric: python3 make_dashboard.py > fanout.json"""
import json

PANELS = [
    # (title, unit, [(expr, legend)], kind)
    ("SLA: receipt to last push, p99 per priority", "s",
     [('histogram_quantile(0.99, sum by (le, priority) '
       '(rate(fanout_alert_receipt_to_done_seconds_bucket{region=~"$region"}[5m])))',
       "{{priority}} p99")], "timeseries"),
    ("Push latency (ingest to accepted), p50 / p99", "s",
     [('histogram_quantile(0.5, sum by (le, priority) '
       '(rate(fanout_sender_push_latency_seconds_bucket{region=~"$region"}[5m])))', "{{priority}} p50"),
      ('histogram_quantile(0.99, sum by (le, priority) '
       '(rate(fanout_sender_push_latency_seconds_bucket{region=~"$region"}[5m])))', "{{priority}} p99")],
     "timeseries"),
    ("Pushes per second by platform and outcome", "ops",
     [('sum by (platform, outcome) (rate(fanout_sender_pushes_total{region=~"$region"}[1m]))',
       "{{platform}} {{outcome}}")], "timeseries"),
    ("Push retries per second", "ops",
     [('sum by (platform) (rate(fanout_sender_retries_total{region=~"$region"}[1m]))',
       "{{platform}}")], "timeseries"),
    ("Alerts received by outcome", "ops",
     [('sum by (outcome) (rate(fanout_ingest_alerts_total{region=~"$region"}[5m]))',
       "{{outcome}}")], "timeseries"),
    ("Alerts processed by outcome (quarantined, skipped, done)", "ops",
     [('sum by (outcome) (rate(fanout_processor_alerts_total{region=~"$region"}[5m]))',
       "{{outcome}}")], "timeseries"),
    ("Devices selected into batches per second", "ops",
     [('sum by (platform, flow) (rate(fanout_queuer_devices_selected_total{region=~"$region"}[1m]))',
       "{{platform}} {{flow}}")], "timeseries"),
    ("Takeovers and dead letters", "short",
     [('sum by (region) (increase(fanout_watchdog_takeovers_total{region=~"$region"}[5m]))',
       "takeovers {{region}}"),
      ('sum by (subject) (increase(fanout_bus_dead_letters_total{region=~"$region"}[5m]))',
       "dead letters {{subject}}")], "timeseries"),
    ("Replication between regions", "short",
     [('fanout_replication_lag_messages{region=~"$region"}', "lag {{region}} ← {{from}}"),
      ('fanout_replication_idle_seconds{region=~"$region"}', "idle s {{region}} ← {{from}}")],
     "timeseries"),
    ("Devices in the registry", "short",
     [('fanout_registry_devices{region=~"$region"}', "{{region}}")], "stat"),
    ("HTTP connections open", "short",
     [('fanout_http_connections_open{region=~"$region"}', "{{region}}"),
      ('fanout_http_queued_requests{region=~"$region"}', "queued {{region}}")], "timeseries"),
    ("Recovery at start", "short",
     [('fanout_recovery_open_alerts{region=~"$region"}', "open alerts {{region}}"),
      ('sum by (region) (increase(fanout_recovery_messages_total{region=~"$region"}[1h]))',
       "messages requeued {{region}}")], "timeseries"),
    ("HTTP refused, timed out, rate limited", "ops",
     [('sum by (region) (rate(fanout_http_connections_refused_total{region=~"$region"}[5m]))',
       "connections refused {{region}}"),
      ('sum by (region) (rate(fanout_http_timeouts_total{region=~"$region"}[5m]))',
       "timeouts {{region}}"),
      ('sum by (reason) (rate(fanout_http_requests_rejected_total{region=~"$region"}[5m]))',
       "429 {{reason}}")], "timeseries"),
    ("Protocol log append failures and store failures", "short",
     [('sum by (region) (increase(fanout_protocol_append_failures_total{region=~"$region"}[5m]))',
       "log {{region}}"),
      ('sum by (region) (increase(fanout_registry_feed_store_failures_total{region=~"$region"}[5m]))',
       "device store {{region}}")], "timeseries"),
    ("Resident memory", "bytes",
     [('fanout_process_resident_bytes{region=~"$region"}', "{{region}} {{instance}}")],
     "timeseries"),
]


def panel(i, title, unit, targets, kind):
    return {
        "id": i + 1, "type": kind, "title": title, "datasource": {"uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{"refId": chr(65 + k), "expr": e, "legendFormat": l}
                    for k, (e, l) in enumerate(targets)],
    }


dashboard = {
    "title": "Fanout", "uid": "fanout-overview", "schemaVersion": 38, "version": 1,
    "tags": ["fanout"], "time": {"from": "now-6h", "to": "now"}, "refresh": "30s",
    "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus"},
        {"name": "region", "type": "query", "datasource": {"uid": "${datasource}"},
         "query": "label_values(fanout_registry_devices, region)", "multi": True,
         "includeAll": True, "current": {"text": "All", "value": "$__all"}},
    ]},
    "panels": [panel(i, *p) for i, p in enumerate(PANELS)],
}
print(json.dumps(dashboard, indent=1, ensure_ascii=False))
