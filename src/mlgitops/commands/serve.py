"""``mlgitops serve``: the HTTP server of one model version (or of whatever a stage points to)."""

from __future__ import annotations

import logging
import signal
import socket
import sys
from pathlib import Path

import click

from mlgitops.commands._common import PARAMS_OPTION, OptionalPath, fails_cleanly, path_or_default
from mlgitops.errors import ArtifactError, ConfigError
from mlgitops.fsio import write_text


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it Nagle's algorithm and delayed ACKs add ~40 ms to every keep-alive answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or --host."
        ) from exc
    sock.listen(2048)
    return sock


def _inside(params_path: Path, repo: Path) -> str:
    """The params file's path inside the repository (how it is found at a version's commit)."""
    try:
        return params_path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return "params.yaml"


def _logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("mlgitops")
    log.addHandler(handler)
    log.setLevel(logging.INFO)


@click.command("serve")
@PARAMS_OPTION
@click.option("--model", "model_path", type=OptionalPath, help="Model file to serve [paths.model].")
@click.option(
    "--metadata", "metadata_path", type=OptionalPath, help="Its metadata [paths.model_metadata]."
)
@click.option(
    "--version",
    "version",
    help="Version name the server reports for --model (default: local-<sha256 prefix>).",
)
@click.option(
    "--stage", help="Serve the version this stage points to (GTO tags) instead of --model."
)
@click.option("--name", help="Artifact name for --stage [model.name].")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Git repository holding the stage tags and the DVC project.",
)
@click.option(
    "--watch", is_flag=True, help="Keep following --stage: swap in each new version that passes."
)
@click.option("--interval", type=click.FloatRange(min=0.1), help="Seconds between polls.")
@click.option(
    "--trusted-tagger",
    "trusted_taggers",
    multiple=True,
    metavar="EMAIL",
    help="With --stage: follow only stage tags made by this tagger email (repeatable), e.g. "
    "41898282+github-actions[bot]@users.noreply.github.com.",
)
@click.option("--host", help="Address to listen on [serve.host].")
@click.option("--port", type=click.IntRange(0, 65535), help="Port, 0: any free [serve.port].")
@click.option("--log", "log_path", type=OptionalPath, help="Prediction log [paths.prediction_log].")
@click.option("--cache", "cache_dir", type=OptionalPath, help="Version cache [paths.serve_cache].")
@click.option(
    "--smoke-sample",
    "smoke_path",
    type=OptionalPath,
    help="Refuse to start unless --model reproduces this smoke sample.",
)
@click.option(
    "--port-file",
    type=OptionalPath,
    help="Write the bound port here once listening (for scripts; see also --port 0).",
)
@fails_cleanly
def serve_command(
    params_path: Path,
    model_path: Path | None,
    metadata_path: Path | None,
    version: str | None,
    stage: str | None,
    name: str | None,
    repo: Path,
    watch: bool,
    interval: float | None,
    trusted_taggers: tuple[str, ...],
    host: str | None,
    port: int | None,
    log_path: Path | None,
    cache_dir: Path | None,
    smoke_path: Path | None,
    port_file: Path | None,
) -> None:
    """Serve a model over HTTP: POST /predict, GET /health, /version, /metrics.

    Serves the model file given (by default the pipeline's own, paths.model), or with --stage the
    version that stage points to in the repository's GTO tags, fetched through DVC. With --watch
    it keeps polling the tags and swaps in each new version of the stage after it passes its
    smoke test; a version that fails keeps the old one serving. With --trusted-tagger, only stage
    tags made by those tagger emails are followed (a safeguard against a tag pushed by mistake; a
    tag ruleset on the repository is what stops others pushing them, see docs/security.md).
    Every answered record goes to the prediction log (SQLite) that the drift check reads. Invalid
    records get 422 with one error per field, and the request is logged apart as rejected (with
    its errors; the drift check does not read those). Stops cleanly on SIGTERM or Ctrl-C,
    flushing the log.

    Example: mlgitops serve --stage prod --watch --port 8080
    """
    import uvicorn

    from mlgitops.artifact import load_model
    from mlgitops.params import load_params
    from mlgitops.serve.app import create_app
    from mlgitops.serve.holder import ModelHolder, served_model
    from mlgitops.serve.log import PredictionLog
    from mlgitops.serve.metrics import ServerMetrics
    from mlgitops.serve.smoke import load_smoke_sample, smoke_test_model
    from mlgitops.serve.watch import StageWatcher

    params = load_params(params_path)
    settings = params.serve
    if stage is not None and (model_path is not None or metadata_path is not None):
        raise ConfigError("give either --stage or --model/--metadata, not both.")
    if watch and stage is None:
        raise ConfigError("--watch follows a stage: add --stage (e.g. --stage prod).")
    if trusted_taggers and stage is None:
        raise ConfigError("--trusted-tagger applies to the stage tags of --stage; add --stage.")
    if stage is not None and (version is not None or smoke_path is not None):
        raise ConfigError(
            "--version and --smoke-sample apply to --model; a stage's version and smoke sample "
            "come from its tags."
        )
    _logging()
    holder = ModelHolder()
    metrics = ServerMetrics()
    watcher = None
    if stage is not None:
        watcher = StageWatcher(
            holder,
            metrics,
            repo=repo,
            name=name or params.model.name,
            stage=stage,
            interval=interval if interval is not None else settings.watch_interval,
            cache_dir=path_or_default(cache_dir, params.paths.serve_cache),
            params_file=_inside(params_path, repo),
            extra_trusted=params.model.extra_trusted_types,
            trusted_taggers=trusted_taggers,
        )
        outcome = watcher.poll()
        if holder.current is None and not watch:
            why = watcher.last_rejection.detail if watcher.last_rejection else outcome
            raise ArtifactError(
                f"stage {stage} of {watcher.name} in {repo} has no version that can be served "
                f"({why}); assign one (mlgitops promote) or fix the version, then start again."
            )
        if holder.current is None:
            click.echo(f"serve: {watcher.name}#{stage} has no version yet; watching", err=True)
    else:
        model_file = path_or_default(model_path, params.paths.model)
        model = load_model(
            model_file,
            path_or_default(metadata_path, params.paths.model_metadata),
            params.model.extra_trusted_types,
        )
        sha = str(model.metadata.get("model_sha256", "")).removeprefix("sha256:")
        if smoke_path is not None:
            result = smoke_test_model(model, load_smoke_sample(smoke_path))
            if not result.ok:
                raise ArtifactError(f"{model_file} fails its smoke test: {result.summary()}.")
        served = served_model(
            model, version=version or f"local-{sha[:12]}", source=f"file {model_file}"
        )
        holder.swap(served)
        metrics.serving(None, served)
    log_file = path_or_default(log_path, params.paths.prediction_log)
    log = PredictionLog(
        log_file,
        batch_rows=settings.log_batch_rows,
        flush_seconds=settings.log_flush_seconds,
        queue_rows=settings.log_queue_rows,
        on_written=metrics.log_rows.inc,
        on_dropped=metrics.log_dropped.inc,
    )
    app = create_app(
        holder,
        params=settings,
        metrics=metrics,
        log=log,
        on_startup=watcher.start if watcher is not None and watch else None,
        on_shutdown=watcher.stop if watcher is not None else None,
        status=watcher.status if watcher is not None else None,
    )
    bind_host = host or settings.host
    sock = _bind(bind_host, settings.port if port is None else port)
    bound = sock.getsockname()[1]
    if port_file is not None:
        write_text(port_file, f"{bound}\n")
    serving = holder.current.version if holder.current else "nothing yet"
    shown = f"[{bind_host}]" if ":" in bind_host else bind_host
    click.echo(f"serve: {serving} on http://{shown}:{bound} (prediction log {log_file})", err=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    # uvicorn drains in-flight requests on SIGTERM/SIGINT, then re-raises the signal to the
    # handler that was there before it; this one makes a drained, flushed stop exit 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stopped)
    uvicorn.Server(config).run(sockets=[sock])


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


COMMANDS = (serve_command,)
