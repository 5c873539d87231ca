"""Pytest support: the sandbox started as a child process that prints its URL.

Fixtures (registered through ``pytest_plugins = ["tests.support.sandbox"]`` in tests/conftest.py):

- ``sandbox``: one shared instance for the whole session (default world, no faults).
- ``sandbox_factory``: ``sandbox_factory(items=..., seed=..., faults=...)`` starts a custom
  instance; every instance it started is stopped when the test ends.

Both yield :class:`SandboxServer`. Without pytest, use :func:`start_sandbox` as a context
manager.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


class SandboxStartError(RuntimeError):
    """The sandbox process exited or stayed silent instead of printing its URL."""


@dataclass
class SandboxServer:
    """A running sandbox: its base URL, its state dir and its child process."""

    url: str
    state_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsa"

    @property
    def client(self) -> httpx.Client:
        """A keep-alive HTTP client for this sandbox (closed by :meth:`stop`)."""
        if self._client is None:
            self._client = httpx.Client(timeout=30)
        return self._client

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET ``path`` (relative to the base URL)."""
        return self.client.get(f"{self.url}{path}", **kwargs)

    def truth(self) -> list[dict[str, Any]]:
        """The ground truth: one object per item (GET /sandbox/truth.json)."""
        response = self.get("/sandbox/truth.json")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()
        return data

    def remove(self, kind: str, external_id: str) -> dict[str, Any]:
        """Simulate a takedown (POST /sandbox/admin/remove/{kind}/{id})."""
        response = self.client.post(f"{self.url}/sandbox/admin/remove/{kind}/{external_id}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def ca_pem(self) -> bytes:
        """The untrusted test CA certificate (PEM) that roots the TSA."""
        response = self.get("/tsa/ca.pem")
        response.raise_for_status()
        return response.content

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Terminate the process (kill it if it lingers) and close its pipe and client."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _read_first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise SandboxStartError(f"no URL line within {timeout} s")
    return process.stdout.readline().decode("utf-8").strip()


def launch(
    state_dir: Path,
    *,
    items: int | None = None,
    seed: int | None = None,
    faults: str | None = None,
    extra: tuple[str, ...] = (),
) -> SandboxServer:
    """Start ``python -m sandbox serve --port 0`` and wait for its URL line; ``extra`` are
    more options (``("--time-scale", "0.01", "--rate-limit", "api=5")``)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "sandbox", "serve", "--port", "0"]
    command += ["--state-dir", str(state_dir)]
    if items is not None:
        command += ["--items", str(items)]
    if seed is not None:
        command += ["--seed", str(seed)]
    if faults:
        command += ["--faults", faults]
    command += list(extra)
    log_path = state_dir / "server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = SandboxServer(url="", state_dir=state_dir, process=process, log_path=log_path)
    try:
        line = _read_first_line(process, START_TIMEOUT)
        if not line.startswith("http://"):
            raise SandboxStartError(f"expected a URL, got {line!r}; log:\n{server.log()}")
    except BaseException:
        server.stop()
        raise
    server.url = line
    return server


@contextmanager
def start_sandbox(state_dir: Path, **kwargs: Any) -> Iterator[SandboxServer]:
    """Context manager around :func:`launch` that always stops the process."""
    server = launch(state_dir, **kwargs)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The shared default sandbox for the session (real behaviours; its clock runs 20x faster
    so that many suites sharing it stay inside the Hub's rate-limit window)."""
    state = tmp_path_factory.mktemp("sandbox-state")
    with start_sandbox(state, extra=("--time-scale", "0.05")) as server:
        yield server


SandboxFactory = Callable[..., SandboxServer]


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxFactory]:
    """Start custom sandboxes: ``sandbox_factory(items=50, seed=3, faults="500=1")``."""
    started: list[SandboxServer] = []

    def factory(
        *,
        items: int | None = None,
        seed: int | None = None,
        faults: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> SandboxServer:
        state_dir = tmp_path_factory.mktemp("sandbox-state")
        server = launch(state_dir, items=items, seed=seed, faults=faults, extra=extra)
        started.append(server)
        return server

    try:
        yield factory
    finally:
        for server in started:
            server.stop()
