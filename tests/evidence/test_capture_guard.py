"""Hostile finding URLs and pages against the evidence capture: file: URLs, a loopback admin
page, redirects and subresources aimed at it, file: media, and credentials in traffic. Each is
refused (naming the URL, nothing sealed) or kept out of the record."""

from __future__ import annotations

import gzip
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from evidence.capture import CaptureJob, CaptureOptions, CaptureOutcome, FailureReason
from evidence.capture.chromium import launch_args, sandbox_off_reason
from evidence.casefile import capture_findings_async, default_options
from evidence.models import Candidate, Capture, CaptureStatus, Finding
from evidence.seal import SealConfig
from evidence.settings import EvidenceSettings
from evidence.store import Store
from tests.support.casefile import seed_finding
from tests.support.guard import allow, local_guard

OPTIONS = CaptureOptions(operator="Test Operator", settle_ms=50, pdf=False, mhtml=False)
SECRET = "s3cr3t-session-value"
TOKEN = "tok-0123456789abcdef"


@dataclass
class Server:
    """A local HTTP server recording the paths it was asked for."""

    routes: dict[str, tuple[int, dict[str, str], bytes]]
    hits: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    """A platform page site and a loopback "admin" service the platform must not reach."""
    made: list[ThreadingHTTPServer] = []

    def start(server: Server) -> Server:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                status, headers, body = server.routes.get(
                    self.path.split("?")[0], (404, {}, b"missing")
                )
                body = body.replace(b"{admin}", admin.url.encode())
                self.send_response(status)
                for key, value in {"Content-Type": "text/html", **headers}.items():
                    self.send_header(key, value.replace("{admin}", admin.url))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        made.append(httpd)
        server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        return server

    admin = start(Server({"/admin": (200, {}, b"<h1>admin console</h1>")}))
    page = b"<html><body><h1>model page</h1><p>" + b"words " * 50 + b"</p>"
    platform = start(
        Server(
            {
                "/item": (200, {}, page + b"</body></html>"),
                "/hotlink": (
                    200,
                    {},
                    page
                    + b'<img src="{admin}/admin"><script>'
                    + b'new WebSocket("{admin}/admin".replace("http", "ws"))</script>'
                    + b"</body></html>",
                ),
                "/bounce": (302, {"Location": "{admin}/admin"}, b""),
                "/cookie": (
                    200,
                    {"Set-Cookie": f"session={SECRET}; Path=/"},
                    # the token is put together by a script: the page's bytes never hold it
                    page
                    + b"<script>document.write('<img src=\"/pixel.png?token=tok-'"
                    + b" + '0123456789abcdef\">')</script></body></html>",
                ),
                "/pixel.png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n"),
                "/big": (200, {}, page + b'<img src="/huge.bin"></body></html>'),
                "/huge.bin": (200, {"Content-Type": "image/png"}, b"Z" * 300_000),
            }
        )
    )
    try:
        yield platform, admin
    finally:
        for httpd in made:
            httpd.shutdown()
            httpd.server_close()


def _warc_text(directory: Path) -> str:
    return gzip.decompress((directory / "traffic.warc.gz").read_bytes()).decode("latin-1")


@pytest.fixture
def sealing(keypair: tuple[Path, Path], stampers: list[object]) -> SealConfig:
    from evidence.signing import Signer

    return SealConfig(Signer.from_file(keypair[0]), tuple(stampers))  # type: ignore[arg-type]


def test_file_and_loopback_finding_urls_are_refused_and_nothing_is_sealed(
    tmp_path: Path, chromium, servers, keypair, tsa
) -> None:  # type: ignore[no-untyped-def]
    platform, admin = servers
    store = Store.open(f"sqlite:///{tmp_path / 'case.db'}")
    settings = EvidenceSettings(
        folder=tmp_path / "evidence",
        signing_key=keypair[0],
        tsa_urls=(tsa.url,),
        extra_ca={tsa.url: tsa.ca_pem},
        capture_guard=local_guard(platform.url),  # the platform is configured; admin is not
    )
    ids = []
    for name, url in (("passwd", "file:///etc/passwd"), ("admin", f"{admin.url}/admin")):
        fid = seed_finding(store, platform.url, name, tmp_path / "refs")
        with store.session() as s:
            finding = s.get(Finding, fid)
            assert finding is not None
            s.get(Candidate, finding.candidate_id).page_url = url  # type: ignore[union-attr]
        ids.append(fid)
    results = chromium.run(
        capture_findings_async(store, ids, settings, default_options(settings), chromium.browser)
    )
    for result, url in zip(results, ("file:///etc/passwd", f"{admin.url}/admin"), strict=True):
        assert result.outcome is CaptureOutcome.FAILED and result.reason is FailureReason.REFUSED
        assert result.message.startswith(f"fetch refused: {url}: ")
        assert result.directory is None
    assert "scheme 'file'" in results[0].message
    assert "loopback" in results[1].message or "not allowed" in results[1].message
    assert admin.hits == []  # the admin page was never requested
    with store.session() as s:
        rows = s.scalars(select(Capture)).all()
        assert [r.status for r in rows] == [CaptureStatus.FAILED, CaptureStatus.FAILED]
        assert all("fetch refused" in (r.error or "") for r in rows)
    assert not list((tmp_path / "evidence").rglob("manifest.json"))
    store.dispose()


