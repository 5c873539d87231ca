"""Typed items the spiders yield and the pipelines pass along.

Values are frozen dataclasses; a pipeline that learns something (content digest, hashes,
verdicts) returns a copy made with :func:`dataclasses.replace`. Scrapy accepts dataclass
instances as items (itemadapter).

A candidate's content fingerprint (:func:`content_fingerprint`) is computed once, the first time
``item.fingerprint`` is read (by the spider's incremental check, dedupe or record; never for a
duplicate the spider drops), and travels with the item (``dataclasses.replace`` copies it).
The pipelines change only the fields below "Filled by the pipelines", which the fingerprint
does not cover; a spider that adds content to an item it already made (a model card's trigger
words) uses :func:`with_content`, which has it computed again.

Two content items, :class:`ImageCandidate` and :class:`ModelCandidate`, share
:class:`CandidateFields`. A response that could not become content (bot challenge, login wall,
broken data, exhausted retries) becomes a :class:`CrawlFailure`, which the record pipeline
stores as a reasoned failure and never as a candidate.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from evidence.kinds import CandidateKind
from matching import DecodedImage, Verdict


class Placement(enum.Enum):
    """Where a platform showed the item (the ruling on platform liability weighs this)."""

    HOME = "home"
    RECOMMENDED = "recommended"
    FEED = "feed"  # a gallery's infinite feed (newest, hot, models)
    SEARCH = "search"
    TAG = "tag"
    LISTING = "listing"
    MODEL_PAGE = "model_page"


class FailureStatus(enum.Enum):
    BLOCKED = "blocked"  # a bot challenge or login wall stood in the way
    FAILED = "failed"  # broken data, refused media, exhausted retries


@dataclass(frozen=True)
class LicenceFlags:
    """What the uploader declared about reuse, plus the platform's takedown state."""

    licence: str | None = None  # e.g. Hugging Face "openrail++"
    allow_no_credit: bool | None = None
    allow_commercial_use: tuple[str, ...] = ()
    allow_derivatives: bool | None = None
    allow_different_licence: bool | None = None
    mode: str | None = None  # Civitai "Archived" / "TakenDown"; None when healthy
    nsfw: bool | None = None
    poi: bool | None = None  # Civitai "person of interest" (real person)


@dataclass(frozen=True)
class GenerationResource:
    """A model named in an image's generation metadata (a LoRA, a checkpoint)."""

    name: str | None
    type: str | None
    weight: float | None = None
    model_version_id: int | None = None
    hash: str | None = None


@dataclass(frozen=True)
class ModelFile:
    name: str
    url: str | None
    size_bytes: int | None
    sha256: str | None  # lower-case hex
    hashes: Mapping[str, str] = field(default_factory=dict)
    primary: bool = False


@dataclass(frozen=True)
class SafetensorsHeader:
    """A safetensors header read with HTTP Range; raw bytes kept for evidence."""

    file_url: str
    header_length: int
    header_sha256: str
    metadata: Mapping[str, str]
    tensor_count: int


@dataclass(frozen=True)
class Discovery:
    """How the item was found: the listing, the term, the placement and rank."""

    listing_url: str
    term: str | None = None
    placement: Placement = Placement.LISTING
    rank: int | None = None  # 1-based position in the listing as shown


@dataclass(frozen=True)
class CandidateFields:
    platform: str
    external_id: str
    page_url: str
    media_urls: tuple[str, ...]
    title: str | None
    description: str | None
    tags: tuple[str, ...]
    creator: str | None
    created_at: datetime | None
    stats: Mapping[str, float]
    licence: LicenceFlags
    raw: Mapping[str, Any]
    fetched_at: datetime  # UTC
    warc_record_id: str | None  # WARC-Record-ID of the response the item came from
    discovery: Discovery
    # Filled by the pipelines:
    unchanged: bool = False  # dedupe: same fingerprint as stored, only last-seen moves
    media_sha256: str | None = None
    media_path: str | None = None
    media_error: str | None = None
    # the media's working frame from matching.decode_image (the match pipeline judges it; it is
    # not stored: the engine's hashes are recomputed from the stored file when needed)
    decoded: DecodedImage | None = field(default=None, compare=False, repr=False)
    verdicts: tuple[Verdict, ...] = ()  # the engine's verdict per matched character
    match_note: str | None = None  # why no verdict was computed, when none was
    # the content fingerprint once computed; read it as ``fingerprint`` (module docstring)
    _fingerprint: str = field(default="", compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        """The content fingerprint, computed on first use and kept (copies carry it)."""
        if not self._fingerprint:
            object.__setattr__(self, "_fingerprint", content_fingerprint(self))  # type: ignore[arg-type]
        return self._fingerprint


@dataclass(frozen=True)
class ImageCandidate(CandidateFields):
    kind: CandidateKind = CandidateKind.IMAGE
    prompt: str | None = None
    negative_prompt: str | None = None
    resources: tuple[GenerationResource, ...] = ()
    model_version_ids: tuple[int, ...] = ()
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class ModelCandidate(CandidateFields):
    kind: CandidateKind = CandidateKind.MODEL
    trigger_words: tuple[str, ...] = ()
    instance_prompt: str | None = None  # Hugging Face DreamBooth cardData.instance_prompt
    version_ids: tuple[str, ...] = ()
    base_model: str | None = None
    files: tuple[ModelFile, ...] = ()
    safetensors: tuple[SafetensorsHeader, ...] = ()
    header_errors: tuple[str, ...] = ()  # per-file reasons a header was refused


Candidate = ImageCandidate | ModelCandidate
C = TypeVar("C", ImageCandidate, ModelCandidate)


def content_fingerprint(item: Candidate) -> str:
    """SHA-256 of what the platform says about the item (titles, tags, trigger words, media,
    files, licence and takedown state), not of counters such as downloads or likes, which
    change on every visit."""
    doc: dict[str, object] = {
        "title": item.title,
        "description": item.description,
        "tags": sorted(item.tags),
        "creator": item.creator,
        "media": list(item.media_urls),
        "licence": [
            item.licence.licence,
            item.licence.allow_no_credit,
            list(item.licence.allow_commercial_use),
            item.licence.allow_derivatives,
            item.licence.allow_different_licence,
            item.licence.mode,
        ],
    }
    if isinstance(item, ModelCandidate):
        doc["trigger"] = list(item.trigger_words)
        doc["versions"] = list(item.version_ids)
        doc["files"] = sorted(f.sha256 or f.name for f in item.files)
    else:
        doc["prompt"] = item.prompt
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_content(item: C, **changes: Any) -> C:
    """``item`` with content fields changed, and its fingerprint computed again."""
    return dataclasses.replace(item, _fingerprint="", **changes)


__all__ = [
    "Candidate",
    "CandidateFields",
    "CandidateKind",
    "CrawlFailure",
    "Discovery",
    "FailureStatus",
    "GenerationResource",
    "ImageCandidate",
    "LicenceFlags",
    "ModelCandidate",
    "ModelFile",
    "Placement",
    "SafetensorsHeader",
    "content_fingerprint",
    "with_content",
]


@dataclass(frozen=True)
class CrawlFailure:
    """Something that was meant to become content and did not, with the reason."""

    platform: str
    url: str
    status: FailureStatus
    reason: str
    kind: CandidateKind | None = None
    external_id: str | None = None
    warc_record_id: str | None = None
