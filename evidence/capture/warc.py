"""The one WARC writer: WARC 1.1, gzip per record, SHA-256 digests (research/evidence.md §4.4).

Used by the evidence capture (:func:`write_warc`, a capture's ``traffic.warc.gz``) and by the
crawler (``crawler.middlewares.warc`` writes each run's WARC through :class:`WarcWriter`), so
both sides archive the same way:

- :meth:`WarcWriter.exchange`: a ``request`` and a ``response`` record (``WARC-IP-Address``
  when known). A body the browser decoded (:attr:`Exchange.decoded`) is stored without
  ``Content-Encoding``/``Transfer-Encoding`` and with its real ``Content-Length``, and a
  ``metadata`` record keeps the original transfer headers, the server address and TLS details
  (§4.5 option 1). Wire bytes keep their headers; ``Transfer-Encoding`` is stored as
  ``X-Archive-Orig-Transfer-Encoding`` since the body is already de-chunked.
- :meth:`WarcWriter.resource`: what a browser rendered or its scripts received (not wire
  bytes), e.g. the crawler's rendered DOM and XHR bodies.
- :meth:`WarcWriter.metadata`: a JSON metadata record, e.g. the capture's final record linking
  the renderings by SHA-256 to the main page's response (``WARC-Refers-To``, §3.4 item 2).

Credentials never reach a record: every URL goes through ``evidence.redact.redact_url`` (token
query values masked) and every header list through ``redact_headers`` (``Cookie``,
``Set-Cookie``, ``Authorization``, ``Proxy-Authorization`` removed), for the crawler's records
and the capture's alike.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from io import BytesIO
from typing import Any, Protocol
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from evidence.capture.network import Exchange
from evidence.redact import redact_headers, redact_mapping, redact_url

GZIP_LEVEL = 6
"""zlib's default: the same size as warcio's level 9 on these records, for less CPU (measured
in docs/performance.md, "Crawl cost by stage")."""
PRECOMPRESSED = frozenset(
    {
        "image/jpeg",
        "image/webp",
        "image/gif",
        "image/avif",
        "image/heic",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/zstd",
    }
)
DECODED_AWAY = frozenset({"content-encoding", "transfer-encoding", "content-length"})
TRANSFER_HEADERS = frozenset({"transfer-encoding"})


class Sink(Protocol):
    """Where WARC bytes go (a file, or a hashing file)."""

    def write(self, data: bytes) -> int: ...


class SHA256WARCWriter(WARCWriter):  # type: ignore[misc]
    """warcio's writer with SHA-256 block and payload digests instead of SHA-1, both computed in
    one pass over the payload, and each record compressed in one call (:func:`gzip_level`).

    warcio reads an in-memory payload once for its payload digest when the record is made and
    again for the block digest when it is written, and feeds the compressor piece by piece at
    level 9; the crawl writes two records per response, so that was most of its WARC cost
    (docs/performance.md). The bytes written are the same WARC: one gzip member per record,
    the same headers and the same digests, checked by ``warcio check`` in the tests.
    """

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")

    def ensure_digest(self, record: Any, block: bool = True, payload: bool = True) -> None:
        # The block digest (HTTP headers + payload) is taken in the pass that takes the payload
        # digest; the write then finds both set and reads the payload only to copy it.
        super().ensure_digest(record, block=True, payload=payload)

    def __init__(self, out: Sink, *, warc_version: str) -> None:
        # warcio's own gzip is off: each record is compressed here, whole, as one gzip member
        super().__init__(out, gzip=False, warc_version=warc_version)

    def _write_warc_record(self, out: Sink, record: Any) -> None:
        plain = BytesIO()
        super()._write_warc_record(plain, record)
        out.write(gzip_member(plain.getbuffer(), gzip_level(record)))


def gzip_member(data: bytes | memoryview, level: int) -> bytes:
    """``data`` as one gzip member (level 0: stored, CRC-checked all the same)."""
    deflate = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return deflate.compress(data) + deflate.flush()


def gzip_level(record: Any) -> int:
    """:data:`GZIP_LEVEL`, or 0 (stored: still a gzip member, with its CRC) for a body that is
    compressed already (JPEG, WebP, GIF..., or sent with a ``Content-Encoding``), where deflate
    spends the most CPU of any record (2-6 ms for a 100-250 KB photo) and saves 0-3 %. PNG is
    deflated again: screenshots and drawings still shrink by 15-30 %."""
    http = record.http_headers
    if http is not None and (http.get_header("Content-Encoding") or "identity") != "identity":
        return 0
    kind = (http.get_header("Content-Type") if http is not None else None) or record.content_type
    kind = (kind or "").split(";")[0].strip().lower()
    return 0 if kind in PRECOMPRESSED or kind.startswith(("video/", "audio/")) else GZIP_LEVEL


def archived_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers as archived: credentials (evidence.redact) and HTTP/2 pseudo-headers left out."""
    return redact_headers((name, value) for name, value in headers if not name.startswith(":"))


