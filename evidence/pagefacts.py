"""The platform's commercial features as shown on a captured page (report section).

Read from the sealed ``dom.html`` of a capture: the text of every button and link is matched
against the kinds of feature a court weighs when judging a platform's benefit from what users
post (paid generation, downloads, training, paid tiers). Only what the page showed is listed,
with the button's own words, so the report quotes the page rather than characterising it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

KINDS: dict[str, tuple[str, str, re.Pattern[str]]] = {
    "generate": ("generation on the platform", "平台在线生成",
                 re.compile(r"\b(generate|create with|run (it|online)|try it)\b|生成|创作", re.I)),
    "download": ("download", "下载", re.compile(r"\bdownload\b|下载", re.I)),
    "train": ("training", "训练", re.compile(r"\btrain(ing)?\b|训练|炼丹", re.I)),
    "paid": ("paid features", "付费功能",
             re.compile(r"\b(buy|purchase|subscribe|pro|premium|credits?|buzz|tip|price)\b|"
                        r"[$¥€]\s?\d|会员|充值|订阅|积分|付费|打赏", re.I)),
}  # fmt: skip
CLICKABLE = {"a", "button"}


@dataclass(frozen=True)
class Feature:
    """One commercial feature the page showed, with the words on its button or link."""

    kind: str
    en: str
    zh: str
    shown_as: str


class _Clickables(HTMLParser):
    """Text of every ``<a>``, ``<button>`` and ``role="button"`` element, in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._open: list[str] = []  # tags of the clickable elements we are inside
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in CLICKABLE or dict(attrs).get("role") == "button":
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[-1]:
            self._open.pop()
            if not self._open:
                text = " ".join("".join(self._buffer).split())
                if text:
                    self.texts.append(text[:80])
                self._buffer = []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._buffer.append(data)


def commercial_features(dom_html: str) -> list[Feature]:
    """Every kind of commercial feature the page's buttons and links show (first wording)."""
    parser = _Clickables()
    parser.feed(dom_html)
    found = []
    for kind, (en, zh, pattern) in KINDS.items():
        shown = next((t for t in parser.texts if pattern.search(t)), None)
        if shown is not None:
            found.append(Feature(kind, en, zh, shown))
    return found


def features_of_capture(directory: Path) -> list[dict[str, str]]:
    """:func:`commercial_features` of a sealed capture's ``dom.html`` (none if absent)."""
    try:
        html = (directory / "dom.html").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [f.__dict__ for f in commercial_features(html)]
