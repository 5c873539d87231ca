from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.capture.chromium import CHROMIUM_PATH
from evidence.signing import Signer, generate_keypair
from evidence.timestamp import TsaSpec, timestamper_for
from tests.support.local_tsa import LocalTsa, local_tsa


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path_factory.mktemp("tsa")) as server:
        yield server


@pytest.fixture(scope="session")
def second_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path_factory.mktemp("tsa2")) as server:
        yield server


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("keys")
    pair = generate_keypair(base / "signing.pem", base / "signing.pub.pem")
    return pair.private_path, pair.public_path


@pytest.fixture
def signer(keypair: tuple[Path, Path]) -> Signer:
    return Signer.from_file(keypair[0])


@pytest.fixture
def stampers(tsa: LocalTsa):  # type: ignore[no-untyped-def]
    return [timestamper_for(TsaSpec(tsa.url, tsa.ca_pem))]


class BrowserRunner:
    """A Chromium shared by a test module, driven from a private event loop."""

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        import asyncio

        from playwright.async_api import async_playwright

        from evidence.capture.browser import _launch

        self.loop = asyncio.new_event_loop()
        self._pw = self.loop.run_until_complete(async_playwright().start())
        self.browser = self.loop.run_until_complete(_launch(self._pw, CHROMIUM_PATH, extra_args))

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def capture(self, job):  # type: ignore[no-untyped-def]
        from evidence.capture import capture

        return self.run(capture(self.browser, job))

    def close(self) -> None:
        self.loop.run_until_complete(self.browser.close())
        self.loop.run_until_complete(self._pw.stop())
        self.loop.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserRunner]:
    runner = BrowserRunner()
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="module")
def site() -> Iterator[object]:
    from tests.support.pages import serve_pages

    with serve_pages() as served:
        yield served


@pytest.fixture
def sealing(signer: Signer, stampers):  # type: ignore[no-untyped-def]
    from evidence.seal import SealConfig

    return SealConfig(signer, tuple(stampers))
