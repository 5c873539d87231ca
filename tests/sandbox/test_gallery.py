"""The JavaScript-only gallery and the Civitai-style pages: empty over HTTP, full in Chromium."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright

from evidence.capture.chromium import CHROMIUM_ARGS
from evidence.capture.chromium import CHROMIUM_PATH as CHROMIUM
from tests.support.sandbox import SandboxServer


def _api(sandbox: SandboxServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{sandbox.url}/gallery/api/v1/{path}", json=body, timeout=30)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def _first(sandbox: SandboxServer, platform: str, kind: str) -> dict[str, Any]:
    return next(r for r in sandbox.truth() if r["platform"] == platform and r["kind"] == kind)


def test_feed_pages_to_the_end(sandbox: SandboxServer) -> None:
    for kind, feed in (("image", "posts"), ("model", "models")):
        expected = {
            r["external_id"]
            for r in sandbox.truth()
            if r["platform"] == "gallery" and r["kind"] == kind and not r["removed"]
        }
        seen: list[str] = []
        cursor = ""
        while True:
            result = _api(sandbox, "feed", {"type": feed, "cursor": cursor, "size": 25})
            assert result["code"] == "0"
            seen.extend(item["id"] for item in result["data"]["items"])
            if not result["data"]["hasMore"]:
                break
            cursor = result["data"]["cursor"]
        assert set(seen) == expected and len(seen) == len(expected)


def test_details_and_recommended(sandbox: SandboxServer) -> None:
    post = _first(sandbox, "gallery", "image")
    detail = _api(sandbox, "post/detail", {"id": post["external_id"]})["data"]
    assert detail["images"][0]["generationData"]["prompt"]
    media = httpx.get(detail["images"][0]["url"], timeout=30)
    assert media.headers["content-type"] == "image/png" and media.content.startswith(b"\x89PNG")
    model = _first(sandbox, "gallery", "model")
    info = _api(sandbox, "model/detail", {"id": model["external_id"]})["data"]
    assert info["triggerWord"] and info["versions"][0]["file"]["sha256"]
    recommended = _api(sandbox, "recommend", {})["data"]
    assert recommended["models"] and recommended["posts"]
    unknown = _api(sandbox, "post/detail", {"id": "1"})
    assert unknown["code"] == "404" and unknown["data"] is None


def test_html_shells_carry_no_items(sandbox: SandboxServer) -> None:
    post = _first(sandbox, "gallery", "image")
    model = _first(sandbox, "civitai", "model")
    image = _first(sandbox, "civitai", "image")
    for url in (f"{sandbox.url}/gallery/", post["url"], model["url"], image["url"]):
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200
        assert 'class="card"' not in page.text
        assert "/cdn/" not in page.text and "generationData" not in page.text
    assert model["title"] not in httpx.get(model["url"], timeout=30).text
    assert httpx.get(f"{sandbox.url}/gallery/posts/1", timeout=30).status_code == 404


async def _in_browser(action: Callable[[Page], Awaitable[None]]) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS)
        )
        try:
            await action(await browser.new_page())
        finally:
            await browser.close()


def test_chromium_sees_the_items(sandbox: SandboxServer) -> None:
    post = _first(sandbox, "gallery", "image")
    model = _first(sandbox, "civitai", "model")
    image = _first(sandbox, "civitai", "image")
    gallery_model = _first(sandbox, "gallery", "model")
    seen: dict[str, Any] = {}

    async def visit(page: Page) -> None:
        await page.goto(f"{sandbox.url}/gallery/")
        await page.wait_for_selector("#app[data-state=ready]")
        cards = page.locator("[role=feed] a[href^='/gallery/posts/']")
        seen["recommended"] = await page.locator("section a[href]").count() - await cards.count()
        seen["first"] = await cards.count()
        seen["first_ids"] = set(await cards.evaluate_all("a => a.map(x => x.href)"))
        for _ in range(3):  # the feed scrolls inside its container; rows leave the DOM
            height = await page.evaluate(
                "() => { const f = document.querySelector('[role=feed]');"
                " f.scrollTop = f.scrollHeight; return f.scrollHeight; }"
            )
            await page.wait_for_function(  # the next page arrived (decided from the DOM)
                "h => document.querySelector('[role=feed]').scrollHeight > h", arg=height
            )
        seen["scrolled"] = await cards.count()
        seen["later_ids"] = set(await cards.evaluate_all("a => a.map(x => x.href)"))
        await page.goto(post["url"])
        await page.wait_for_selector("#app[data-state=ready]")
        seen["prompt"] = await page.inner_text("pre.prompt")
        await page.goto(gallery_model["url"])
        await page.wait_for_selector("#app[data-state=ready]")
        seen["gallery_model"] = await page.inner_text("h1.model-name")
        await page.goto(model["url"])
        await page.wait_for_selector("main[data-state=ready]")
        seen["model"] = await page.inner_text("h1.model-name")
        seen["words"] = await page.inner_text(".trained-words")
        await page.goto(image["url"])
        await page.wait_for_selector("main[data-state=ready]")
        seen["image_src"] = await page.get_attribute("img.artwork", "src")

    asyncio.run(_in_browser(visit))
    assert seen["recommended"] >= 6
    assert 12 <= seen["first"] <= 28 and 12 <= seen["scrolled"] <= 28  # virtualised
    assert seen["later_ids"] - seen["first_ids"]  # scrolling shows other cards
    assert "masterpiece" in seen["prompt"]
    assert seen["gallery_model"] == gallery_model["title"]
    assert seen["model"] == model["title"]
    assert "Trigger words" in seen["words"]
    assert "/cdn/" in seen["image_src"]
