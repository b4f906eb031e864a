"""The sample Grafana dashboard: well-formed, datasource as a variable, only real metric names.

The end-to-end suite checks the same names against a scrape of the real server.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from filegate.adapters.memory import MemoryQueue
from filegate.adapters.prometheus import PrometheusMetrics
from filegate.adapters.sql.database import TransactionCounter
from filegate.adapters.webhook_metrics import PrometheusDeliveryMetrics
from tests.support.prometheus import (
    exported_names,
    family_names,
    load_dashboard,
    metric_names,
    panels,
    queries,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
NOT_ON_THE_DASHBOARD = {"filegate_uploads"}
"""Exported filegate metrics the dashboard deliberately leaves out."""


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return load_dashboard()


def graphs(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in panels(dashboard) if p["type"] != "row"]


async def exposition() -> str:
    """What a process serves: its metrics, its database's transactions, its queue, and its
    webhook deliveries (labelled series appear once observed: one of each here)."""
    metrics = PrometheusMetrics()
    metrics.watch_transactions(TransactionCounter().snapshot)
    deliveries = PrometheusDeliveryMetrics(metrics.registry)
    deliveries.attempt("orders", "2xx", 0.1, 1.0)
    deliveries.dropped("orders", "exhausted")
    deliveries.disabled("orders")
    return (await metrics.render(MemoryQueue())).decode()


def test_the_datasource_is_a_variable_every_panel_uses(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == (
        "datasource",
        "prometheus",
    )
    for panel in graphs(dashboard):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert all(t["datasource"] == DATASOURCE for t in panel["targets"]), panel["title"]


def test_panels_have_unique_ids_and_queries(dashboard: dict[str, Any]) -> None:
    ids = Counter(p["id"] for p in panels(dashboard))
    assert [i for i, n in ids.items() if n > 1] == []
    for panel in graphs(dashboard):
        assert panel["targets"], panel["title"]
        assert all(metric_names(t["expr"]) for t in panel["targets"]), panel["title"]


async def test_every_query_uses_only_metrics_the_app_exports(dashboard: dict[str, Any]) -> None:
    exported = exported_names(await exposition())

    used = set().union(*(metric_names(q) for q in queries(dashboard)))

    assert used - exported == set()


async def test_every_filegate_metric_but_a_few_has_a_panel(dashboard: dict[str, Any]) -> None:
    families = {
        f
        for f in family_names(await exposition())
        if f.startswith("filegate_") and not f.endswith("_created")
    }
    used = set().union(*(metric_names(q) for q in queries(dashboard)))

    unused = {f for f in families if not any(name.startswith(f) for name in used)}

    assert unused == NOT_ON_THE_DASHBOARD


def test_metric_names_skips_functions_labels_strings_and_ranges() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{route=~"x|y", b="c"}[5m])))'
        " / on (instance) group_left max(b_total offset 1h) > bool 0"
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}
