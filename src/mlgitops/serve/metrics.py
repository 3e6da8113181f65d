"""What ``GET /metrics`` exposes, in Prometheus' text format.

Each server has its own registry (not prometheus_client's global one), so several servers can live
in one process (tests) without sharing counters.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from mlgitops.serve.holder import ServedModel

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Latency buckets in seconds: a single tree-model prediction takes milliseconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    """The server's counters, histograms and gauges."""

    def __init__(self) -> None:
        # The *_created series double the output and no dashboard of ours reads them.
        disable_created_metrics()
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlgitops_http_requests",
            "HTTP requests answered, by endpoint, method and status code.",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "mlgitops_http_request_duration_seconds",
            "Time from receiving a request to the end of its answer, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "mlgitops_predictions",
            "Records predicted, by model version.",
            ["version"],
            registry=r,
        )
        self.invalid = Counter(
            "mlgitops_validation_errors",
            "Field errors in refused /predict requests, by kind.",
            ["kind"],
            registry=r,
        )
        self.model_info = Gauge(
            "mlgitops_model_info",
            "The model serving now (value 1), with its name, version and sha256.",
            ["name", "version", "sha256"],
            registry=r,
        )
        self.model_loaded = Gauge(
            "mlgitops_model_loaded", "1 when a model is serving, 0 otherwise.", registry=r
        )
        self.swaps = Counter(
            "mlgitops_model_swaps", "Times the served model was replaced by another.", registry=r
        )
        self.swap_rejections = Counter(
            "mlgitops_model_swap_rejections",
            "Versions the stage pointed to that were not swapped in, by version and reason "
            "(resolve, fetch, load, smoke_test).",
            ["version", "reason"],
            registry=r,
        )
        self.watch_polls = Counter(
            "mlgitops_watch_polls",
            "Polls of the stage tags with --watch, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.log_rows = Counter(
            "mlgitops_prediction_log_rows", "Records committed to the prediction log.", registry=r
        )
        self.log_dropped = Counter(
            "mlgitops_prediction_log_dropped_rows",
            "Records not logged (queue full or write error).",
            registry=r,
        )
        self.log_pending = Gauge(
            "mlgitops_prediction_log_pending_rows",
            "Records queued for the prediction log and not yet committed.",
            registry=r,
        )
        self.model_loaded.set(0)

    def serving(self, old: ServedModel | None, new: ServedModel) -> None:
        """Record that ``new`` replaced ``old``."""
        if old is not None:
            self.model_info.remove(old.name, old.version, old.sha256)
            self.swaps.inc()
        self.model_info.labels(new.name, new.version, new.sha256).set(1)
        self.model_loaded.set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
