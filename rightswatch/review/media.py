"""Where a finding's pictures are: stored media, capture screenshots, or the platform's URL.

Files are offered only when they lie below the evidence folder, as ``/files/<relative path>``
links; the download route checks the same confinement again when the link is followed.
Platform URLs are offered only when their scheme is http or https.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from evidence.models import Candidate, Capture, CaptureStatus
from evidence.paths import resolve_stored
from evidence.queries.review import CaptureRow, FindingDetail, QueueRow
from rightswatch.review.security import relative_to_root

# what evidence capture writes into a capture directory (evidence/capture/screenshot.py)
SCREENSHOTS = ("screenshot-viewport.png", "screenshot-full.png")
MEDIA_DIR = "media"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})
# where the crawler records the stored media file: Candidate.raw["crawl"]["media_path"]
# (crawler/pipelines/record.py), absolute or relative to the evidence folder
MEDIA_PATH_KEYS = ("media_path", "media_file")


def file_url(relative: str) -> str:
    return "/files/" + quote(relative)


def web_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None (no javascript:, data:, …)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


@dataclass(frozen=True)
class CaptureFiles:
    bundle: str | None  # the capture directory or bundle file, below the evidence root
    screenshots: tuple[str, ...]  # /files/ links
    media: tuple[str, ...]  # /files/ links


def capture_files(capture: Capture | CaptureRow, evidence_root: Path) -> CaptureFiles:
    """The screenshots and media a capture directory holds (none for a zip or a missing one)."""
    if not capture.bundle_path:
        return CaptureFiles(None, (), ())
    # stored relative to the evidence folder; older rows hold an absolute path, looked for
    # under the folder as it is now when the case folder was moved
    bundle = relative_to_root(evidence_root, resolve_stored(capture.bundle_path, evidence_root))
    if bundle is None:
        return CaptureFiles(None, (), ())
    folder = evidence_root / bundle
    if not folder.is_dir():
        return CaptureFiles(bundle, (), ())
    shots = tuple(file_url(f"{bundle}/{name}") for name in SCREENSHOTS if (folder / name).is_file())
    media_dir = folder / MEDIA_DIR
    media = (
        tuple(
            file_url(f"{bundle}/{MEDIA_DIR}/{p.name}")
            for p in sorted(media_dir.iterdir())
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if media_dir.is_dir()
        else ()
    )
    return CaptureFiles(bundle, shots, media)


def candidate_thumbnail(
    candidate: Candidate | QueueRow | FindingDetail,
    captures: Iterable[Capture | CaptureRow],
    evidence_root: Path,
) -> str | None:
    """Best stored picture of the candidate: crawled media, captured media, then a screenshot.

    Never the platform's own media URL: the reviewer's browser loads images only from the
    dashboard (``img-src 'self' data:``), so a platform cannot learn who reviews or when.
    """
    crawl = candidate.raw.get("crawl")
    for scope in (crawl if isinstance(crawl, dict) else {}, candidate.raw):
        for key in MEDIA_PATH_KEYS:
            value = scope.get(key)
            if isinstance(value, str):
                rel = relative_to_root(evidence_root, value)
                if rel is not None:
                    return file_url(rel)
    sealed = [
        c
        for c in captures
        if c.status in (CaptureStatus.SEALED, CaptureStatus.REMOVED) and c.bundle_path
    ]
    for capture in sorted(sealed, key=lambda c: c.started_at, reverse=True):
        files = capture_files(capture, evidence_root)
        if files.media:
            return files.media[0]
    for capture in sorted(sealed, key=lambda c: c.started_at, reverse=True):
        files = capture_files(capture, evidence_root)
        if files.screenshots:
            return files.screenshots[0]
    return None
