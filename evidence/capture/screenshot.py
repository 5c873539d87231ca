"""Full-page and viewport PNG screenshots (animations frozen, caret hidden)."""

from __future__ import annotations

from playwright.async_api import Page

FULL_PAGE = "screenshot-full.png"
VIEWPORT = "screenshot-viewport.png"


async def full_page(page: Page) -> bytes:
    return await page.screenshot(full_page=True, type="png", animations="disabled", caret="hide")


async def viewport(page: Page) -> bytes:
    return await page.screenshot(full_page=False, type="png", animations="disabled", caret="hide")
