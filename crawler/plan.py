"""What to crawl: the crawl plan handed to the crawl child process.

The crawler does not read ``watch.toml`` (that is rightswatch's job). The caller builds a
:class:`CrawlPlan` from its configuration and :func:`crawler.crawl.run_crawl` serialises it to JSON
for the child process, so the plan round-trips through :meth:`CrawlPlan.to_json` /
:meth:`CrawlPlan.from_json`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from crawler.exceptions import CrawlConfigError
from crawler.gallery.adapter import GalleryAdapter
from evidence.models import PlatformKind

# Hosts a platform legitimately sends us to besides its base URL's host (media CDNs, file
# storage behind download redirects), as evidence.guard host entries and patterns.
# Civitai: images on image.civitai.com (platforms.md §1.8); files.downloadUrl on api.civitai.com
# (tests/fixtures/platforms/README.md); downloads 302 to signed URLs on
# Cloudflare R2 (civitai-delivery-worker-prod.<account>.r2.cloudflarestorage.com) or
# b2.civitai.com (real-platforms.md, Civitai 2). Hugging Face: resolve 302s to
# us.aws.cdn.hf.co/xet-bridge-us/... today, cas-bridge.xethub.hf.co and cdn-lfs*.huggingface.co
# before (real-platforms.md, Hugging Face 1; hub-docs PR #2647).
DEFAULT_EXTRA_HOSTS: Mapping[PlatformKind, tuple[str, ...]] = {
    PlatformKind.CIVITAI: (
        "api.civitai.com",
        "image.civitai.com",
        "*.r2.cloudflarestorage.com",
        "b2.civitai.com",
    ),
    PlatformKind.HUGGINGFACE: ("*.hf.co", "cdn-lfs*.huggingface.co"),
    PlatformKind.GALLERY: (),
}
# Civitai model types a character LoRA comes as (real-platforms.md, Civitai 4; /api/v1/enums)
DEFAULT_MODEL_TYPES = ("LORA", "LoCon", "DoRA", "TextualInversion")
# Hub base models whose adapters are listed with filter=base_model:adapter:<base> (§2.1)
DEFAULT_BASE_MODELS = (
    "stabilityai/stable-diffusion-xl-base-1.0",
    "runwayml/stable-diffusion-v1-5",
    "black-forest-labs/FLUX.1-dev",
)
ALL_BROWSING_LEVELS = 31  # PG | PG-13 | R | X | XXX (real-platforms.md, Civitai 3)

TOKEN_ENV: Mapping[PlatformKind, str] = {
    PlatformKind.CIVITAI: "CIVITAI_TOKEN",
    PlatformKind.HUGGINGFACE: "HF_TOKEN",
}


class RobotsPolicy(enum.Enum):
    """How robots.txt is treated for a platform's pages (logged at start; platforms.md §1.9)."""

    OBEY = "obey"
    IGNORE = "ignore"


class ApiAccess(enum.Enum):
    """What governs a platform's documented API (real-platforms.md, Civitai 1).

    ``API_TERMS``: the API is used as documented, with the operator's token, under the
    platform's API terms; robots.txt still governs pages. ``ROBOTS``: API requests obey
    robots.txt like pages (Civitai's disallows ``/api/*``, leaving nothing to crawl).
    """

    API_TERMS = "api-terms"
    ROBOTS = "robots"


# The default per platform kind: documented REST APIs follow their terms; galleries (pages).
DEFAULT_API_ACCESS: Mapping[PlatformKind, ApiAccess] = {
    PlatformKind.CIVITAI: ApiAccess.API_TERMS,
    PlatformKind.HUGGINGFACE: ApiAccess.API_TERMS,
    PlatformKind.GALLERY: ApiAccess.ROBOTS,
}


@dataclass(frozen=True)
class Politeness:
    concurrency: int = 2  # requests in flight per host
    delay_s: float = 1.0  # base delay between requests to a host (AutoThrottle adapts it)
    autothrottle: bool = True
    robots: RobotsPolicy = RobotsPolicy.OBEY
    max_response_bytes: int = 16 * 1024 * 1024
    timeout_s: float = 30.0
    retries: int = 4
    max_retry_after_s: float = 600.0  # a longer Retry-After/RateLimit reset gives up
    api_access: ApiAccess | None = None  # None: DEFAULT_API_ACCESS of the platform's kind


