"""Media: fetch each new candidate's image (the image itself, or a model's cover) and check it.

The bytes are fetched through the crawl's own downloader, so the media response is archived
in the WARC, retried politely and capped (``RW_MEDIA_MAX_BYTES`` via ``download_maxsize``).
Before anything decodes them, the declared dimensions are checked against
``RW_MEDIA_MAX_PIXELS`` (decompression-bomb guard); then the image is fully loaded once to
prove it is whole. Accepted bytes are written to ``<output>/media/<sha256>`` (hashed while
written, named by digest). A refused or failed download keeps the candidate (its metadata is
content) with ``media_error`` saying why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import warnings
from pathlib import Path
from typing import Any, Self

import imagehash
from PIL import Image, UnidentifiedImageError
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from crawler.exceptions import MediaError
from crawler.items import Candidate, CrawlFailure

DAMAGE_RETRIES = 2


def check_image(url: str, data: bytes, max_pixels: int) -> dict[str, str]:
    """Quick perceptual hashes of a whole, decodable image within the pixel cap.

    Raises MediaError naming the URL for a bomb, a damaged image or something not an image.
    The hashes (pHash, dHash) are those the reference library keeps for references.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise MediaError(
                        url, f"{width}x{height} pixels exceeds the {max_pixels}-pixel cap"
                    )
                img.load()
                rgb = img.convert("RGB")
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(url, f"refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise MediaError(url, "not an image Pillow can read") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(url, f"damaged image: {exc}") from exc
    return {"phash": str(imagehash.phash(rgb)), "dhash": str(imagehash.dhash(rgb))}


def store_bytes(folder: Path, data: bytes) -> tuple[str, Path]:
    """Write ``data`` under its SHA-256 name (atomic rename); return digest and path."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = folder / f".incoming-{id(data)}"
    with tmp.open("wb") as fh:
        for start in range(0, len(data), 1 << 20):
            chunk = data[start : start + (1 << 20)]
            digest.update(chunk)
            fh.write(chunk)
    sha = digest.hexdigest()
    final = folder / sha
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

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, CrawlFailure) or item.unchanged or not item.media_urls:
            return item
        url = item.media_urls[0]
        try:
            data, hashes = await self._fetch_checked(url)
        except MediaError as exc:
            return self._failed(item, exc.reason)
        if self.folder is None:
            sha, path = hashlib.sha256(data).hexdigest(), None
        else:
            sha, stored = store_bytes(self.folder, data)
            path = str(stored)
        return dataclasses.replace(item, media_sha256=sha, media_path=path, hashes=hashes)

    async def _fetch_checked(self, url: str) -> tuple[bytes, dict[str, str]]:
        """Fetch and check; a cut transfer looks like a damaged image, so fetch it again."""
        attempt = 0
        while True:
            data = await self._fetch(url)
            try:
                return data, check_image(url, data, self.max_pixels)
            except MediaError as exc:
                if not exc.reason.startswith("damaged image") or attempt >= DAMAGE_RETRIES:
                    raise
                attempt += 1

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
