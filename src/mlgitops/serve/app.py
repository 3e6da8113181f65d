"""The HTTP application: ``/predict``, ``/health``, ``/version``, ``/metrics``.

``POST /predict`` takes ``{"records": [{feature: value, ...}, ...]}`` (a single record is a batch
of one) and answers ``{"version", "request_id", "predictions": [{"label", "score" |
"probabilities"}]}``. Any problem with the body or a record is a 422 listing every problem as
``{"record": i, "field": f, "kind": k, "error": "..."}`` (kinds in
:data:`mlgitops.serve.records.ERROR_KINDS`); nothing is predicted for such a request, it is logged
as rejected (its body and errors, in the log's ``rejected`` table, which the drift check does not
read), and the server goes on serving. A body larger than ``serve.max_body_bytes`` is a 413; no
model loaded is a 503; a model that fails on records its schema accepts is a 500.

Parsing, validation and prediction run on one dedicated thread, one request at a time, so the
event loop stays free for ``/health`` and ``/metrics`` while a batch is scored. One thread, not a
pool: the work holds the GIL except inside the model, and several threads calling a
scikit-learn model at once each start their own OpenMP team, which on a small machine makes every
answer slower (measured in ``docs/bench/serve.md``); that thread's model calls use at most
``serve.model_threads`` OpenMP/BLAS threads. Scale out with more processes or replicas.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from mlgitops.params import ServeParams
from mlgitops.serve.holder import ModelHolder, ServedModel, utc_now
from mlgitops.serve.log import LogEntry, PredictionLog, RejectedEntry
from mlgitops.serve.metrics import CONTENT_TYPE, ServerMetrics
from mlgitops.serve.records import MAX_REPORTED_ERRORS, FieldError, parse_records

logger = logging.getLogger("mlgitops.serve")

ENDPOINTS = frozenset({"/predict", "/health", "/version", "/metrics"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MetricsMiddleware:
    """Counts every HTTP request by endpoint, method and status, and times it (pure ASGI)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = path if path in ENDPOINTS else "other"
        status = 500
        start = time.perf_counter()

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)
            self.metrics.requests.labels(endpoint, scope.get("method", ""), str(status)).inc()


