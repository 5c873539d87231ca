"""Provenance: every response the crawl receives goes into the run's WARC 1.1 file.

The middleware sits at priority 960, past HttpCompressionMiddleware (590) and every other
built-in, so ``process_response`` sees each response first and with its body still encoded as
received (evidence.md §4.5). Redirects, errors and retried attempts are recorded too. Digests
are SHA-256 (``WARC-Block-Digest`` and ``WARC-Payload-Digest``, evidence.md §4.4); a
``warcinfo`` record opens the file with the tool versions, the effective settings and the
operator. The record id of each response is put in ``request.meta["warc_record_id"]`` so the
items parsed from it can cite it. ``evidence.redact`` keeps credentials out: ``Cookie``,
``Authorization`` and ``Proxy-Authorization`` headers are dropped, token query values masked.

Browser-rendered responses (scrapy-playwright) are not wire bytes: they are written as
``resource`` records of the rendered DOM, labelled as such.
"""

from __future__ import annotations

import json
import platform as host_platform
import socket
from dataclasses import asdict
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from io import BytesIO
from pathlib import Path
from typing import IO, Any, Self

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from crawler import __version__
from crawler.middlewares.robots import RobotsDecision, robots_decided
from evidence.folders import private_folder
from evidence.redact import redact_headers, redact_url

META_RECORD_ID = "warc_record_id"
META_WARC_FILE = "warc_file"
# Headers that describe the transfer, not the stored payload: kept under a prefixed name so
# that readers do not try to de-chunk an already de-chunked body.
_TRANSFER_HEADERS = {b"transfer-encoding"}


class SHA256WARCWriter(WARCWriter):  # type: ignore[misc]
    """warcio's writer with SHA-256 instead of its default SHA-1 digests."""

    @staticmethod
    def _create_digester() -> Any:
        return Digester("sha256")


