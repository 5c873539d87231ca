"""Crawl plans round-trip to the child, the incremental stop rule, and the host allowlist."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler.exceptions import CrawlConfigError
from crawler.items import Discovery, ImageCandidate, LicenceFlags
from crawler.middlewares.politeness import HostAllowlistMiddleware, HostRefused
from crawler.plan import (
    CrawlPlan,
    MatchOptions,
    PlatformTarget,
    Politeness,
    RobotsPolicy,
)
from crawler.settings import settings_for
from crawler.state import SeenIndex, StopRule
from evidence.models import PlatformKind


def _target(**kw: object) -> PlatformTarget:
    base = {"name": "civitai", "kind": PlatformKind.CIVITAI, "base_url": "https://civitai.com"}
    return PlatformTarget(search_terms=("hero", "英雄"), **{**base, **kw})  # type: ignore[arg-type]


def test_plan_round_trips_through_json(tmp_path: Path) -> None:
    plan = CrawlPlan(
        targets=(
            _target(politeness=Politeness(concurrency=3, robots=RobotsPolicy.IGNORE), max_items=5),
            _target(name="g", kind=PlatformKind.GALLERY, base_url="http://127.0.0.1:9/gallery"),
        ),
        database_url="sqlite:///x.db",
        output_dir=tmp_path,
        full=True,
        max_items=7,
        match=MatchOptions(client="c", flag=0.9, review=0.4, allowlists={"Hero": ("ok_user",)}),
        run_id=12,
    )
    assert CrawlPlan.from_json(plan.to_json()) == plan


def test_bad_plan_and_base_url_are_clear_errors() -> None:
    with pytest.raises(CrawlConfigError, match="malformed"):
        CrawlPlan.from_json('{"targets": [{}]}')
    with pytest.raises(CrawlConfigError, match="not an http"):
        _target(base_url="ftp://civitai.com")


def test_settings_follow_platform_politeness() -> None:
    polite = Politeness(concurrency=1, delay_s=2.5, robots=RobotsPolicy.IGNORE, retries=7)
    s = settings_for(_target(politeness=polite))
    assert s["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1 and s["DOWNLOAD_DELAY"] == 2.5
    assert s["ROBOTSTXT_OBEY"] is False and s["RW_RETRY_TIMES"] == 7
    assert s["REMOTE_CONTROL_ENABLED"] is False and s["TELNETCONSOLE_ENABLED"] is False
    gallery = settings_for(_target(kind=PlatformKind.GALLERY, base_url="http://127.0.0.1:1/g"))
    assert list(gallery["DOWNLOAD_HANDLERS"]) == ["http"]  # one scheme, one browser
    assert gallery["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == "/usr/bin/chromium"
    assert gallery["HTTPCACHE_ENABLED"] is False


def _image(external_id: str, prompt: str = "hero") -> ImageCandidate:
    return ImageCandidate(
        platform="civitai",
        external_id=external_id,
        page_url=f"https://civitai.com/images/{external_id}",
        media_urls=(f"https://image.civitai.com/x/{external_id}.jpeg",),
        title=None,
        description=None,
        tags=(),
        creator="u",
        created_at=None,
        stats={"likeCount": 1},
        licence=LicenceFlags(),
        raw={},
        fetched_at=datetime.now(UTC),
        warc_record_id=None,
        discovery=Discovery(listing_url="https://civitai.com/api/v1/images"),
        prompt=prompt,
    )


def test_seen_index_ignores_counters_but_sees_content_changes() -> None:
    seen = SeenIndex(platform="civitai")
    item = _image("1")
    seen.remember(item)
    assert seen.unchanged(dataclasses.replace(item, stats={"likeCount": 99}))
    assert not seen.unchanged(dataclasses.replace(item, prompt="hero, new prompt"))
    assert not seen.unchanged(_image("2"))


def test_stop_rule_needs_a_run_of_seen_items() -> None:
    rule = StopRule(3, enabled=True)
    for seen in (True, True, False, True, True):
        rule.observe(seen)
    assert not rule.stop
    rule.observe(True)
    assert rule.stop
    full = StopRule(1, enabled=False)
    full.observe(True)
    assert not full.stop  # --full never stops early


def _allowlist(base: str, hosts: list[str]) -> HostAllowlistMiddleware:
    crawler = get_crawler(Spider, {"RW_BASE_URL": base, "RW_ALLOWED_HOSTS": hosts})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return HostAllowlistMiddleware(crawler)


def test_host_allowlist() -> None:
    remote = _allowlist("https://civitai.com", ["image.civitai.com"])
    remote.process_request(Request("https://image.civitai.com/a.jpeg"))
    for url in ("https://evil.example/x", "http://127.0.0.1:8080/api", "http://10.0.0.1/"):
        with pytest.raises(HostRefused):
            remote.process_request(Request(url))
    local = _allowlist("http://127.0.0.1:5000", [])
    local.process_request(Request("http://127.0.0.1:5000/api/v1/models"))
    with pytest.raises(HostRefused, match="allowlist"):
        local.process_request(Request("http://localhost:5000/"))
