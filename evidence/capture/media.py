"""The finding's media file(s) exactly as the server sent them.

Taken from the page's own traffic when the page loaded it; otherwise fetched in the same
browser context (same cookies, user agent and IP) and added to the WARC as well. A fetch follows
redirects itself, one hop at a time, and every hop passes the capture's fetch guard first
(``file:``, loopback and private addresses are refused and recorded as media errors).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from evidence.capture.guarded import MAX_MEDIA_REDIRECTS, CaptureGuard
from evidence.capture.network import Exchange
from evidence.exceptions import FetchRefused

MEDIA_DIR = "media"


def media_name(index: int, url: str) -> str:
    """``media/<n>-<safe basename>`` for the n-th media URL."""
    base = urlsplit(url).path.rsplit("/", 1)[-1] or "media"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:80] or "media"
    return f"{MEDIA_DIR}/{index:02d}-{safe}"


def from_traffic(url: str, exchanges: list[Exchange]) -> Exchange | None:
    for exchange in exchanges:
        if exchange.url == url and exchange.status == 200 and exchange.body:
            return exchange
    return None


async def fetch(
    context: BrowserContext,
    url: str,
    timeout_s: float,
    guard: CaptureGuard | None = None,
    max_bytes: int = 64 * 1024 * 1024,
) -> Exchange:
    """GET ``url`` with the context's request client, each redirect hop checked by ``guard``
    (the scheme, host and port, then every address the host resolves to).

    Raises PlaywrightError on a network failure and FetchRefused when a hop is refused.
    """
    guard = guard or CaptureGuard()
    for _hop in range(MAX_MEDIA_REDIRECTS + 1):
        await guard.check_async(url)
        response = await context.request.get(url, timeout=timeout_s * 1000, max_redirects=0)
        location = response.headers.get("location")
        if not (300 <= response.status < 400 and location):
            break
        await response.dispose()
        url = urljoin(url, location)
    else:
        raise FetchRefused(url, f"more than {MAX_MEDIA_REDIRECTS} redirects")
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchRefused(url, f"a body of {declared} bytes is over the cap of {max_bytes}")
        body = await response.body()
        if len(body) > max_bytes:
            raise FetchRefused(url, f"a body of {len(body)} bytes is over the cap of {max_bytes}")
        return Exchange(
            url=response.url,
            method="GET",
            request_headers=(),
            post_data=b"",
            status=response.status,
            status_text=response.status_text,
            http_version="HTTP/1.1",
            response_headers=tuple((h["name"], h["value"]) for h in response.headers_array),
            body=body,
            body_error="",
            server_ip="",
            server_port=None,
            security=None,
            at=datetime.now(UTC),
            resource_type="media-fetch",
        )
    finally:
        await response.dispose()


async def collect(
    context: BrowserContext,
    urls: tuple[str, ...],
    exchanges: list[Exchange],
    timeout_s: float,
    guard: CaptureGuard | None = None,
    max_bytes: int = 64 * 1024 * 1024,
) -> tuple[list[tuple[str, Exchange]], list[dict[str, str]]]:
    """``(name, exchange)`` per media URL obtained, and the errors of those that failed."""
    found: list[tuple[str, Exchange]] = []
    errors: list[dict[str, str]] = []
    for index, url in enumerate(urls, start=1):
        exchange = from_traffic(url, exchanges)
        if exchange is None:
            try:
                exchange = await fetch(context, url, timeout_s, guard, max_bytes)
            except PlaywrightError as exc:
                errors.append({"url": url, "error": exc.message})
                continue
            except FetchRefused as exc:
                errors.append({"url": url, "error": str(exc)})
                continue
            exchanges.append(exchange)
        if exchange.status != 200:
            errors.append({"url": url, "error": f"HTTP {exchange.status}"})
            continue
        found.append((media_name(index, url), exchange))
    return found, errors