@dataclass(frozen=True)
class PlatformTarget:
    """One platform to crawl."""

    name: str  # as configured, e.g. "civitai"; stored on every candidate
    kind: PlatformKind
    base_url: str
    search_terms: tuple[str, ...]
    tags: tuple[str, ...] = ()
    politeness: Politeness = field(default_factory=Politeness)
    allowed_hosts: tuple[str, ...] = ()  # besides the base URL's host and DEFAULT_EXTRA_HOSTS
    max_items: int | None = None  # candidates per run on this platform
    recent_pages: int = 2  # pages of "recent images" (Civitai) / newest LoRAs (HF) per run
    model_types: tuple[str, ...] = DEFAULT_MODEL_TYPES  # Civitai ``types``
    browsing_level: int = ALL_BROWSING_LEVELS  # Civitai images, with a token
    recent_model_pages: int = 3  # Civitai: pages of the newest models per run
    version_image_pages: int = 1  # Civitai: image pages per flagged model version
    creator_image_pages: int = 1  # Civitai: image pages per flagged creator
    base_models: tuple[str, ...] = DEFAULT_BASE_MODELS  # Hugging Face adapter listings
    gallery: GalleryAdapter | None = None  # how a gallery site is read (kind "gallery")

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CrawlConfigError(
                f"platform {self.name!r}: base_url {self.base_url!r} is not an http(s) URL"
            )

    @property
    def base(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def api_access(self) -> ApiAccess:
        return self.politeness.api_access or DEFAULT_API_ACCESS[self.kind]

    def hosts(self) -> frozenset[str]:
        host = urlsplit(self.base_url).hostname or ""
        extra = DEFAULT_EXTRA_HOSTS.get(self.kind, ())
        media = self.gallery.media_hosts if self.gallery is not None else ()
        return frozenset(h.lower() for h in (host, *extra, *self.allowed_hosts, *media))


@dataclass(frozen=True)
class MatchOptions:
    """What the likeness engine needs from the configuration (the rest is in the store)."""

    client: str | None = None  # only this client's characters (all when None)
    flag: float = 0.85
    review: float = 0.5
    provenance_alone: Literal["ignore", "review"] = "ignore"  # matching.Thresholds
    allowlists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # character -> creators
    embedding_model: str | None = None  # an ONNX image encoder file (optional)
    embedding_normalisation: str = "imagenet"  # "clip" or "imagenet"
    embedding_innocent: str | None = None  # folder of images showing no character


@dataclass(frozen=True)
class CrawlPlan:
    """Everything one crawl run needs."""

    targets: tuple[PlatformTarget, ...]
    database_url: str
    output_dir: Path  # WARC, media and logs for the run go under it
    full: bool = False  # ignore the incremental stop rule
    max_items: int | None = None  # per platform
    operator: str = "unknown operator"
    match: MatchOptions = field(default_factory=MatchOptions)
    run_id: int | None = None  # the CrawlRun row the caller created
    settings: Mapping[str, Any] = field(default_factory=dict)  # extra Scrapy settings
    contact: str = ""  # the operator's contact, sent in the User-Agent

    def to_json(self) -> str:
        data = asdict(self)
        data["output_dir"] = str(self.output_dir)
        for target, original in zip(data["targets"], self.targets, strict=True):
            target["kind"] = target["kind"].value
            polite = target["politeness"]
            polite["robots"] = polite["robots"].value
            polite["api_access"] = polite["api_access"].value if polite["api_access"] else None
            gallery = original.gallery
            target["gallery"] = gallery.to_mapping() if gallery is not None else None
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CrawlPlan:
        try:
            data = json.loads(text)
            targets = tuple(_target(t) for t in data["targets"])
            match = data.get("match") or {}
            return cls(
                targets=targets,
                database_url=data["database_url"],
                output_dir=Path(data["output_dir"]),
                full=bool(data["full"]),
                max_items=data["max_items"],
                operator=data["operator"],
                match=MatchOptions(
                    client=match.get("client"),
                    flag=float(match.get("flag", 0.85)),
                    review=float(match.get("review", 0.5)),
                    allowlists={k: tuple(v) for k, v in match.get("allowlists", {}).items()},
                    embedding_model=match.get("embedding_model"),
                    embedding_normalisation=match.get("embedding_normalisation", "imagenet"),
                    embedding_innocent=match.get("embedding_innocent"),
                ),
                run_id=data.get("run_id"),
                settings=data.get("settings", {}),
                contact=str(data.get("contact", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CrawlConfigError(f"crawl plan is malformed: {exc}") from exc


def _target(data: Mapping[str, Any]) -> PlatformTarget:
    polite = dict(data["politeness"])
    polite["robots"] = RobotsPolicy(polite["robots"])
    access = polite.get("api_access")
    polite["api_access"] = ApiAccess(access) if access else None
    values = dict(data)
    values.update(kind=PlatformKind(data["kind"]), politeness=Politeness(**polite))
    gallery = data.get("gallery")
    values["gallery"] = (
        GalleryAdapter.from_mapping(gallery, f"{data['name']}.gallery") if gallery else None
    )
    for key in ("search_terms", "tags", "allowed_hosts", "model_types", "base_models"):
        if key in values:
            values[key] = tuple(values[key])
    return PlatformTarget(**values)
