"""Reading safetensors headers with HTTP Range, never the weights (platforms.md §3.2).

For each ``.safetensors`` file of a model (at most :data:`MAX_FILES`): ask for bytes 0-7, check
the announced header length against the cap, then ask for exactly bytes ``8..8+N-1``. Each
request carries ``download_maxsize``, so a server that ignores Range and starts sending the
whole file is cut off. A refused or failed header is kept as a reason on the item
(``header_errors``); the model itself is always yielded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.exceptions import SafetensorsHeaderError
from crawler.items import ModelCandidate, ModelFile, SafetensorsHeader
from crawler.parsers.safetensors import PREFIX_BYTES, header_length, parse_header
from crawler.spiders import PlatformSpider

MAX_FILES = 2
PREFIX_SLACK = 64 * 1024
SHORT_READ_RETRIES = 2  # a server answering 200 may send this much before we cut it off


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
            headers={**self.headers(), "Range": f"bytes=0-{PREFIX_BYTES - 1}"},
            callback=self._on_prefix,
            errback=self._on_error,
            dont_filter=True,
            meta={"rw_job": job, "download_maxsize": PREFIX_SLACK, "rw_no_wall_check": True},
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
        return response.request.replace(meta=meta, dont_filter=True)  # type: ignore[union-attr]

    def _on_prefix(self, response: Response) -> Iterator[Any]:
        job: _HeaderJob = response.meta["rw_job"]
        url = response.url
        retry = self._short_read(response, PREFIX_BYTES)
        if retry is not None:
            yield retry
            return
        try:
            length = header_length(url, response.body[:PREFIX_BYTES])
            if len(response.body) >= PREFIX_BYTES + length:  # the server sent it all at once
                job.headers.append(
                    parse_header(url, length, response.body[PREFIX_BYTES : PREFIX_BYTES + length])
                )
                yield from self._done_with_file(job, None)
                return
        except SafetensorsHeaderError as exc:
            yield from self._done_with_file(job, exc.reason)
            return
        yield scrapy.Request(
            url,
            headers={
                **self.headers(),
                "Range": f"bytes={PREFIX_BYTES}-{PREFIX_BYTES + length - 1}",
            },
            callback=self._on_header,
            errback=self._on_error,
            dont_filter=True,
            meta={
                "rw_job": job,
                "rw_length": length,
                "download_maxsize": PREFIX_BYTES + length + PREFIX_SLACK,
                "rw_no_wall_check": True,
            },
        )

    def _on_header(self, response: Response) -> Iterator[Any]:
        job: _HeaderJob = response.meta["rw_job"]
        length: int = response.meta["rw_length"]
        retry = self._short_read(response, length)
        if retry is not None:
            yield retry
            return
        body = response.body
        if response.status == 200:  # Range ignored: the body starts at byte 0
            body = body[PREFIX_BYTES : PREFIX_BYTES + length]
        try:
            job.headers.append(parse_header(response.url, length, body))
        except SafetensorsHeaderError as exc:
            yield from self._done_with_file(job, exc.reason)
            return
        yield from self._done_with_file(job, None)

    def _on_error(self, failure: Failure) -> Iterator[Any]:
        job: _HeaderJob = failure.request.meta["rw_job"]  # type: ignore[attr-defined]
        exc = failure.value
        response = getattr(exc, "response", None)
        reason = (
            f"HTTP {response.status}" if response is not None else f"{type(exc).__name__}: {exc}"
        )
        yield from self._done_with_file(job, f"header not read ({reason})")
