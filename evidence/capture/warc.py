"""WARC 1.1 of everything the server sent, with SHA-256 digests (research/evidence.md §4.4).

Per exchange: a ``request`` and a ``response`` record (``WARC-IP-Address`` when known), then a
``metadata`` record with the server address, TLS details and the original transfer headers.
A final ``metadata`` record links the renderings (screenshots, DOM, PDF…) by SHA-256 to the
main page's response record (``WARC-Refers-To``), per §3.4 item 2. Credentials never reach a
record: ``evidence.redact`` drops ``Cookie``/``Authorization``/``Proxy-Authorization`` headers
and masks token query values in every URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from io import BytesIO
from typing import Any, Protocol
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from evidence.capture.network import Exchange
from evidence.redact import redact_headers, redact_url

DECODED_AWAY = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class Sink(Protocol):
    """Where WARC bytes go (a file, or a hashing file)."""

    def write(self, data: bytes) -> int: ...


class SHA256WARCWriter(WARCWriter):  # type: ignore[misc]
    """warcio writer with SHA-256 block and payload digests instead of SHA-1."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def _request_line(exchange: Exchange) -> str:
    parts = urlsplit(redact_url(exchange.url))
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    return f"{exchange.method} {target} HTTP/1.1"


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")


def write_warc(
    out: Sink,
    exchanges: Sequence[Exchange],
    *,
    filename: str,
    info: Mapping[str, Any],
    main_url: str,
    renderings: Mapping[str, str],
) -> int:
    """Write the capture WARC to ``out``; return the number of records written."""
    writer = SHA256WARCWriter(out, gzip=True, warc_version="1.1")
    records = 1
    writer.write_record(writer.create_warcinfo_record(filename, dict(info)))
    main_record_id = ""
    for exchange in exchanges:
        target = redact_url(exchange.url)
        response = _response_record(writer, exchange)
        request = writer.create_warc_record(
            target,
            "request",
            payload=BytesIO(exchange.post_data),
            length=len(exchange.post_data),
            http_headers=StatusAndHeaders(
                _request_line(exchange),
                redact_headers(h for h in exchange.request_headers if not h[0].startswith(":")),
                is_http_request=True,
            ),
        )
        writer.write_request_response_pair(request, response)
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        if exchange.url == main_url and not main_record_id:
            main_record_id = response_id
        removed = [h for h in exchange.response_headers if h[0].lower() in DECODED_AWAY]
        meta = _json(
            {
                "server_ip": exchange.server_ip,
                "server_port": exchange.server_port,
                "tls": exchange.security,
                "resource_type": exchange.resource_type,
                "original_transfer_headers": removed,
                "body_error": exchange.body_error,
                "received_at": exchange.at.isoformat(),
            }
        )
        writer.write_record(
            writer.create_warc_record(
                target,
                "metadata",
                payload=BytesIO(meta),
                length=len(meta),
                warc_content_type="application/json",
                warc_headers_dict={"WARC-Concurrent-To": response_id},
            )
        )
        records += 3
    summary = _json({"renderings_sha256": dict(renderings), "main_url": redact_url(main_url)})
    link = {"WARC-Refers-To": main_record_id} if main_record_id else {}
    writer.write_record(
        writer.create_warc_record(
            f"urn:rightswatch:renderings:{redact_url(main_url)}",
            "metadata",
            payload=BytesIO(summary),
            length=len(summary),
            warc_content_type="application/json",
            warc_headers_dict=link,
        )
    )
    return records + 1


def _response_record(writer: SHA256WARCWriter, exchange: Exchange) -> Any:
    headers = redact_headers(
        (name, value)
        for name, value in exchange.response_headers
        if name.lower() not in DECODED_AWAY and not name.startswith(":")
    )
    headers.append(("Content-Length", str(len(exchange.body))))
    warc_headers = {"WARC-Date": exchange.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    if exchange.server_ip:
        warc_headers["WARC-IP-Address"] = exchange.server_ip
    if exchange.body_error:
        warc_headers["WARC-Truncated"] = "unspecified"
    return writer.create_warc_record(
        redact_url(exchange.url),
        "response",
        payload=BytesIO(exchange.body),
        length=len(exchange.body),
        http_headers=StatusAndHeaders(
            f"{exchange.status} {exchange.status_text}".strip(), headers, protocol="HTTP/1.1"
        ),
        warc_headers_dict=warc_headers,
    )
