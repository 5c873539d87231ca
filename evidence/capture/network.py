"""Recording every network response a page receives, with its server address and TLS details.

A body larger than ``max_body_bytes`` (by its Content-Length, or once read) is not kept: the
exchange records why (``body_error``) and the WARC marks the record truncated.

Playwright's ``response.body()`` returns the *decoded* body, so the exchange keeps the
original headers and the WARC writer drops ``Content-Encoding``/``Transfer-Encoding`` from the
stored headers while recording the originals in a metadata record (research/evidence.md
§4.4, §4.5 option 1).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Response

SKIPPED_SCHEMES = ("data:", "blob:", "about:", "chrome:", "chrome-extension:")


@dataclass(frozen=True)
class Exchange:
    """One request/response pair as seen by the browser."""

    url: str
    method: str
    request_headers: tuple[tuple[str, str], ...]
    post_data: bytes
    status: int
    status_text: str
    http_version: str
    response_headers: tuple[tuple[str, str], ...]
    body: bytes
    body_error: str
    server_ip: str
    server_port: int | None
    security: dict[str, Any] | None
    at: datetime
    resource_type: str
    # True when ``body`` is decoded (a browser's view): the stored headers drop
    # Content-Encoding/Transfer-Encoding/Content-Length and a metadata record keeps them.
    # False for wire bytes (the crawler's downloader sees bodies before decompression).
    decoded: bool = True


@dataclass
class TrafficRecorder:
    """Attach to a page before navigation; ``await finish()`` after the page settles."""

    max_body_bytes: int = 64 * 1024 * 1024
    exchanges: list[Exchange] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_failed)

    def _on_response(self, response: Response) -> None:
        if response.url.startswith(SKIPPED_SCHEMES):
            return
        task = asyncio.ensure_future(self._collect(response, datetime.now(UTC)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_failed(self, request: Any) -> None:
        self.failures.append({"url": request.url, "error": str(request.failure or "")})

    async def _collect(self, response: Response, at: datetime) -> None:
        request = response.request
        body, body_error = b"", ""
        declared = await _declared_length(response)
        if declared is not None and declared > self.max_body_bytes:
            body_error = f"body of {declared} bytes is over the cap of {self.max_body_bytes}"
        elif not 300 <= response.status < 400:
            try:
                body = await response.body()
            except PlaywrightError as exc:
                body_error = exc.message
            if len(body) > self.max_body_bytes:
                body_error = f"body of {len(body)} bytes is over the cap of {self.max_body_bytes}"
                body = b""
        try:
            headers = await response.headers_array()
            request_headers = await request.headers_array()
            address = await response.server_addr()
            security = await response.security_details()
        except PlaywrightError as exc:
            headers, request_headers, address, security = [], [], None, None
            body_error = body_error or exc.message
        self.exchanges.append(
            Exchange(
                url=response.url,
                method=request.method,
                request_headers=tuple((h["name"], h["value"]) for h in request_headers),
                post_data=request.post_data_buffer or b"",
                status=response.status,
                status_text=response.status_text or "",
                http_version="HTTP/1.1",
                response_headers=tuple((h["name"], h["value"]) for h in headers),
                body=body,
                body_error=body_error,
                server_ip=address["ipAddress"] if address else "",
                server_port=address["port"] if address else None,
                security=dict(security) if security else None,
                at=at,
                resource_type=request.resource_type,
            )
        )

    async def finish(self) -> list[Exchange]:
        """Wait for every pending body; exchanges in the order responses arrived."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        return sorted(self.exchanges, key=lambda e: e.at)


async def _declared_length(response: Response) -> int | None:
    try:
        value = await response.header_value("content-length")
    except PlaywrightError:
        return None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
