"""Crawler test support: the sandbox demo client's config, a crawl run, and an oracle.

The oracle asks the sandbox's own search APIs (not the crawler) which items the configured
terms reach, so "discovery recall" is measured against the platform's answers.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from crawler.crawl import CrawlReport, run_crawl
from crawler.plan import CrawlPlan
from evidence.models import Candidate, Platform
from evidence.store import Store
from rightswatch.config import WatchConfig, load_config
from rightswatch.crawling import plan_from_config
from sandbox.client import write_client
from tests.support.sandbox import SandboxServer

FAST_RETRIES = {"RW_RETRY_BACKOFF_BASE": 0.1, "RW_RETRY_BACKOFF_MAX": 2.0}


@dataclass
class CrawlSetup:
    server: SandboxServer
    config: WatchConfig
    database_url: str
    root: Path

    def plan(self, *platforms: str, **kw: Any) -> CrawlPlan:
        plan = plan_from_config(self.config, self.database_url, platforms=platforms, **kw)
        # Same behaviour, shorter waits: back-off from 0.1 s instead of 1 s.
        return dataclasses.replace(plan, settings={**plan.settings, **FAST_RETRIES})

    def crawl(self, *platforms: str, token: bool = True, **kw: Any) -> CrawlReport:
        """A crawl run; with ``token`` the child has CIVITAI_TOKEN (the sandbox takes any)."""
        saved = os.environ.get("CIVITAI_TOKEN")
        if token:
            os.environ["CIVITAI_TOKEN"] = "sandbox-token"
        else:
            os.environ.pop("CIVITAI_TOKEN", None)
        try:
            return run_crawl(self.plan(*platforms, **kw), timeout_s=240)
        finally:
            os.environ.pop("CIVITAI_TOKEN", None)
            if saved is not None:
                os.environ["CIVITAI_TOKEN"] = saved

    def candidates(self, platform: str | None = None) -> list[Candidate]:
        store = Store.open(self.database_url)
        try:
            with store.session() as session:
                query = (
                    select(Candidate)
                    .join(Platform, Candidate.platform_id == Platform.id)
                    .options(contains_eager(Candidate.platform))
                )
                if platform:
                    query = query.where(Platform.name == platform)
                return list(session.scalars(query))
        finally:
            store.dispose()


def make_setup(server: SandboxServer, root: Path, *, write: bool = True) -> CrawlSetup:
    if write:
        write_client(server.url, root)
    config = load_config(root / "watch.toml")
    return CrawlSetup(server, config, f"sqlite:///{root / 'case.db'}", root)


def _pages(
    first: str, next_of: Callable[[httpx.Response], str | None], headers: dict[str, str]
) -> Iterator[Any]:
    url: str | None = first
    while url:
        response = httpx.get(url, headers=headers, timeout=30)
        response.raise_for_status()
        yield response.json()
        url = next_of(response)


def _link_next(response: httpx.Response) -> str | None:
    match = re.search(r'<([^>]+)>;\s*rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


def reachable(server: SandboxServer, config: WatchConfig) -> set[tuple[str, str, str]]:
    """(platform, kind, id) of every item the platforms list to a caller with a token, asked
    from the sandbox directly: Civitai models of the four character types with mature ones,
    and their images at every browsing level; Hub repos by search and ``text-to-image``."""
    token = {"Authorization": "Bearer sandbox-token"}
    found: set[tuple[str, str, str]] = set()
    types = [("types", t) for t in ("LORA", "LoCon", "DoRA", "TextualInversion")]
    query = httpx.QueryParams([*types, ("nsfw", "true"), ("limit", 100)])
    for page in _pages(
        f"{server.url}/api/v1/models?{query}",
        lambda r: (r.json().get("metadata") or {}).get("nextPage"),
        token,
    ):
        found |= {("civitai", "model", str(m["id"])) for m in page["items"]}
    images = httpx.QueryParams({"browsingLevel": 31, "limit": 200})
    for page in _pages(
        f"{server.url}/api/v1/images?{images}",
        lambda r: (r.json().get("metadata") or {}).get("nextPage"),
        token,
    ):
        found |= {("civitai", "image", str(i["id"])) for i in page["items"]}
    terms = {a for c in config.characters for a in c.all_aliases()}
    for params in [{"search": t} for t in terms] + [{"filter": "text-to-image"}]:
        query = httpx.QueryParams({**params, "limit": 100})
        for page in _pages(f"{server.url}/api/models?{query}", _link_next, {}):
            found |= {("huggingface", "model", m["id"]) for m in page}
    return found


def expected_items(server: SandboxServer, config: WatchConfig) -> set[tuple[str, str, str]]:
    """Ground-truth items showing a character that the configured terms can reach."""
    reach = reachable(server, config)
    return {
        (row["platform"], row["kind"], str(row["external_id"]))
        for row in server.truth()
        if row["character"]
        and not row["removed"]
        and (row["platform"], row["kind"], str(row["external_id"])) in reach
    }
