"""Who the crawler says it is: one User-Agent for every request, Scrapy's and the browser's.

Sites expect a named agent with a contact (real-platforms.md, "Rate limits and identity");
Scrapy sends none when ``USER_AGENT`` is None and Playwright sends ``HeadlessChrome``. The
string names the product, its version and the operator's contact (``[crawler] contact`` in
watch.toml). The gallery spider's browser context is given the same string
(``PLAYWRIGHT_CONTEXTS``); other browser users call :func:`user_agent`.
"""

from __future__ import annotations

from crawler import __version__

PLACEHOLDER_CONTACT = "CHANGE-ME: your name and e-mail or URL"
PRODUCT = "rightswatch"


def contact_is_set(contact: str) -> bool:
    """False for an empty contact or the placeholder ``rightswatch init`` writes."""
    text = contact.strip()
    return bool(text) and not text.upper().startswith("CHANGE-ME")


def user_agent(contact: str) -> str:
    """``rightswatch/<version> (+<contact>; rights-holder monitoring)``."""
    shown = contact.strip() if contact_is_set(contact) else "no contact configured"
    shown = " ".join(shown.replace("(", "[").replace(")", "]").split())  # one header line
    return f"{PRODUCT}/{__version__} (+{shown}; rights-holder monitoring)"
