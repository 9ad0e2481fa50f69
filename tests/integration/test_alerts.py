"""Alert rules and dashboard name real metrics (issue 16): every metric in
deploy/prometheus/skydns-rules.yaml and deploy/grafana/skydns.json (the
chart embeds the same files; tests/deploy checks that) is a series that
skydns (against a real etcd) or kube2sky (against the fake API server)
exports at /metrics. A healthy pair also leaves the "== 0" alerts quiet.
"""

import json
import os
import re

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import conftest
from conftest import free_port, wait_until
from test_kube2sky import KUBE2SKY_BIN, api  # noqa: F401 - fixture

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SKYDNS_SRC", os.path.join(HERE, "..", ".."))

# PromQL words that are not metric names (functions are told apart by the
# "(" after them; these can stand alone).
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "offset", "bool", "le", "inf", "nan",
            # aggregation operators: "sum by (x) (...)" puts a word, not "(", after them
            "sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk", "bottomk",
            "quantile", "count_values"}


@pytest.fixture
def mode():
    """etcd v3 only: the addon runs skydns and kube2sky with -etcd3."""
    return "v3"


def promql_metrics(expr):
    """Metric names in one PromQL expression (or Grafana query)."""
    e = re.sub(r"\blabel_values\((.*),\s*\w+\s*\)$", r"\1", expr.strip())  # Grafana: (metric, label)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', e)             # string literals
    e = re.sub(r"\$\{?\w+\}?", "1m", e)                     # Grafana variables
    e = re.sub(r"\{[^{}]*\}", "{}", e)                      # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    e = re.sub(r"\[[^\]]*\]", "[]", e)                      # range selectors
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?=\s*(\{|\[|\s|\)|$|==|>|<|/|\*|\+|-))", e):
        name = m.group(1)
        if name.lower() in KEYWORDS or re.match(r"\s*\(", e[m.end():]):
            continue
        names.add(name)
    return names


def test_promql_metrics_extracts_names_not_functions_labels_or_keywords():
    assert promql_metrics('sum by (namespace, pod) (rate(a_total{cause="servfail"}[5m])) '
                          '/ sum by (pod) (rate(b_total[5m])) > 0.05') == {"a_total", "b_total"}
    assert promql_metrics("max by (pod) (c) == 0 and on (pod) max by (pod) (d_x) > 900") == {"c", "d_x"}
    assert promql_metrics('histogram_quantile(0.99, sum by (le) (rate(h_bucket{pod=~"$pod"}[$__rate_interval])))') \
        == {"h_bucket"}
    assert promql_metrics('label_values(e{namespace=~"$namespace"}, pod)') == {"e"}


def alert_exprs():
    with open(os.path.join(SRC, "deploy", "prometheus", "skydns-rules.yaml")) as f:
        rules = yaml.safe_load(f)
    return {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}


def dashboard_exprs():
    with open(os.path.join(SRC, "deploy", "grafana", "skydns.json")) as f:
        d = json.load(f)
    out = [t["expr"] for p in d["panels"] for t in p["targets"]]
    out += [v["query"] for v in d["templating"]["list"] if v["type"] == "query"]
    return out


def exported(url):
    """{sample or family name: value of its unlabelled sample, or None}. Sample
    names are what PromQL selects (counters with _total, histogram _bucket)."""
    with conftest.urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        out.setdefault(fam.name, None)
        if fam.type == "histogram":
            for sfx in ("_bucket", "_sum", "_count"):
                out.setdefault(fam.name + sfx, None)
        for s in fam.samples:
            out.setdefault(s.name, None)
            if not s.labels:
                out[s.name] = s.value
    return out


def _try(url):
    try:
        return exported(url)
    except OSError:
        return None


def test_every_alert_and_dashboard_metric_is_exported(workdir, etcd, api, skydns):  # noqa: F811
    mport = free_port()
    s = skydns(["-metrics-addr", f"127.0.0.1:{mport}"])
    a = api()
    health = free_port()
    k = conftest.Daemon(os.path.join(workdir, "k2s-alerts.log"),
                        [KUBE2SKY_BIN, "-domain", "cluster.local", "-kube-master-url", a.url,
                         "-etcd-server", etcd.url, "-etcd3", "-health-addr", f"127.0.0.1:{health}"]).spawn()
    try:
        # Healthy: kube2sky synced to etcd, skydns loaded its records.
        k_have = wait_until(lambda: (lambda m: m if m and m.get("kube2sky_api_connected") == 1
                                     and m.get("kube2sky_etcd_connected") == 1 else None)(
            _try(f"http://127.0.0.1:{health}/metrics")), 15, what="kube2sky connected to API and etcd")
        s_have = wait_until(lambda: (lambda m: m if m and (m.get("skydns_skydns_records_loaded") or 0) > 0
                                     else None)(_try(f"http://127.0.0.1:{mport}/metrics")), 15,
                            what="skydns serving kube2sky's records")
        have = set(k_have) | set(s_have)
        alerts = alert_exprs()
        want = {}
        for name, expr in alerts.items():
            for m in promql_metrics(expr):
                want.setdefault(m, set()).add(f"alert {name}")
        for expr in dashboard_exprs():
            for m in promql_metrics(expr):
                want.setdefault(m, set()).add("dashboard")
        assert len(want) >= 12, sorted(want)
        for m in ("kube2sky_api_connected", "kube2sky_etcd_connected", "skydns_skydns_etcd_connected",
                  "skydns_skydns_records_loaded", "skydns_skydns_dns_error_count_total",
                  "skydns_skydns_forward_error_count_total"):
            assert m in want, f"{m} is used by the rules or dashboard"
        missing = {m: sorted(w) for m, w in want.items() if m not in have}
        assert not missing, f"named but not exported: {missing}"
        # The "== 0" alerts stay quiet on this healthy pair.
        assert s_have["skydns_skydns_etcd_connected"] == 1
        assert k_have["kube2sky_api_connected"] == 1 and k_have["kube2sky_etcd_connected"] == 1
    finally:
        assert k.stop() == 0, k.logs()[-2000:]
    s.stop()
