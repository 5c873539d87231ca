"""MHTML snapshot through the Chrome DevTools Protocol (``Page.captureSnapshot``)."""

from __future__ import annotations

from playwright.async_api import Page

MHTML_FILE = "page.mhtml"


async def mhtml(page: Page) -> bytes:
    session = await page.context.new_cdp_session(page)
    try:
        result = await session.send("Page.captureSnapshot", {"format": "mhtml"})
    finally:
        await session.detach()
    data: str = result["data"]
    return data.encode("utf-8")