class WarcFile:
    """One WARC 1.1 file, gzip per record, opened with a warcinfo record."""

    def __init__(self, path: Path, info: dict[str, str]) -> None:
        private_folder(path.parent)
        self.path = path
        self._fh: IO[bytes] = path.open("wb")
        self._writer = SHA256WARCWriter(self._fh, gzip=True, warc_version="1.1")
        self._writer.write_record(self._writer.create_warcinfo_record(path.name, info))
        self.records = 0

    def write_exchange(self, request: Request, response: Response) -> str:
        """A request/response pair; returns the response's WARC-Record-ID."""
        writer = self._writer
        headers = redact_headers(
            (
                ("X-Archive-Orig-" if k.lower() in _TRANSFER_HEADERS else "") + k.decode("latin-1"),
                v.decode("latin-1"),
            )
            for k, values in response.headers.items()
            for v in values
        )
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        protocol = response.protocol or "HTTP/1.1"
        http_headers = StatusAndHeaders(f"{response.status} {reason}", headers, protocol=protocol)
        warc_headers: dict[str, str] = {}
        if response.ip_address is not None:
            warc_headers["WARC-IP-Address"] = str(response.ip_address)
        resp = writer.create_warc_record(
            redact_url(response.url),
            "response",
            payload=BytesIO(response.body),
            length=len(response.body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        request_url = redact_url(request.url)
        path = request_url.split("/", 3)[3] if request_url.count("/") >= 3 else ""
        req_headers = redact_headers(  # never archive credentials
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, values in request.headers.items()
            for v in values
        )
        req = writer.create_warc_record(
            request_url,
            "request",
            payload=BytesIO(request.body),
            length=len(request.body),
            http_headers=StatusAndHeaders(
                f"{request.method} /{path} HTTP/1.1",
                req_headers,
                is_http_request=True,
            ),
        )
        writer.write_request_response_pair(req, resp)
        self.records += 2
        return str(resp.rec_headers.get_header("WARC-Record-ID"))

    def write_rendered(
        self, url: str, body: bytes, status: int, content_type: str = "text/html; charset=utf-8"
    ) -> str:
        """What a browser rendered or its scripts received, as a resource record.

        These bytes are the browser's view (decoded, after scripts ran), not wire bytes, hence
        ``resource`` and not ``response``.
        """
        record = self._writer.create_warc_record(
            redact_url(url),
            "resource",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Rendered-Status": str(status)},
        )
        self._writer.write_record(record)
        self.records += 1
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def write_metadata(self, url: str, fields: dict[str, object]) -> str:
        """A ``metadata`` record (``application/json``) about ``url``: a decision, not bytes
        from the wire (the robots.txt policy applied to a host)."""
        body = json.dumps(fields, sort_keys=True, default=str).encode("utf-8")
        record = self._writer.create_warc_record(
            url,
            "metadata",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type="application/json",
        )
        self._writer.write_record(record)
        self.records += 1
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def close(self) -> None:
        self._fh.close()


def warc_path(directory: str | Path, run_id: str, spider_name: str) -> Path:
    """Where a run's WARC for one platform is written."""
    return Path(directory) / f"run-{run_id}-{spider_name}.warc.gz"


def warcinfo(crawler: Crawler, platform: str, run_id: str) -> dict[str, str]:
    settings = crawler.settings
    keys = (
        "USER_AGENT",
        "CONCURRENT_REQUESTS_PER_DOMAIN",
        "DOWNLOAD_DELAY",
        "AUTOTHROTTLE_ENABLED",
        "RW_API_ACCESS",
        "RW_PAGE_ROBOTS",
        "DOWNLOAD_MAXSIZE",
        "DOWNLOAD_TIMEOUT",
        "RW_RETRY_TIMES",
    )
    return {
        "software": (
            f"rightswatch-crawler/{__version__} Scrapy/{scrapy.__version__} "
            f"warcio/{metadata.version('warcio')}"
        ),
        "format": "WARC File Format 1.1",
        "operator": str(settings.get("RW_OPERATOR") or "unknown operator"),
        "hostname": socket.gethostname(),
        "os": host_platform.platform(),
        "platform": platform,
        "crawl-run": run_id,
        "started": datetime.now(UTC).isoformat(),
        "settings": json.dumps({k: settings.get(k) for k in keys}, sort_keys=True, default=str),
    }


class WarcRecorderMiddleware:
    """Downloader middleware writing every received response to the run's WARC."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.warc: WarcFile | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(mw.robots_decided, signal=robots_decided)
        return mw

    def robots_decided(self, decision: RobotsDecision) -> None:
        """The robots.txt policy applied to a host, next to the robots.txt response itself."""
        if self.warc is not None:
            fields: dict[str, object] = {"rightswatch-robots-decision": asdict(decision)}
            self.warc.write_metadata(decision.robots_url, fields)

    def spider_opened(self, spider: scrapy.Spider) -> None:
        directory = self.crawler.settings.get("RW_WARC_DIR")
        if not directory:
            return
        run_id = str(self.crawler.settings.get("RW_RUN_ID") or "adhoc")
        path = warc_path(directory, run_id, spider.name)
        self.warc = WarcFile(path, warcinfo(self.crawler, spider.name, run_id))
        spider.logger.info("writing WARC to %s", path)

    def spider_closed(self, spider: scrapy.Spider) -> None:
        if self.warc is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("warc/records", self.warc.records)
            self.crawler.stats.set_value("warc/file", str(self.warc.path))
            self.warc.close()

    def process_response(self, request: Request, response: Response) -> Response:
        if self.warc is None:
            return response
        if "playwright_page" in request.meta or request.meta.get("playwright"):
            record_id = self.warc.write_rendered(response.url, response.body, response.status)
        else:
            record_id = self.warc.write_exchange(request, response)
        request.meta[META_RECORD_ID] = record_id
        request.meta[META_WARC_FILE] = self.warc.path.name
        return response
