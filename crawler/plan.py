"""What to crawl: the crawl plan handed to the crawl child process.

The crawler does not read ``watch.toml`` (that is rightswatch's job). The caller builds a
:class:`CrawlPlan` from its configuration and :func:`crawler.run.run_crawl` serialises it to JSON
for the child process, so the plan round-trips through :meth:`CrawlPlan.to_json` /
:meth:`CrawlPlan.from_json`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.exceptions import CrawlConfigError
from crawler.gallery.adapter import GalleryAdapter
from evidence.models import PlatformKind

# Hosts a platform legitimately sends us to besides its base URL's host (media CDNs, file
# storage behind download redirects). platforms.md §1.8 (image.civitai.com) and §2.3 (HF CDN).
DEFAULT_EXTRA_HOSTS: Mapping[PlatformKind, tuple[str, ...]] = {
    PlatformKind.CIVITAI: ("image.civitai.com",),
    PlatformKind.HUGGINGFACE: (
        "cdn-lfs.huggingface.co",
        "cdn-lfs-us-1.hf.co",
        "cas-bridge.xethub.hf.co",
    ),
    PlatformKind.GALLERY: (),
}

TOKEN_ENV: Mapping[PlatformKind, str] = {
    PlatformKind.CIVITAI: "CIVITAI_TOKEN",
    PlatformKind.HUGGINGFACE: "HF_TOKEN",
}


class RobotsPolicy(enum.Enum):
    """How robots.txt is treated for one platform (logged at start; platforms.md §1.9)."""

    OBEY = "obey"
    IGNORE = "ignore"


@dataclass(frozen=True)
class Politeness:
    concurrency: int = 2  # requests in flight per host
    delay_s: float = 1.0  # base delay between requests to a host (AutoThrottle adapts it)
    autothrottle: bool = True
    robots: RobotsPolicy = RobotsPolicy.OBEY
    max_response_bytes: int = 16 * 1024 * 1024
    timeout_s: float = 30.0
    retries: int = 4
    max_retry_after_s: float = 120.0  # a longer Retry-After gives up on the request


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
    recent_pages: int = 2  # pages of "recent images" read per run (Civitai)
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
    allowlists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # character -> creators


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

    def to_json(self) -> str:
        data = asdict(self)
        data["output_dir"] = str(self.output_dir)
        for target, original in zip(data["targets"], self.targets, strict=True):
            target["kind"] = target["kind"].value
            target["politeness"]["robots"] = target["politeness"]["robots"].value
            gallery = original.gallery
            target["gallery"] = gallery.to_mapping() if gallery is not None else None
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CrawlPlan:
        try:
            data = json.loads(text)
            targets = tuple(
                PlatformTarget(
                    name=t["name"],
                    kind=PlatformKind(t["kind"]),
                    base_url=t["base_url"],
                    search_terms=tuple(t["search_terms"]),
                    tags=tuple(t["tags"]),
                    politeness=Politeness(
                        **{**t["politeness"], "robots": RobotsPolicy(t["politeness"]["robots"])}
                    ),
                    allowed_hosts=tuple(t["allowed_hosts"]),
                    max_items=t.get("max_items"),
                    recent_pages=t["recent_pages"],
                    gallery=GalleryAdapter.from_mapping(t["gallery"], f"{t['name']}.gallery")
                    if t.get("gallery")
                    else None,
                )
                for t in data["targets"]
            )
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
                ),
                run_id=data.get("run_id"),
                settings=data.get("settings", {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CrawlConfigError(f"crawl plan is malformed: {exc}") from exc