def _request_line(exchange: Exchange, url: str) -> str:
    """The request line of ``exchange`` for its (redacted) ``url``."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    return f"{exchange.method} {target} HTTP/1.1"


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")


class WarcWriter:
    """Records into one WARC stream, opened by its ``warcinfo`` record."""

    def __init__(self, out: Sink, filename: str, info: Mapping[str, Any]) -> None:
        self._writer = SHA256WARCWriter(out, warc_version="1.1")
        self._writer.write_record(self._writer.create_warcinfo_record(filename, dict(info)))
        self.records = 1

    def exchange(self, exchange: Exchange) -> str:
        """A request/response pair (plus metadata for a decoded body); the response's id."""
        writer = self._writer
        url = redact_url(exchange.url)  # once for both records
        response = self._response_record(exchange, url)
        request = writer.create_warc_record(
            url,
            "request",
            payload=BytesIO(exchange.post_data),
            length=len(exchange.post_data),
            http_headers=StatusAndHeaders(
                _request_line(exchange, url),
                archived_headers(exchange.request_headers),
                is_http_request=True,
            ),
        )
        writer.write_request_response_pair(request, response)
        self.records += 2
        response_id = str(response.rec_headers.get_header("WARC-Record-ID"))
        if exchange.decoded:
            removed = [h for h in exchange.response_headers if h[0].lower() in DECODED_AWAY]
            self.metadata(
                exchange.url,
                {
                    "server_ip": exchange.server_ip,
                    "server_port": exchange.server_port,
                    "tls": exchange.security,
                    "resource_type": exchange.resource_type,
                    "original_transfer_headers": removed,
                    "body_error": exchange.body_error,
                    "received_at": exchange.at.isoformat(),
                },
                concurrent_to=response_id,
            )
        return response_id

    def _response_record(self, exchange: Exchange, url: str) -> Any:
        stored = archived_headers(exchange.response_headers)
        if exchange.decoded:
            headers = [(n, v) for n, v in stored if n.lower() not in DECODED_AWAY]
            headers.append(("Content-Length", str(len(exchange.body))))
        else:
            headers = [
                (("X-Archive-Orig-" if n.lower() in TRANSFER_HEADERS else "") + n, v)
                for n, v in stored
            ]
        warc_headers = {"WARC-Date": exchange.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        if exchange.server_ip:
            warc_headers["WARC-IP-Address"] = exchange.server_ip
        if exchange.body_error:
            warc_headers["WARC-Truncated"] = "unspecified"
        status = f"{exchange.status} {exchange.status_text}".strip()
        return self._writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=StatusAndHeaders(status, headers, protocol=exchange.http_version),
            warc_headers_dict=warc_headers,
        )

    def resource(
        self,
        url: str,
        body: bytes,
        *,
        content_type: str,
        warc_headers: Mapping[str, str] | None = None,
    ) -> str:
        """A ``resource`` record (a browser's view, not wire bytes); returns its id."""
        record = self._writer.create_warc_record(
            redact_url(url),
            "resource",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type=content_type,
            warc_headers_dict=dict(warc_headers or {}),
        )
        self._writer.write_record(record)
        self.records += 1
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def metadata(
        self,
        url: str,
        payload: Mapping[str, Any],
        *,
        concurrent_to: str | None = None,
        refers_to: str | None = None,
    ) -> str:
        """A JSON ``metadata`` record; returns its id."""
        body = _json(redact_mapping(dict(payload)))
        headers: dict[str, str] = {}
        if concurrent_to:
            headers["WARC-Concurrent-To"] = concurrent_to
        if refers_to:
            headers["WARC-Refers-To"] = refers_to
        record = self._writer.create_warc_record(
            redact_url(url),
            "metadata",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type="application/json",
            warc_headers_dict=headers,
        )
        self._writer.write_record(record)
        self.records += 1
        return str(record.rec_headers.get_header("WARC-Record-ID"))


def write_warc(
    out: Sink,
    exchanges: Sequence[Exchange],
    *,
    filename: str,
    info: Mapping[str, Any],
    main_url: str,
    renderings: Mapping[str, str],
) -> int:
    """Write a capture's WARC to ``out``; return the number of records written."""
    warc = WarcWriter(out, filename, info)
    main_record_id = ""
    for exchange in exchanges:
        response_id = warc.exchange(exchange)
        if exchange.url == main_url and not main_record_id:
            main_record_id = response_id
    warc.metadata(
        f"urn:rightswatch:renderings:{main_url}",
        {"renderings_sha256": dict(renderings), "main_url": main_url},
        refers_to=main_record_id or None,
    )
    return warc.records
