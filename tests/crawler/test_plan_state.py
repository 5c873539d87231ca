"""Crawl plans round-trip to the child, the incremental stop rule, and the host allowlist."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.exceptions import CrawlConfigError
from crawler.items import (
    Discovery,
    ImageCandidate,
    LicenceFlags,
    content_fingerprint,
    with_content,
)
from crawler.middlewares.politeness import (
    FetchGuardMiddleware,
    FetchGuardResponseMiddleware,
    HostRefused,
)
from crawler.plan import (
    CrawlPlan,
    MatchOptions,
    PlatformTarget,
    Politeness,
    RobotsPolicy,
)
from crawler.settings import BASE, settings_for
from crawler.state import SeenIndex, StopRule
from evidence.kinds import PlatformKind


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
    handlers = gallery["DOWNLOAD_HANDLERS"]
    assert [k for k, v in handlers.items() if v] == ["http"]  # one scheme, one browser
    for settings in (s, gallery):  # no file, data, ftp or s3 fetches, ever
        assert all(settings["DOWNLOAD_HANDLERS"][k] is None for k in ("file", "data", "ftp", "s3"))
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
    item = _image("1")
    seen = SeenIndex(platform="civitai", entries={("image", "1"): item.fingerprint})
    assert seen.unchanged(dataclasses.replace(item, stats={"likeCount": 99}))
    assert not seen.unchanged(with_content(item, prompt="hero, new prompt"))
    assert not seen.unchanged(_image("2"))
    assert seen.unchanged(_image("1"))  # made again from the same content


def test_the_fingerprint_is_made_once_and_travels_with_the_item() -> None:
    item = _image("1")
    assert item.fingerprint == content_fingerprint(item)
    piped = dataclasses.replace(item, media_sha256="ab" * 32, match_note="n")
    assert piped.fingerprint == item.fingerprint  # carried, not computed again
    changed = with_content(item, prompt="hero, new prompt")
    assert changed.fingerprint == content_fingerprint(changed) != item.fingerprint


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


def _guard(base: str, hosts: list[str]) -> FetchGuardMiddleware:
    crawler = get_crawler(Spider, {"RW_BASE_URL": base, "RW_ALLOWED_HOSTS": hosts})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    mw = FetchGuardMiddleware(crawler)

    async def resolve(host: str, port: int) -> tuple[str, ...]:
        # A fixed DNS: a public name that resolves to loopback is the rebinding trick.
        return {"rebind.civitai.com": ("127.0.0.1",)}.get(host, ("93.184.216.34",))

    mw._resolve = resolve  # type: ignore[method-assign]
    return mw


def _check(mw: FetchGuardMiddleware, url: str) -> None:
    asyncio.run(mw.process_request(Request(url)))


def test_fetch_guard_in_the_downloader() -> None:
    remote = _guard("https://civitai.com", ["image.civitai.com", "*.r2.cloudflarestorage.com"])
    _check(remote, "https://image.civitai.com/a.jpeg")
    _check(remote, "https://delivery.acct.r2.cloudflarestorage.com/file?sig=1")
    for url in (
        "https://evil.example/x",
        "http://127.0.0.1:8080/api",
        "http://10.0.0.1/",
        "file:///etc/passwd",
        "https://civitai.com:8443/api",
        "https://rebind.civitai.com/",
    ):
        with pytest.raises(HostRefused):
            _check(remote, url)
    with pytest.raises(HostRefused, match="allowed_hosts"):
        _check(remote, "https://b2.civitai.com/file")
    local = _guard("http://127.0.0.1:5000", ["127.0.0.2:5001"])
    _check(local, "http://127.0.0.1:5000/api/v1/models")
    _check(local, "http://127.0.0.2:5001/cdn/x")
    with pytest.raises(HostRefused, match="not allowed"):
        _check(local, "http://localhost:5000/")
    with pytest.raises(HostRefused, match="port 5002"):
        _check(local, "http://127.0.0.2:5002/cdn/x")


def test_response_from_a_private_address_is_refused_before_the_warc() -> None:
    crawler = get_crawler(Spider, {"RW_BASE_URL": "https://civitai.com"})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    mw = FetchGuardResponseMiddleware(crawler)
    request = Request("https://civitai.com/api/v1/models")
    ok = Response(request.url, ip_address=ipaddress.ip_address("93.184.216.34"))
    assert mw.process_response(request, ok) is ok
    bad = Response(request.url, ip_address=ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(HostRefused, match=r"resolved to 127\.0\.0\.1"):
        mw.process_response(request, bad)
    order = BASE["DOWNLOADER_MIDDLEWARES"]
    assert order["crawler.middlewares.politeness.FetchGuardResponseMiddleware"] > max(
        v for k, v in order.items() if "Guard" not in k
    )
