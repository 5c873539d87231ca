"""From the watch configuration to a crawl plan (the crawler never reads watch.toml).

Search terms per platform are every character's name and aliases, then the platform's own
``search_terms``; politeness, hosts and limits come from the platform's table; thresholds and
licensed creators go to the likeness engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from crawler.gallery.adapter import GalleryAdapter
from crawler.identity import contact_is_set
from crawler.plan import (
    DEFAULT_BASE_MODELS,
    DEFAULT_MODEL_TYPES,
    ApiAccess,
    CrawlPlan,
    MatchOptions,
    PlatformTarget,
    Politeness,
    RobotsPolicy,
)
from evidence.guard import is_local_address
from evidence.models import PlatformKind
from rightswatch.config import PlatformConfig, WatchConfig
from rightswatch.errors import ConfigError


def _adapter(config: WatchConfig, platform: PlatformConfig) -> GalleryAdapter | None:
    """The platform's gallery adapter, its login session path made absolute and checked."""
    if platform.kind is not PlatformKind.GALLERY:
        return None
    adapter = platform.adapter()
    if adapter.storage_state is None:
        return adapter
    path = config.resolve(Path(adapter.storage_state))
    if not path.is_file():
        raise ConfigError(
            f"platforms[{platform.name}].gallery.storage_state: no such file: {path} "
            "(export it from a logged-in browser with Playwright's storage_state)"
        )
    return dataclasses.replace(adapter, storage_state=str(path))


def _target(config: WatchConfig, platform: PlatformConfig) -> PlatformTarget:
    terms: dict[str, None] = {}
    for character in config.characters:
        for alias in character.all_aliases():
            terms.setdefault(alias, None)
    for term in platform.search_terms:
        terms.setdefault(term, None)
    polite = platform.politeness
    return PlatformTarget(
        name=platform.name,
        kind=platform.kind,
        base_url=platform.url,
        search_terms=tuple(terms),
        tags=tuple(platform.tags),
        politeness=Politeness(
            concurrency=polite.concurrency,
            delay_s=polite.delay_seconds,
            autothrottle=polite.autothrottle,
            robots=RobotsPolicy.OBEY if polite.obey_robots_txt else RobotsPolicy.IGNORE,
            timeout_s=polite.timeout_seconds,
            retries=polite.retries,
            max_retry_after_s=polite.max_pause_seconds,
            api_access=ApiAccess(polite.api_access) if polite.api_access else None,
        ),
        allowed_hosts=tuple(platform.allowed_hosts),
        max_items=platform.max_items,
        gallery=_adapter(config, platform),
        recent_pages=platform.recent_pages,
        model_types=tuple(platform.model_types or DEFAULT_MODEL_TYPES),
        browsing_level=platform.browsing_level,
        recent_model_pages=platform.recent_model_pages,
        version_image_pages=platform.version_image_pages,
        creator_image_pages=platform.creator_image_pages,
        base_models=tuple(
            DEFAULT_BASE_MODELS if platform.base_models is None else platform.base_models
        ),
    )


def check_contact(config: WatchConfig, targets: Sequence[PlatformTarget]) -> None:
    """A crawl of a real (non-local) site needs ``[crawler] contact`` (sent in the UA)."""
    if contact_is_set(config.crawler.contact):
        return
    real = [t.name for t in targets if not is_local_address(urlsplit(t.base_url).hostname or "")]
    if real:
        raise ConfigError(
            f"[crawler] contact is not set: a crawl of {', '.join(real)} sends it in every "
            "request's User-Agent; set it in watch.toml to your name and e-mail or URL"
        )


def plan_from_config(
    config: WatchConfig,
    database_url: str,
    *,
    platforms: Sequence[str] = (),
    full: bool = False,
    max_items: int | None = None,
) -> CrawlPlan:
    """The crawl plan for ``platforms`` (all enabled ones when empty)."""
    chosen = (
        [config.platform(name) for name in platforms]
        if platforms
        else [p for p in config.platforms if p.enabled]
    )
    targets = tuple(_target(config, p) for p in chosen)
    check_contact(config, targets)
    return CrawlPlan(
        targets=targets,
        contact=config.crawler.contact,
        database_url=database_url,
        output_dir=config.resolve(config.evidence.folder) / "crawls",
        full=full,
        max_items=max_items,
        operator=config.evidence.operator,
        match=match_options(config),
    )


def match_options(config: WatchConfig) -> MatchOptions:
    """What the likeness engine takes from watch.toml (crawl and scan alike)."""
    m = config.matching
    return MatchOptions(
        client=config.client.name,
        flag=config.thresholds.flag,
        review=config.thresholds.review,
        provenance_alone=m.provenance_alone,
        allowlists={c.name: tuple(c.allowlist) for c in config.characters if c.allowlist},
        embedding_model=str(config.resolve(m.embedding_model)) if m.embedding_model else None,
        embedding_normalisation=m.embedding_normalisation,
        embedding_innocent=str(config.resolve(m.embedding_innocent))
        if m.embedding_innocent
        else None,
    )
