"""Rendered HTML of JavaScript galleries (Tensor.Art-, SeaArt-, LiblibAI-like) to items.

These sites publish no catalogue API (platforms.md §4.2-4.5), so the spider renders pages in
Chromium and reads the DOM after the scripts ran. Extraction is by convention, most specific
first, so the same parser reads several sites:

- **Cards** on a listing: links whose path is ``…/models/<id>`` (a model) or ``…/posts/<id>``,
  ``…/images/<id>``, ``…/works/<id>`` (an image); first appearance gives the rank.
- **Placement**: a card inside an element whose id, class, ``data-section`` or heading says
  "recommend" (推荐 too) is ``recommended``; otherwise the page's own placement (home/search).
- **Detail page**: ``data-*`` attributes when present, then microdata/Open Graph, then common
  class names (``owner``/``creator``/``author``, ``tag``, ``trigger``, ``prompt``,
  ``description``); the model file is the download link ending in ``.safetensors``.
- A page the site marks as removed (``data-state="removed"``, ``h1.removed``) is not content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from parsel import Selector

from crawler.items import (
    CandidateKind,
    ImageCandidate,
    LicenceFlags,
    ModelCandidate,
    ModelFile,
    Placement,
)
from crawler.parsers import ParseContext

_CARD_PATH = re.compile(r"/(models|posts|images|works|artworks)/([A-Za-z0-9_-]{3,})/?$")
_RECOMMEND = re.compile(r"recommend|推荐|おすすめ", re.I)


@dataclass(frozen=True)
class Card:
    kind: CandidateKind
    external_id: str
    url: str
    placement: Placement
    rank: int  # 1-based within its placement on this page
    title: str | None = None


def _card_kind(segment: str) -> CandidateKind:
    return CandidateKind.MODEL if segment == "models" else CandidateKind.IMAGE


def _in_recommended(link: Selector) -> bool:
    for ancestor in link.xpath("ancestor::*"):
        attrs = " ".join(
            str(ancestor.attrib.get(a, "")) for a in ("id", "class", "data-section", "aria-label")
        )
        if _RECOMMEND.search(attrs):
            return True
        heading = ancestor.xpath("./*[self::h1 or self::h2 or self::h3][1]//text()").getall()
        if heading and _RECOMMEND.search(" ".join(heading)):
            return True
    return False


def parse_cards(html: str, page_url: str, placement: Placement) -> list[Card]:
    """Item cards in page order, de-duplicated, with placement and rank."""
    doc = Selector(text=html)
    base_host = urlsplit(page_url).netloc
    cards: list[Card] = []
    seen: set[tuple[CandidateKind, str]] = set()
    ranks: dict[Placement, int] = {}
    for link in doc.css("a[href]"):
        url = urljoin(page_url, link.attrib["href"])
        parts = urlsplit(url)
        match = _CARD_PATH.search(parts.path)
        if match is None or parts.netloc != base_host:
            continue
        kind = _card_kind(match.group(1))
        key = (kind, match.group(2))
        if key in seen:
            continue
        seen.add(key)
        where = Placement.RECOMMENDED if _in_recommended(link) else placement
        ranks[where] = ranks.get(where, 0) + 1
        title = " ".join(t.strip() for t in link.css("::text").getall() if t.strip()) or None
        cards.append(Card(kind, match.group(2), url, where, ranks[where], title))
    return cards


def _first(doc: Selector, queries: Iterable[str]) -> str | None:
    for query in queries:
        value = doc.xpath(query).get() if query.startswith(("/", "(")) else doc.css(query).get()
        if value and value.strip():
            return " ".join(value.split())
    return None


def _all(doc: Selector, queries: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for query in queries:
        for value in doc.css(query).getall():
            text = " ".join(value.split())
            if text and text not in out:
                out.append(text)
    return tuple(out)


def removed_reason(html: str) -> str | None:
    """The site's own "removed" message when the page says the item is gone."""
    doc = Selector(text=html)
    if doc.css("[data-state='removed'], h1.removed, .removed-notice"):
        return _first(doc, ("h1.removed ::text", ".removed-notice ::text")) or "removed"
    return None


def parse_detail(html: str, card: Card, ctx: ParseContext) -> ModelCandidate | ImageCandidate:
    """A detail page as an item; the card supplies kind, id, placement and rank."""
    doc = Selector(text=html)
    title = _first(
        doc,
        (
            "[data-title]::attr(data-title)",
            "h1 ::text",
            "meta[property='og:title']::attr(content)",
        ),
    )
    image = _first(
        doc,
        (
            "[data-media-url]::attr(data-media-url)",
            "meta[property='og:image']::attr(content)",
            "img.artwork::attr(src)",
            "main img::attr(src)",
            "article img::attr(src)",
            "img::attr(src)",
        ),
    )
    creator = _first(
        doc,
        (
            "[data-creator]::attr(data-creator)",
            "[itemprop='author'] ::text",
            ".owner ::text",
            ".creator ::text",
            ".author ::text",
        ),
    )
    description = _first(
        doc,
        (".description ::text", "meta[name='description']::attr(content)"),
    )
    if creator and creator.lower().startswith("by "):
        creator = creator[3:].strip()
    tags = _all(doc, ("[data-tag]::attr(data-tag)", ".tag ::text", "a[rel='tag'] ::text"))
    common = {
        "platform": ctx.platform,
        "external_id": card.external_id,
        "page_url": card.url,
        "media_urls": (urljoin(card.url, image),) if image else (),
        "title": title or card.title,
        "description": description,
        "tags": tags,
        "creator": creator,
        "created_at": None,
        "stats": {},
        "licence": LicenceFlags(),
        "raw": {"title": title, "image": image, "creator": creator, "tags": list(tags)},
        "fetched_at": ctx.fetched_at,
        "warc_record_id": ctx.warc_record_id,
        "discovery": ctx.discovery(card.rank - 1),
    }
    if card.kind is CandidateKind.MODEL:
        trigger = _all(doc, ("[data-trigger]::attr(data-trigger)", ".trigger code::text"))
        files = tuple(
            ModelFile(
                name=unquote(urlsplit(href).path.rsplit("/", 1)[-1]),
                url=href,
                size_bytes=None,
                sha256=None,
            )
            for href in dict.fromkeys(
                urljoin(card.url, h)
                for h in doc.css("a[href$='.safetensors']::attr(href)").getall()
            )
        )
        return ModelCandidate(**common, trigger_words=trigger, files=files)  # type: ignore[arg-type]
    prompt = _first(doc, ("[data-prompt]::attr(data-prompt)", ".prompt ::text"))
    return ImageCandidate(**common, prompt=prompt)  # type: ignore[arg-type]
