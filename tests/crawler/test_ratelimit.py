"""A 429 pauses the whole host; a low RateLimit remaining spaces its requests; the waits are
in the run report (platforms.md §2.4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import Response

from crawler.middlewares.ratelimit import HostGate, rate_limit
from evidence.models import RunStatus
from tests.support.crawl import make_setup
from tests.support.sandbox import SandboxFactory


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _response(url: str, remaining: int, reset: int, quota: int | None = 500) -> Response:
    headers = {"RateLimit": f'"api";r={remaining};t={reset}'}
    if quota is not None:
        headers["RateLimit-Policy"] = f'"fixed window";"api";q={quota};w=300'
    return Response(url, headers=headers, request=Request(url))


def test_a_pause_holds_every_request_to_the_host_and_only_that_host() -> None:
    clock = FakeClock()
    gate = HostGate(clock=clock)
    gate.pause("hub.example", 300, "HTTP 429", "https://hub.example/api/models")
    assert gate.delay_for("hub.example") == 300
    assert gate.delay_for("other.example") == 0
    clock.now += 120
    assert gate.delay_for("hub.example") == 180
    gate.pause("hub.example", 10, "HTTP 429", "https://hub.example/api/models")  # shorter
    assert gate.delay_for("hub.example") == 180
    clock.now += 180
    assert gate.delay_for("hub.example") == 0
    assert [(w["kind"], w["seconds"]) for w in gate.report()] == [("pause", 300)]


def test_low_remaining_spaces_requests_until_the_reset() -> None:
    clock = FakeClock()
    gate = HostGate(clock=clock)
    gate.observe(_response("https://hub.example/api/models", remaining=400, reset=200))
    assert gate.delay_for("hub.example") == 0  # plenty left
    gate.observe(_response("https://hub.example/api/models", remaining=20, reset=200))
    delays = [gate.delay_for("hub.example") for _ in range(3)]
    assert delays == [0, 10, 20]  # 20 requests spread over the 200 s left
    gate.observe(_response("https://hub.example/api/models", remaining=450, reset=300))
    clock.now += 1000
    assert gate.delay_for("hub.example") == 0  # a new window: no more spacing
    assert [w["kind"] for w in gate.report()] == ["slow"]
    assert rate_limit(_response("https://x/", 3, 9, quota=None)) == (3, 9.0, None)


def test_429_pauses_the_host_and_the_crawl_still_finds_everything(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # a 5-minute window of 12 API calls, at time scale 0.01: 429s with Retry-After <= 3 s. How
    # many calls land in one 3 s window depends on the machine's speed, so a fifth of the
    # requests (drawn from the seed, the URL and its count: the same on every run) also answer
    # 429 with Retry-After 200 sandbox seconds (2 s): there are pauses however slow the crawl.
    server = sandbox_factory(
        items=120,
        faults="429=0.2:200",
        extra=("--rate-limit", "api=12", "--time-scale", "0.01"),
    )
    setup = make_setup(server, tmp_path)
    report = setup.crawl("huggingface")
    assert report.status is RunStatus.SUCCEEDED, report.stats()
    (platform,) = report.platforms
    pauses = [w for w in platform.waits if w["kind"] == "pause"]
    assert pauses and all(w["reason"] == "HTTP 429" and 0 < w["seconds"] <= 3 for w in pauses)
    hub = {
        str(t["external_id"])
        for t in server.truth()
        if t["platform"] == "huggingface" and t["character"]
    }
    assert hub <= {c.external_id for c in setup.candidates("huggingface")}


@pytest.mark.parametrize("contact", ["", "CHANGE-ME: your name and e-mail or URL"])
def test_a_real_site_crawl_needs_a_contact(contact: str, tmp_path: Path) -> None:
    from rightswatch.config import WatchConfig
    from rightswatch.crawling import plan_from_config
    from rightswatch.errors import ConfigError

    config = WatchConfig.model_validate(
        {
            "client": {"name": "c"},
            "characters": [{"name": "Hero"}],
            "platforms": [{"name": "civitai", "kind": "civitai"}],
            "crawler": {"contact": contact},
        }
    )
    with pytest.raises(ConfigError, match=r"\[crawler\] contact"):
        plan_from_config(config, "sqlite://")
    local = config.model_copy(
        update={
            "platforms": [config.platforms[0].model_copy(update={"base_url": "http://127.0.0.1:9"})]
        }
    )
    assert plan_from_config(local, "sqlite://").contact == contact


def test_one_gate_per_crawler_for_the_downloader_and_the_browser() -> None:
    from scrapy.utils.test import get_crawler

    from crawler.middlewares.politeness import PoliteRetryMiddleware
    from crawler.middlewares.ratelimit import host_gate

    crawler = get_crawler(settings_dict={"RW_RATELIMIT_LOW": 0.2})
    middleware = PoliteRetryMiddleware(crawler)
    assert host_gate(crawler) is middleware.gate and middleware.gate.low_share == 0.2
    assert host_gate(get_crawler()) is not middleware.gate


def test_civitai_503_with_retry_after_pauses_the_host_like_a_429(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """real-platforms.md Civitai 7: image listings answer 503 with Retry-After under load.
    Every image listing's first request here is such a 503: the whole host pauses for the
    announced wait, the waits are in the run report, and no listing is lost."""
    import dataclasses

    from crawler.crawl import run_crawl

    server = sandbox_factory(items=60, extra=("--civitai-busy", "1", "--time-scale", "0.05"))
    setup = make_setup(server, tmp_path / "patient")
    report = setup.crawl("civitai")
    assert report.status is RunStatus.SUCCEEDED, report.stats()
    (platform,) = report.platforms
    pauses = [w for w in platform.waits if w["kind"] == "pause"]
    assert pauses and all(w["reason"] == "HTTP 503" and w["seconds"] == 1 for w in pauses)
    assert all("/api/v1/images" in str(w["url"]) for w in pauses)
    assert not [f for f in platform.failures if "503" in str(f)], platform.failures
    assert any(c.kind.value == "image" for c in setup.candidates("civitai"))
    busy = server.get("/sandbox/info.json").json()["civitai_busy"]
    assert busy["answered"] >= len(pauses)

    # a wait over the ceiling gives up on the listing, naming the setting
    strict = sandbox_factory(items=60, extra=("--civitai-busy", "1", "--time-scale", "1"))
    setup = make_setup(strict, tmp_path / "strict")
    plan = setup.plan("civitai")
    plan = dataclasses.replace(plan, settings={**plan.settings, "RW_RETRY_AFTER_MAX": 1.0})
    (platform,) = run_crawl(plan, timeout_s=240).platforms
    given_up = [f for f in platform.failures if "max_pause_seconds" in str(f)]
    assert given_up and all("/api/v1/images" in str(f) for f in given_up), platform.failures
    assert "asks to wait 2s, over the 1s ceiling" in str(given_up[0])
