"""The rendered DOM serialised as HTML, and its visible text."""

from __future__ import annotations

from playwright.async_api import Page

DOM_FILE = "dom.html"
TEXT_FILE = "text.txt"


async def dom_html(page: Page) -> bytes:
    return (await page.content()).encode("utf-8")


async def visible_text(page: Page) -> str:
    text: str = await page.evaluate("() => document.body ? document.body.innerText : ''")
    return text
