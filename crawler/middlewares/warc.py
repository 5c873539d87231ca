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
``resource`` records of the rendered DOM, labelled as such. The records are made by the one
WARC writer, :class:`evidence.capture.warc.WarcWriter`, which the evidence capture uses too.
"""

from __future__ import annotations

import json
import platform as host_platform
import socket
from dataclasses import asdict
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Self

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler import __version__
from crawler.middlewares.robots import RobotsDecision, robots_decided
from evidence.capture.network import Exchange
from evidence.capture.warc import WarcWriter
from evidence.folders import private_folder

META_RECORD_ID = "warc_record_id"
META_WARC_FILE = "warc_file"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _pairs(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (k.decode("latin-1"), v.decode("latin-1")) for k, values in headers.items() for v in values
    )


class WarcFile:
    """One run's WARC file for one platform, written by the one WARC writer
    (:class:`evidence.capture.warc.WarcWriter`, which redacts credentials)."""

    def __init__(self, path: Path, info: dict[str, str]) -> None:
        private_folder(path.parent)
        self.path = path
        self._fh: IO[bytes] = path.open("wb")
        self._warc = WarcWriter(self._fh, path.name, info)

    @property
    def records(self) -> int:
        return self._warc.records

    def write_exchange(self, request: Request, response: Response) -> str:
        """A request/response pair, body as received; returns the response's WARC-Record-ID."""
        exchange = Exchange(
            url=response.url,
            method=request.method,
            request_headers=_pairs(request.headers),
            post_data=request.body,
            status=response.status,
            status_text=_phrase(response.status),
            http_version=response.protocol or "HTTP/1.1",
            response_headers=_pairs(response.headers),
            body=response.body,
            body_error="",
            server_ip=str(response.ip_address) if response.ip_address is not None else "",
            server_port=None,
            security=None,
            at=datetime.now(UTC),
            resource_type="scrapy",
            decoded=False,
        )
        return self._warc.exchange(exchange)

    def write_rendered(
        self, url: str, body: bytes, status: int, content_type: str = "text/html; charset=utf-8"
    ) -> str:
        """What a browser rendered or its scripts received, as a resource record.

        These bytes are the browser's view (decoded, after scripts ran), not wire bytes, hence
        ``resource`` and not ``response``.
        """
        return self._warc.resource(
            url,
            body,
            content_type=content_type,
            warc_headers={"WARC-Rendered-Status": str(status)},
        )

    def write_metadata(self, url: str, fields: dict[str, object]) -> str:
        """A ``metadata`` record (``application/json``) about ``url``: a decision, not bytes
        from the wire (the robots.txt policy applied to a host)."""
        return self._warc.metadata(url, fields)

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
