"""Reading safetensors headers with HTTP Range, never the weights (platforms.md §3.2).

For each ``.safetensors`` file of a model (at most :data:`MAX_FILES`):

1. one request to the file's URL with ``Range: bytes=0-65535``. Download URLs redirect to a
   signed, short-lived URL on a storage/CDN host (Civitai's ``/api/download/models/{id}``,
   real-platforms.md Civitai 2; Hugging Face's ``resolve``, Hugging Face 1): the redirect is
   followed once, through the fetch guard, and the Range read goes to the signed URL. A
   Civitai download call is logged and mints a new URL each time, so it is made once per file;
2. the 8 length bytes are checked against the cap of the one parser (:mod:`matching.lora`);
   when the first read already holds the whole header (a LoRA's usually does) it is parsed;
3. only a longer header gets a second Range read, of the missing bytes, on the already
   resolved URL (never through the download endpoint again).

Each request carries ``download_maxsize``, so a server that ignores Range and starts sending
the whole file is cut off. A refused or failed header is kept as a reason on the item
(``header_errors``); the model itself is always yielded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.exceptions import SafetensorsHeaderError
from crawler.items import ModelCandidate, ModelFile, SafetensorsHeader
from crawler.middlewares.politeness import HostRefused
from crawler.parsers.safetensors import FIRST_READ, PREFIX_BYTES, header_length, parse_header
from crawler.spiders import PlatformSpider

MAX_FILES = 2
SLACK = 64 * 1024  # what a server ignoring Range may send before it is cut off
SHORT_READ_RETRIES = 2  # a 206 shorter than asked (a cut transfer) is asked again


@dataclasses.dataclass
class _HeaderJob:
    item: ModelCandidate
    files: list[ModelFile]
    headers: list[SafetensorsHeader] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


class LoraSpider(PlatformSpider):
    """A platform spider that can read safetensors headers of the models it finds."""

    def with_headers(self, item: ModelCandidate) -> Iterator[Any]:
        """Yield the item now (no safetensors files) or the first header request."""
        files = [f for f in item.files if f.url and f.name.lower().endswith(".safetensors")]
        if not files:
            yield item
            return
        yield from self._next(_HeaderJob(item=item, files=files[:MAX_FILES]))

    def _next(self, job: _HeaderJob) -> Iterator[Any]:
        if not job.files:
            yield dataclasses.replace(
                job.item, safetensors=tuple(job.headers), header_errors=tuple(job.errors)
            )
            return
        current = job.files[0]
        assert current.url is not None
        yield scrapy.Request(
            current.url,
            headers={**self.headers(), "Range": f"bytes=0-{FIRST_READ - 1}"},
            callback=self._on_first,
            errback=self._on_error,
            dont_filter=True,
            meta={
                "rw_job": job,
                "rw_access": "api",
                "download_maxsize": FIRST_READ + SLACK,
                "rw_no_wall_check": True,
            },
        )

    def _done_with_file(self, job: _HeaderJob, error: str | None) -> Iterator[Any]:
        name = job.files.pop(0).name
        if error is not None:
            job.errors.append(f"{name}: {error}")
        yield from self._next(job)

    def _short_read(self, response: Response, wanted: int) -> scrapy.Request | None:
        """A retry when a 206 brought fewer bytes than asked (a cut transfer), twice at most."""
        tries = int(response.meta.get("rw_short_tries", 0))
        if response.status != 206 or len(response.body) >= wanted or tries >= SHORT_READ_RETRIES:
            return None
        meta = {**response.meta, "rw_short_tries": tries + 1}
        return response.request.replace(  # type: ignore[union-attr]
            url=response.url, meta=meta, dont_filter=True
        )

    def _auth_for(self, url: str) -> dict[str, str]:
        """The token goes to the platform's own host only, never to a CDN."""
        same = urlsplit(url).netloc == urlsplit(self.target.base).netloc
        return self.headers() if same else {}

    def _on_first(self, response: Response) -> Iterator[Any]:
        job: _HeaderJob = response.meta["rw_job"]
        url = response.url  # the resolved (signed) URL after a redirect
        if response.status not in (200, 206):
            yield from self._done_with_file(job, f"header not read (HTTP {response.status})")
            return
        body = response.body
        if response.status == 206 and len(body) < PREFIX_BYTES:
            retry = self._short_read(response, PREFIX_BYTES)
            if retry is not None:
                yield retry
                return
        try:
            length = header_length(url, body[:PREFIX_BYTES])
            end = PREFIX_BYTES + length
            if len(body) >= end:  # the first read held the whole header
                job.headers.append(parse_header(url, length, body[PREFIX_BYTES:end]))
                yield from self._done_with_file(job, None)
                return
        except SafetensorsHeaderError as exc:
            yield from self._done_with_file(job, exc.reason)
            return
        have = body if response.status == 206 else body[:FIRST_READ]
        yield scrapy.Request(
            url,
            headers={**self._auth_for(url), "Range": f"bytes={len(have)}-{end - 1}"},
            callback=self._on_rest,
            errback=self._on_error,
            dont_filter=True,
            meta={
                "rw_job": job,
                "rw_access": "api",
                "rw_have": have,
                "rw_length": length,
                "download_maxsize": end + SLACK,
                "rw_no_wall_check": True,
                "dont_redirect": True,
            },
        )

    def _on_rest(self, response: Response) -> Iterator[Any]:
        job: _HeaderJob = response.meta["rw_job"]
        have: bytes = response.meta["rw_have"]
        length: int = response.meta["rw_length"]
        end = PREFIX_BYTES + length
        if response.status == 206:
            retry = self._short_read(response, end - len(have))
            if retry is not None:
                yield retry
                return
            data = have + response.body
        elif response.status == 200:  # Range ignored: the body starts at byte 0
            data = response.body
        else:
            yield from self._done_with_file(job, f"header not read (HTTP {response.status})")
            return
        try:
            job.headers.append(parse_header(response.url, length, data[PREFIX_BYTES:end]))
        except SafetensorsHeaderError as exc:
            yield from self._done_with_file(job, exc.reason)
            return
        yield from self._done_with_file(job, None)

    def _on_error(self, failure: Failure) -> Iterator[Any]:
        job: _HeaderJob = failure.request.meta["rw_job"]  # type: ignore[attr-defined]
        exc = failure.value
        response = getattr(exc, "response", None)
        reason = getattr(exc, "reason", None)
        if isinstance(exc, HostRefused):  # a configuration problem: loud, the model kept
            self.note(f"a file download was redirected to a host that is refused: {exc.reason}")
            yield self.failure(exc.url, f"redirect refused: {exc.reason}")
        if response is not None:
            reason = f"HTTP {response.status}"
            if response.status == 403 and "rw_have" in failure.request.meta:  # type: ignore[attr-defined]
                reason += (
                    ": the signed URL expired or was refused between the two reads; it is not "
                    "resolved again (one download call per file)"
                )
        elif reason is None:
            reason = f"{type(exc).__name__}: {exc}"
        yield from self._done_with_file(job, f"header not read ({reason})")
