"""A PDF print of the page (Chromium headless only)."""

from __future__ import annotations

from playwright.async_api import Page

PDF_FILE = "page.pdf"


async def pdf(page: Page) -> bytes:
    return await page.pdf(format="A4", print_background=True)
