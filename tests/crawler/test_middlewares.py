"""WARC writer, wall detection, politeness helpers and media checks, without a network."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse
from warcio.archiveiterator import ArchiveIterator

from crawler.exceptions import MediaError
from crawler.middlewares.politeness import retry_after_seconds
from crawler.middlewares.walls import classify
from crawler.middlewares.warc import WarcFile
from crawler.pipelines.media import check_image, store_bytes
from evidence.guard import is_local_address

CHALLENGE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the site.</h1>
<h2 id="challenge-running">Verify you are human by completing the action below.</h2>
</body></html>"""


def test_warc_keeps_encoded_bytes_and_passes_warcio_check(tmp_path: Path) -> None:
    path = tmp_path / "run.warc.gz"
    warc = WarcFile(path, {"software": "test", "operator": "tester"})
    body = gzip.compress(b'{"items": []}')
    response = Response(
        "https://civitai.com/api/v1/models?query=hero",
        status=200,
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Transfer-Encoding": "chunked",
        },
        body=body,
        request=Request("https://civitai.com/api/v1/models?query=hero"),
        ip_address=None,
    )
    request = Request(
        response.url, headers={"Authorization": "Bearer secret", "Accept": "application/json"}
    )
    record_id = warc.write_exchange(request, response)
    rendered_id = warc.write_rendered("https://gallery.example/", b"<html>rendered</html>", 200)
    warc.close()
    assert record_id.startswith("<urn:uuid:") and rendered_id != record_id
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", str(path)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    with path.open("rb") as fh:
        records = list(
            (r.rec_type, r.rec_headers, r.http_headers, r.raw_stream.read())
            for r in ArchiveIterator(fh)
        )
    types = [r[0] for r in records]
    assert types == ["warcinfo", "response", "request", "resource"]
    _, rec_headers, http_headers, raw = records[1]
    assert raw == body  # encoded bytes, exactly as received
    assert rec_headers.get_header("WARC-Payload-Digest").startswith("sha256:")
    assert http_headers.get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert records[2][2].get_header("Authorization") is None  # credentials never archived


def _html(url: str, body: bytes, status: int = 200, **headers: str) -> HtmlResponse:
    return HtmlResponse(
        url, status=status, body=body, headers={"Content-Type": "text/html", **headers}
    )


def test_walls_classified() -> None:
    assert classify(_html("https://x/models/1", CHALLENGE, 403)) is not None
    assert "cf-mitigated" in (
        classify(_html("https://x/a", b"<html></html>", 403, **{"cf-mitigated": "challenge"})) or ""
    )
    login = b"<html><head><title>Log in</title></head><body><form></form></body></html>"
    assert classify(_html("https://x/login?next=/models/1", login)) is not None
    assert classify(_html("https://x/models/1", login)) == (
        "login wall (login form instead of content)"
    )
    assert classify(_html("https://x/models/1", b"<html>no</html>", 401)) == "login wall (HTTP 401)"
    api_401 = TextResponse(
        "https://x/api/v1/models",
        status=401,
        body=b'{"error":"Unauthorized"}',
        headers={"Content-Type": "application/json"},
    )
    assert classify(api_401) is None  # an API error, handled as a failure, not a wall
    page = b"<html><head><title>Hero LoRA</title></head><body><h1>Hero</h1></body></html>"
    assert classify(_html("https://x/models/1", page)) is None


def test_retry_after_forms() -> None:
    now = datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)
    r = Response("https://x", status=429, headers={"Retry-After": "7"})
    assert retry_after_seconds(r) == 7.0
    r = Response("https://x", status=503, headers={"Retry-After": "Tue, 01 Dec 2026 00:00:30 GMT"})
    assert retry_after_seconds(r, now) == 30.0
    r = Response("https://x", status=429, headers={"RateLimit": '"api";r=0;t=42'})
    assert retry_after_seconds(r) == 42.0
    assert retry_after_seconds(Response("https://x", status=429)) is None


@pytest.mark.parametrize(
    ("host", "private"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("10.1.2.3", True),
        ("[::1]", True),
        ("169.254.1.1", True),
        ("civitai.com", False),
        ("8.8.8.8", False),
    ],
)
def test_private_hosts(host: str, private: bool) -> None:
    assert is_local_address(host) is private


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge canvas (IDAT holds almost nothing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def test_media_checks(tmp_path: Path) -> None:
    decoded = check_image("u", _png(64, 48), max_pixels=10_000)
    assert decoded.source_size == (64, 48) and decoded.rgb.shape == (48, 64, 3)
    with pytest.raises(MediaError, match="decompression bomb: image declares 20,000 pixels"):
        check_image("u", _png(200, 100), max_pixels=10_000)
    with pytest.raises(MediaError, match=r"pixel cap|decompression bomb"):
        check_image("u", _bomb_png(40_000, 40_000), max_pixels=64_000_000)
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(jpeg, "JPEG")
    with pytest.raises(MediaError, match="damaged image"):
        check_image("u", jpeg.getvalue()[: len(jpeg.getvalue()) // 2], max_pixels=10_000)
    with pytest.raises(MediaError, match="not an image the decoder can read"):
        check_image("u", b"<html>nope</html>", max_pixels=10_000)
    sha, path = store_bytes(tmp_path, b"abc")
    assert path.name == sha and path.read_bytes() == b"abc"