def test_a_manual_capture_reaches_public_addresses_only(tmp_path, chromium, servers, sealing):  # type: ignore[no-untyped-def]
    _platform, admin = servers
    result = chromium.capture(CaptureJob(f"{admin.url}/admin", tmp_path, OPTIONS, sealing))
    assert result.reason is FailureReason.REFUSED and "loopback" in result.message
    assert admin.hits == []


def test_a_redirect_to_the_admin_page_fails_the_capture(tmp_path, chromium, servers, sealing):  # type: ignore[no-untyped-def]
    platform, admin = servers
    url = f"{platform.url}/bounce"
    result = chromium.capture(CaptureJob(url, tmp_path, allow(url, OPTIONS), sealing))
    assert result.outcome is CaptureOutcome.FAILED and result.reason is FailureReason.REFUSED
    assert f"{admin.url}/admin" in result.message and "redirect" in result.message
    assert result.directory is not None
    assert sorted(p.name for p in result.directory.iterdir()) == ["FAILED.json"]  # nothing kept


def test_subresources_to_the_admin_page_are_blocked_and_recorded(
    tmp_path, chromium, servers, sealing
):  # type: ignore[no-untyped-def]
    platform, admin = servers
    url = f"{platform.url}/hotlink"
    media = ("file:///etc/passwd", f"{admin.url}/admin")
    options = replace(allow(url, OPTIONS), media_urls=media)
    result = chromium.capture(CaptureJob(url, tmp_path, options, sealing))
    assert result.outcome is CaptureOutcome.SEALED, result.message
    assert admin.hits == []  # neither the <img>, the WebSocket nor the media fetch reached it
    assert result.directory is not None
    meta = json.loads((result.directory / "metadata.json").read_text(encoding="utf-8"))
    ws_admin = admin.url.replace("http", "ws") + "/admin"
    refused = sorted(r["url"] for r in meta["refused_requests"])
    assert refused == sorted([f"{admin.url}/admin", ws_admin]), refused
    errors = {e["url"]: e["error"] for e in meta["media_errors"]}
    assert "scheme 'file'" in errors["file:///etc/passwd"]
    assert "fetch refused" in errors[f"{admin.url}/admin"]
    assert meta["chromium_sandbox"]["enabled"] is (os.geteuid() != 0)
    assert meta["options"]["fetch_policy"].endswith("any public http(s) address")
    assert "admin console" not in _warc_text(result.directory)


def test_credentials_never_reach_the_warc_or_metadata(tmp_path, chromium, servers, sealing):  # type: ignore[no-untyped-def]
    platform, _admin = servers
    url = f"{platform.url}/cookie"
    result = chromium.capture(CaptureJob(url, tmp_path, allow(url, OPTIONS), sealing))
    assert result.outcome is CaptureOutcome.SEALED, result.message
    sent = [h for h, path in zip(platform.headers, platform.hits, strict=True) if "pixel" in path]
    assert sent and SECRET in sent[0].get("cookie", "")  # the browser did send them...
    assert result.directory is not None
    assert any(TOKEN in path for path in platform.hits)
    for path in result.directory.rglob("*"):  # ...and no file of the capture holds the cookie
        if path.is_file():
            data = path.read_bytes()
            text = gzip.decompress(data) if path.suffix == ".gz" else data
            assert SECRET.encode() not in text, path
    warc = _warc_text(result.directory)  # nor the WARC or the metadata the token
    assert TOKEN not in warc and "token=REDACTED" in warc and "\r\nCookie:" not in warc
    assert TOKEN not in (result.directory / "metadata.json").read_text(encoding="utf-8")


def test_response_bodies_over_the_cap_are_not_kept(tmp_path, chromium, servers, sealing):  # type: ignore[no-untyped-def]
    platform, _admin = servers
    url = f"{platform.url}/big"
    options = replace(allow(url, OPTIONS), max_body_bytes=100_000)
    result = chromium.capture(CaptureJob(url, tmp_path, options, sealing))
    assert result.outcome is CaptureOutcome.SEALED, result.message
    assert "/huge.bin" in platform.hits
    assert result.directory is not None
    warc = _warc_text(result.directory)
    assert "Z" * 1000 not in warc
    assert "body of 300000 bytes is over the cap of 100000" in warc
    assert "WARC-Truncated" in warc


def test_chromium_sandbox_is_on_unless_root() -> None:
    assert "--no-sandbox" not in launch_args(euid=1000, environ={})
    assert "--no-sandbox" in launch_args(euid=0, environ={})
    assert sandbox_off_reason(euid=1000, environ={}) is None
    off = sandbox_off_reason(euid=1000, environ={"RIGHTSWATCH_CHROMIUM_NO_SANDBOX": "1"})
    assert off is not None and "RIGHTSWATCH_CHROMIUM_NO_SANDBOX" in off
