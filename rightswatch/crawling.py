"""From the watch configuration to a crawl plan (the crawler never reads watch.toml).

Search terms per platform are every character's name and aliases, then the platform's own
``search_terms``; politeness, hosts and limits come from the platform's table; thresholds and
licensed creators go to the likeness engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from crawler.gallery.adapter import GalleryAdapter
from crawler.plan import CrawlPlan, MatchOptions, PlatformTarget, Politeness, RobotsPolicy
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
        ),
        allowed_hosts=tuple(platform.allowed_hosts),
        max_items=platform.max_items,
        gallery=_adapter(config, platform),
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
    return CrawlPlan(
        targets=tuple(_target(config, p) for p in chosen),
        database_url=database_url,
        output_dir=config.resolve(config.evidence.folder) / "crawls",
        full=full,
        max_items=max_items,
        operator=config.evidence.operator,
        match=MatchOptions(
            client=config.client.name,
            flag=config.thresholds.flag,
            review=config.thresholds.review,
            allowlists={c.name: tuple(c.allowlist) for c in config.characters if c.allowlist},
        ),
    )
