"""Capture metadata: URLs, redirects, status, headers, server IP, TLS, DNS, environment."""

from __future__ import annotations

import asyncio
import platform
import socket
import ssl
import sys
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Response

from evidence.capture.network import Exchange

METADATA_FILE = "metadata.json"


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def environment(browser_version: str) -> dict[str, Any]:
    """Tool, browser and host versions (PRC Civil Evidence Provisions Art. 93 (1)-(2))."""
    return {
        "browser": f"Chromium {browser_version}",
        "playwright": _version("playwright"),
        "rightswatch": _version("rightswatch"),
        "warcio": _version("warcio"),
        "rfc3161_client": _version("rfc3161-client"),
        "python": sys.version.split()[0],
        "os": platform.platform(),
        "host": socket.gethostname(),
    }


async def dns_answer(url: str) -> dict[str, Any]:
    """The addresses the capture host's resolver gave for the URL's host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return {"host": host, "error": str(exc), "addresses": []}
    return {"host": host, "addresses": sorted({str(info[4][0]) for info in infos})}


async def redirect_chain(response: Response | None) -> list[dict[str, Any]]:
    """Each hop before the final response: URL, status and Location."""
    hops: list[dict[str, Any]] = []
    if response is None:
        return hops
    request = response.request.redirected_from
    while request is not None:
        earlier = await request.response()
        hops.append(
            {
                "url": request.url,
                "status": earlier.status if earlier else None,
                "location": (await earlier.header_value("location")) if earlier else None,
            }
        )
        request = request.redirected_from
    return list(reversed(hops))


TLS_CERT_FILE = "tls-certificate.pem"


async def server_certificate(url: str, timeout_s: float = 10.0) -> tuple[bytes | None, str]:
    """The leaf certificate the HTTPS server presents (PEM), fetched on a second connection.

    Not verified on purpose: what the server presented is the fact recorded (research
    evidence.md §3.4 item 3; WACZ specs#147). Returns ``(None, reason)`` when unavailable.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None, "not HTTPS"
    address = (parts.hostname, parts.port or 443)
    try:
        pem = await asyncio.to_thread(ssl.get_server_certificate, address, timeout=timeout_s)
    except (OSError, ssl.SSLError) as exc:
        return None, f"{parts.hostname}:{address[1]}: {exc}"
    return pem.encode("ascii"), ""


def tls_summary(exchange: Exchange | None) -> dict[str, Any]:
    """Certificate subject, issuer and validity of the main document, when HTTPS."""
    if exchange is None or not exchange.url.startswith("https://"):
        return {"https": False}
    details = exchange.security or {}

    def when(key: str) -> str | None:
        value = details.get(key)
        return datetime.fromtimestamp(value, UTC).isoformat() if value else None

    return {
        "https": True,
        "protocol": details.get("protocol"),
        "subject": details.get("subjectName"),
        "issuer": details.get("issuer"),
        "valid_from": when("validFrom"),
        "valid_to": when("validTo"),
    }
