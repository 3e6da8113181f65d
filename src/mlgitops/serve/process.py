"""``mlgitops serve`` as a subprocess on loopback: what the deploy step and the tests start.

::

    with ServerProcess("models/model.skops", "models/model.json", version="v1.2.0") as server:
        result = smoke_test(server.url, load_smoke_sample("metrics/smoke_sample.json"),
                            expected_version="v1.2.0")

The server is started as ``python -m mlgitops serve --model M --metadata J --version V --host
127.0.0.1 --port 0 --log L --port-file F``: port 0 lets the kernel pick a free port, and the server
writes the port it bound to ``F`` once it is listening, so two servers never race for a port. The
process is ready when ``GET /health`` answers 200 (or, with ``require_model=False``, answers at
all). Stopping sends SIGTERM (uvicorn finishes in-flight requests, the prediction log is flushed),
waits, and kills the process if it has not exited in time. Its stdout and stderr go to a file;
:meth:`ServerProcess.output` returns them, and a server that dies before it is ready raises with
their last lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from mlgitops.errors import MlgitopsError

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerStartError(MlgitopsError):
    """The server process exited, or did not become ready, before it could serve."""


class ServerProcess:
    """A ``mlgitops serve`` subprocess bound to a free port on loopback (a context manager).

    Args:
        model: The model file (``--model``); None when ``args`` name the source (``--stage``).
        metadata: Its metadata JSON (``--metadata``).
        version: The version the server reports (``--version``).
        log: The prediction log (``--log``); default: a file in the process's temp dir, removed
            with it when the server stops (pass a path to keep the log).
        params: The params file (``--params``); default: ``params.yaml`` in ``cwd``.
        host: The loopback address to bind.
        args: More arguments for ``mlgitops serve`` (e.g. ``["--stage", "prod", "--watch"]``).
        cwd: Working directory of the server.
        env: Environment of the server (default: this process's).
        require_model: Ready only once ``/health`` is 200 (a model is serving); False: ready as
            soon as the server answers at all (e.g. ``--watch`` on a stage that is still empty).
        startup_timeout: Seconds to wait for readiness.
        stop_timeout: Seconds to wait after SIGTERM before killing.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        metadata: str | os.PathLike[str] | None = None,
        *,
        version: str | None = None,
        log: str | os.PathLike[str] | None = None,
        params: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        args: Sequence[str] = (),
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        require_model: bool = True,
        startup_timeout: float = 60.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.model = model
        self.metadata = metadata
        self.version = version
        self.log = log
        self.params = params
        self.host = host
        self.args = tuple(args)
        self.cwd = cwd
        self.env = env
        self.require_model = require_model
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.port: int | None = None
        self.returncode: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._output_text: str | None = None

    # -- what it runs ---------------------------------------------------------------------------

    def command(self, port_file: Path, log: Path) -> list[str]:
        """The argument list of the server process."""
        command = [sys.executable, "-m", "mlgitops", "serve"]
        if self.params is not None:
            command += ["--params", os.fspath(self.params)]
        if self.model is not None:
            command += ["--model", os.fspath(self.model)]
        if self.metadata is not None:
            command += ["--metadata", os.fspath(self.metadata)]
        if self.version is not None:
            command += ["--version", self.version]
        command += ["--host", self.host, "--port", "0", "--log", os.fspath(log)]
        command += ["--port-file", os.fspath(port_file), *self.args]
        return command

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self.port is None:
            raise ServerStartError("the server is not running; start it first.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def log_path(self) -> Path:
        """Where the server writes its prediction log (the default one only while it runs)."""
        if self.log is not None:
            return Path(self.log)
        if self._dir is None:
            raise ServerStartError("the server is not running; pass log= to keep its log.")
        return self._dir / "predictions.sqlite"

    def output(self) -> str:
        """The server's stdout and stderr so far."""
        if self._output_text is not None:
            return self._output_text
        if self._dir is None or not (self._dir / "output.txt").is_file():
            return ""
        return (self._dir / "output.txt").read_text(encoding="utf-8", errors="replace")

    # -- start and stop -------------------------------------------------------------------------

    def start(self) -> ServerProcess:
        """Start the server and wait until it is ready.

        Raises:
            ServerStartError: the process exited or was not ready within ``startup_timeout``
                (the message holds the end of its output).
        """
        if self._process is not None:
            return self
        self._dir = Path(tempfile.mkdtemp(prefix="mlgitops-serve-"))
        self._output_text = None
        port_file = self._dir / "port"
        with (self._dir / "output.txt").open("wb") as output:
            self._process = subprocess.Popen(
                self.command(port_file, self.log_path),
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready(port_file)
        except BaseException:
            self.stop()
            raise
        return self

    def _fail(self, what: str) -> ServerStartError:
        tail = "\n".join(self.output().strip().splitlines()[-15:])
        return ServerStartError(f"mlgitops serve {what}; its output ends with:\n{tail}")

    def _wait_ready(self, port_file: Path) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise self._fail(f"exited with code {code} before it was ready")
            if self.port is None and port_file.is_file():
                text = port_file.read_text().strip()
                if text.isdigit():
                    self.port = int(text)
            if self.port is not None:
                status = self.health()[0]
                if status == 200 or (status is not None and not self.require_model):
                    return
            time.sleep(0.05)
        raise self._fail(f"was not ready within {self.startup_timeout:g} s")

    def health(self, timeout: float = 2.0) -> tuple[int | None, Any]:
        """(status, JSON) of ``GET /health``; status None when the server does not answer."""
        try:
            with _OPENER.open(f"{self.url}/health", timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with contextlib.suppress(ValueError):
                return exc.code, json.loads(exc.read())
            return exc.code, None
        except (urllib.error.URLError, OSError, ValueError):
            return None, None

    def stop(self) -> int | None:
        """Stop the server (SIGTERM, then kill after ``stop_timeout``); return its exit code."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.returncode = process.returncode
            self._process = None
        if self._dir is not None:
            self._output_text = self.output()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.port = None
        return self.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
