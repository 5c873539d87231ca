"""Media: fetch each new candidate's image (the image itself, or a model's cover) and check it.

The bytes are fetched through the crawl's own downloader, so the media response is archived
in the WARC, retried politely and capped (``RW_MEDIA_MAX_BYTES`` via ``download_maxsize``).
Then the product's one image decoder (:func:`matching.decode_image`) decodes it, once: the
declared dimensions are checked against ``RW_MEDIA_MAX_PIXELS`` and the decode's memory against
its ~100 MB budget before any pixel is decoded (decompression-bomb guard), a damaged file fails
here, and the decoded working frame (with the generation provenance its text chunks carry)
travels on the item to the match pipeline, which does not decode again. Accepted bytes are
written to ``<output>/media/<sha256>`` (named by digest; bytes already kept are not written
again), off the reactor thread with the decode. A refused or failed download keeps the
candidate (its metadata is content) with ``media_error`` saying why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import threading
from pathlib import Path
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from crawler.exceptions import MediaError
from crawler.items import Candidate, CrawlFailure
from matching import (
    DecodedImage,
    DecompressionBombError,
    ImageDecodeError,
    NotAnImageError,
    decode_image,
)

DAMAGE_RETRIES = 2


def check_image(url: str, data: bytes, max_pixels: int) -> DecodedImage:
    """Decode a whole image within the pixel and memory caps (checked before decoding).

    Raises MediaError naming the URL for a bomb, a damaged image or something not an image.
    """
    try:
        return decode_image(data, label=url, max_pixels=max_pixels)
    except DecompressionBombError as exc:
        raise MediaError(url, f"refused as a decompression bomb: {exc.message}") from exc
    except NotAnImageError as exc:
        raise MediaError(url, "not an image the decoder can read") from exc
    except ImageDecodeError as exc:
        raise MediaError(url, f"damaged image: {exc.message}") from exc


def store_bytes(folder: Path, data: bytes) -> tuple[str, Path]:
    """Keep ``data`` under its SHA-256 name in ``folder`` (an existing folder); return digest
    and path. The name is the digest of the bytes in hand, so a file already there holds them
    (written whole, by rename) and is not written again."""
    sha = hashlib.sha256(data).hexdigest()
    final = folder / sha
    if not final.exists():
        tmp = folder / f".incoming-{sha}-{threading.get_ident()}"
        tmp.write_bytes(data)
        tmp.replace(final)
    return sha, final


class MediaPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.max_bytes = settings.getint("RW_MEDIA_MAX_BYTES")
        self.max_pixels = settings.getint("RW_MEDIA_MAX_PIXELS")
        output = settings.get("RW_OUTPUT_DIR")
        self.folder = Path(output) / "media" if output else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, CrawlFailure) or item.unchanged or not item.media_urls:
            return item
        url = item.media_urls[0]
        try:
            decoded, sha, path = await self._fetch_checked(url)
        except MediaError as exc:
            return self._failed(item, exc.reason)
        return dataclasses.replace(item, media_sha256=sha, media_path=path, decoded=decoded)

    async def _fetch_checked(self, url: str) -> tuple[DecodedImage, str, str | None]:
        """Fetch, check and keep; a cut transfer looks like a damaged image, so fetch again."""
        attempt = 0
        while True:
            data = await self._fetch(url)
            try:
                # decoding and writing run off the reactor thread, so downloads go on
                return await asyncio.to_thread(self._check_and_keep, url, data)
            except MediaError as exc:
                if not exc.reason.startswith("damaged image") or attempt >= DAMAGE_RETRIES:
                    raise
                attempt += 1

    def _check_and_keep(self, url: str, data: bytes) -> tuple[DecodedImage, str, str | None]:
        """The decoded frame, the bytes' SHA-256 and where they are kept (accepted bytes only)."""
        decoded = check_image(url, data, self.max_pixels)
        if self.folder is None:
            return decoded, hashlib.sha256(data).hexdigest(), None
        sha, path = store_bytes(self.folder, data)
        return decoded, sha, str(path)

    async def _fetch(self, url: str) -> bytes:
        engine = self.crawler.engine
        assert engine is not None
        request = Request(url, meta={"download_maxsize": self.max_bytes}, dont_filter=True)
        try:
            response = await engine.download_async(request)
        except IgnoreRequest as exc:
            raise MediaError(url, getattr(exc, "reason", None) or str(exc)) from exc
        except Exception as exc:
            reason = request.meta.get("rw_give_up_reason") or f"{type(exc).__name__}: {exc}"
            raise MediaError(url, str(reason)) from exc
        if response.status != 200:
            reason = request.meta.get("rw_give_up_reason") or f"HTTP {response.status}"
            raise MediaError(url, str(reason))
        return bytes(response.body)

    def _failed(self, item: Candidate, reason: str) -> Candidate:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("rightswatch/media_failed")
        spider = self.crawler.spider
        if spider is not None:
            spider.logger.warning(
                "media of %s %s refused: %s", item.kind.value, item.external_id, reason
            )
        return dataclasses.replace(item, media_error=reason)
