"""Page captures consult robots.txt with the crawler's policy, and every subresource and media
fetch checks the addresses its host resolves to (a public name resolving to a local address is
DNS rebinding and is refused)."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from evidence.capture import CaptureJob, CaptureOptions, CaptureOutcome, FailureReason
from evidence.capture.guarded import CaptureGuard
from evidence.capture.sites import CaptureSite
from evidence.guard import system_resolve
from evidence.robots import PageRobots
from evidence.seal import SealConfig
from evidence.signing import Signer
from tests.evidence.conftest import BrowserRunner

OPTIONS = CaptureOptions(operator="Test Operator", settle_ms=50, pdf=False, mhtml=False)
ROBOTS = b"User-agent: *\nDisallow: /private\n"
PAGE = b"<html><body><h1>model page</h1><p>" + b"words " * 50 + b"</p></body></html>"
REBIND_HOST = "media.rebind.example"  # a public-looking name that resolves to 127.0.0.1


@dataclass
class Site:
    routes: dict[str, tuple[int, bytes]]
    hits: list[str] = field(default_factory=list)
    url: str = ""
    port: int = 0


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, tuple[int, bytes]]], Site]]:
    made: list[ThreadingHTTPServer] = []

    def start(routes: dict[str, tuple[int, bytes]]) -> Site:
        site = Site(routes)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits.append(self.path)
                status, body = site.routes.get(self.path, (404, b"missing"))
                self.send_response(status)
                kind = "text/plain" if self.path.endswith(".txt") else "text/html"
                self.send_header("Content-Type", "image/png" if b"PNG" in body[:4] else kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        made.append(httpd)
        site.port = httpd.server_address[1]
        site.url = f"http://127.0.0.1:{site.port}"
        return site

    try:
        yield start
    finally:
        for httpd in made:
            httpd.shutdown()
            httpd.server_close()


@pytest.fixture
def sealing(keypair: tuple[Path, Path], stampers: list[object]) -> SealConfig:
    return SealConfig(Signer.from_file(keypair[0]), tuple(stampers))  # type: ignore[arg-type]


def _options(site: Site, robots: PageRobots = PageRobots.OBEY) -> CaptureOptions:
    guard = CaptureGuard.for_platforms([(site.url, ())])
    return replace(OPTIONS, guard=guard, sites=(CaptureSite("pages", site.url, robots=robots),))


def _warc(directory: Path) -> str:
    return gzip.decompress((directory / "traffic.warc.gz").read_bytes()).decode("latin-1")


def test_a_page_robots_disallows_is_never_opened_and_the_reason_names_the_setting(
    tmp_path, chromium, serve, sealing
) -> None:  # type: ignore[no-untyped-def]
    site = serve({"/robots.txt": (200, ROBOTS), "/private/item": (200, PAGE)})
    result = chromium.capture(
        CaptureJob(f"{site.url}/private/item", tmp_path, _options(site), sealing)
    )
    assert result.outcome is CaptureOutcome.FAILED and result.reason is FailureReason.ROBOTS
    assert f"robots.txt ({site.url}/robots.txt, parsed) disallows" in result.message
    assert "obey_robots_txt = false in [platforms.politeness] of platform 'pages'" in result.message
    assert site.hits == ["/robots.txt"]  # the page itself was never asked for


def test_an_allowed_page_is_sealed_with_the_decision_and_the_robots_txt_archived(
    tmp_path, chromium, serve, sealing
) -> None:  # type: ignore[no-untyped-def]
    site = serve({"/robots.txt": (200, ROBOTS), "/models/1": (200, PAGE)})
    result = chromium.capture(CaptureJob(f"{site.url}/models/1", tmp_path, _options(site), sealing))
    assert result.outcome is CaptureOutcome.SEALED, result.message
    assert result.directory is not None
    meta = json.loads((result.directory / "metadata.json").read_text())
    robots = meta["robots"]
    assert robots["robots_url"] == f"{site.url}/robots.txt" and robots["status"] == 200
    assert robots["rules"] == "parsed" and robots["page_allowed"] is True
    assert robots["pages"] == "obey" and len(robots["sha256"]) == 64
    assert meta["site"] == {"platform": "pages", "login_session": False, "robots_txt": "obey"}
    warc = _warc(result.directory)
    assert f"WARC-Target-URI: {site.url}/robots.txt" in warc and "Disallow: /private" in warc


def test_unreadable_robots_txt_disallows_and_ignore_does_not_ask(
    tmp_path, chromium, serve, sealing
) -> None:  # type: ignore[no-untyped-def]
    broken = serve({"/robots.txt": (503, b"busy"), "/models/1": (200, PAGE)})
    refused = chromium.capture(
        CaptureJob(f"{broken.url}/models/1", tmp_path, _options(broken), sealing)
    )
    assert refused.reason is FailureReason.ROBOTS
    assert "disallow all (robots.txt unreadable: HTTP 503)" in refused.message

    site = serve({"/robots.txt": (200, ROBOTS), "/private/item": (200, PAGE)})
    ignoring = _options(site, PageRobots.IGNORE)
    sealed = chromium.capture(CaptureJob(f"{site.url}/private/item", tmp_path, ignoring, sealing))
    assert sealed.outcome is CaptureOutcome.SEALED, sealed.message
    assert sealed.directory is not None
    meta = json.loads((sealed.directory / "metadata.json").read_text())
    assert meta["robots"]["rules"].startswith("not fetched (obey_robots_txt = false")
    assert "/robots.txt" not in site.hits


# --- DNS rebinding: a name allowed by host, refused by the address it resolves to -----------


def _rebinding(host: str, port: int) -> tuple[str, ...]:
    return ("127.0.0.1",) if host == REBIND_HOST else system_resolve(host, port)


@pytest.fixture(scope="module")
def rebinding_chromium() -> Iterator[BrowserRunner]:
    """A Chromium whose own resolver sends the name to 127.0.0.1, so only the guard stops it."""
    runner = BrowserRunner(extra_args=(f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1",))
    try:
        yield runner
    finally:
        runner.close()


def test_subresources_and_media_whose_host_resolves_locally_are_refused(
    tmp_path, rebinding_chromium, serve, sealing
) -> None:  # type: ignore[no-untyped-def]
    admin = serve({"/pixel.png": (200, b"\x89PNG\r\n\x1a\nsecret"), "/m.png": (200, b"\x89PNG")})
    page = PAGE.replace(
        b"</body>", f'<img src="http://{REBIND_HOST}:{admin.port}/pixel.png"></body>'.encode()
    )
    site = serve({"/models/1": (200, page)})
    guard = CaptureGuard.for_platforms(
        [(site.url, (f"{REBIND_HOST}:{admin.port}",))], resolve=_rebinding
    )  # the name is even allowed by host: only its address is wrong
    media = f"http://{REBIND_HOST}:{admin.port}/m.png"
    options = replace(OPTIONS, guard=guard, media_urls=(media,))
    result = rebinding_chromium.capture(
        CaptureJob(f"{site.url}/models/1", tmp_path, options, sealing)
    )
    assert result.outcome is CaptureOutcome.SEALED, result.message
    assert result.directory is not None
    meta = json.loads((result.directory / "metadata.json").read_text())
    refused = {r["url"]: r["reason"] for r in meta["refused_requests"]}
    pixel = f"http://{REBIND_HOST}:{admin.port}/pixel.png"
    assert f"{REBIND_HOST} resolved to 127.0.0.1" in refused[pixel]
    assert [e["url"] for e in meta["media_errors"]] == [media]
    assert f"{REBIND_HOST} resolved to 127.0.0.1" in meta["media_errors"][0]["error"]
    assert admin.hits == []  # nothing reached the local service