def _json(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send null for a missing value")


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    if 0 < len(given) <= 128 and given.isprintable():
        return given
    return uuid.uuid4().hex


class Answer:
    """The outcome of one /predict body: predictions and the logged inputs, or errors."""

    __slots__ = ("errors", "inputs", "predictions")

    def __init__(
        self,
        errors: list[FieldError],
        inputs: list[dict[str, Any]] | None = None,
        predictions: list[dict[str, Any]] | None = None,
    ) -> None:
        self.errors = errors
        self.inputs = inputs
        self.predictions = predictions


def limit_model_threads(threads: int) -> None:
    """Cap the OpenMP and BLAS threads of model calls made from this thread.

    OpenMP's thread count is per calling thread, so this runs once in the prediction thread.
    Small requests gain nothing from a parallel region per tree, and under load the extra
    threads only wait on each other (``serve.model_threads``, see ``docs/bench/serve.md``).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def answer(served: ServedModel, body: bytes, max_rows: int) -> Answer:
    """Parse, check and predict one /predict body with one model snapshot (runs in a thread)."""
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        return Answer([FieldError(None, None, "body", f"the body is not valid JSON ({exc})")])
    records, errors = parse_records(payload, max_rows=max_rows)
    if errors:
        return Answer(errors)
    errors = served.check(records)
    if errors:
        return Answer(errors)
    inputs = [served.validator.inputs(r) for r in records]
    return Answer([], inputs, served.predict(inputs))


def create_app(
    holder: ModelHolder,
    *,
    params: ServeParams,
    metrics: ServerMetrics,
    log: PredictionLog | None,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """The FastAPI application serving whatever ``holder`` holds.

    Args:
        holder: The current model (swapped by the watcher, read once per request).
        params: The serve section (batch and body limits).
        metrics: Where the counters live.
        log: The prediction log (None: nothing is logged, e.g. for a bench without disk).
        on_startup: Called when the server starts (e.g. start the watcher).
        on_shutdown: Called when the server stops, before the log is flushed.
        status: What ``/version`` shows under ``watch`` (the stage watcher's status).
    """

    predictor = ThreadPoolExecutor(
        max_workers=1,
        thread_name_prefix="predict",
        initializer=limit_model_threads,
        initargs=(params.model_threads,),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        if log is not None:
            log.start()
        if on_startup is not None:
            on_startup()
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown()
            predictor.shutdown(wait=True)
            if log is not None:
                await run_in_threadpool(log.close)

    app = FastAPI(
        title="mlgitops model server",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        served = holder.current  # the snapshot this whole request uses
        if served is None:
            return _json(503, {"error": "no model is loaded yet; retry later", "version": None})
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > params.max_body_bytes:
            return _too_large(params.max_body_bytes)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > params.max_body_bytes:
                return _too_large(params.max_body_bytes)
            chunks.append(chunk)
        request_id = _request_id(request)
        headers = {"X-Request-ID": request_id}
        try:
            body = b"".join(chunks)
            result = await asyncio.get_running_loop().run_in_executor(
                predictor, answer, served, body, params.max_batch_rows
            )
        except Exception as exc:
            logger.exception("version %s failed on records its schema accepts", served.version)
            return _json(
                500,
                {
                    "error": f"version {served.version} failed on records its input schema "
                    f"accepts ({type(exc).__name__}: {exc}); the model or its schema needs a fix",
                    "version": served.version,
                    "request_id": request_id,
                },
                headers,
            )
        if result.errors:
            for error in result.errors:
                metrics.invalid.labels(error.kind).inc()
            records = {e.record for e in result.errors if e.record is not None}
            listed = [e.to_dict() for e in result.errors[:MAX_REPORTED_ERRORS]]
            if log is not None:
                log.append(
                    RejectedEntry(
                        utc_now(),
                        request_id,
                        served.version,
                        body.decode("utf-8", errors="replace"),
                        listed,
                        len(result.errors),
                    )
                )
            return _json(
                422,
                {
                    "error": f"{len(result.errors)} problem(s) in the request"
                    + (f" ({len(records)} record(s))" if records else "")
                    + "; nothing was predicted, fix them and send again",
                    "version": served.version,
                    "request_id": request_id,
                    "error_count": len(result.errors),
                    "errors": listed,
                },
                headers,
            )
        assert result.inputs is not None and result.predictions is not None
        if log is not None:
            log.append(
                LogEntry(utc_now(), request_id, served.version, result.inputs, result.predictions)
            )
        metrics.predictions.labels(served.version).inc(len(result.predictions))
        return _json(
            200,
            {
                "version": served.version,
                "request_id": request_id,
                "predictions": result.predictions,
            },
            headers,
        )

    @app.get("/health")
    async def health() -> Response:
        served = holder.current
        if served is None:
            return _json(503, {"status": "unavailable", "version": None, "reason": "no model"})
        return _json(200, {"status": "ok", "name": served.name, "version": served.version})

    @app.get("/version")
    async def version() -> Response:
        served = holder.current
        if served is None:
            described = {"version": None, "reason": "no model is loaded yet"}
            if status is not None:
                described["watch"] = status()
            return _json(503, described)
        described = {**served.describe(), "swaps": holder.swaps}
        if status is not None:
            described["watch"] = status()
        return _json(200, described)

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        if log is not None:
            metrics.log_pending.set(log.pending)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.exception_handler(404)
    async def not_found(_: Request, __: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "no such endpoint; see /predict, /health, /version, /metrics"}, 404
        )

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _too_large(limit: int) -> Response:
    return _json(
        413,
        {"error": f"the body is larger than {limit} bytes (serve.max_body_bytes); split the batch"},
    )
