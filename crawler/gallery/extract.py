"""One extractor for every gallery: item records from JSON, embedded state or CSS, to items.

A :class:`Record` is what one source said about one item (field -> values). Sources, in the
adapter's order of preference: JSON bodies the page's scripts fetched (``adapter.json``), state
embedded in the page (``adapter.state``: ``<script id="__NEXT_DATA__">``, ``window.__NUXT__``),
then CSS selectors on the item's own page (``adapter.selectors``). :func:`build_item` turns a
record into an :class:`ImageCandidate` or :class:`ModelCandidate` with its discovery (listing,
term, placement, rank). Pure functions: no browser, no network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from parsel import Selector

from crawler.gallery.adapter import DataSource, GalleryAdapter
from crawler.gallery.paths import first, values_at
from crawler.items import (
    Discovery,
    GenerationResource,
    ImageCandidate,
    LicenceFlags,
    ModelCandidate,
    ModelFile,
    Placement,
)
from evidence.models import CandidateKind

_LIST_FIELDS = frozenset(
    {"tags", "trigger", "files", "file_names", "file_sha256", "file_sizes", "resources", "image"}
)


@dataclass(frozen=True)
class Record:
    """What one source said about one item."""

    kind: CandidateKind
    external_id: str
    values: Mapping[str, tuple[Any, ...]]
    source: str  # "json <url>", "state __NEXT_DATA__", "css <url>"
    raw: Any = None  # the item object as the site sent it (kept as raw.platform)
    placement: Placement | None = None  # set by the source (e.g. a recommendation API)

    def text(self, name: str) -> str | None:
        for value in self.values.get(name, ()):
            text = _text(value)
            if text:
                return text
        return None

    def texts(self, name: str) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for value in self.values.get(name, ()):
            text = _text(value)
            if text:
                out.setdefault(text, None)
        return tuple(out)

    def merged(self, other: Record) -> Record:
        """This record, with fields it lacks taken from ``other`` (a less preferred source)."""
        values = dict(other.values)
        values.update({k: v for k, v in self.values.items() if v})
        return Record(
            self.kind,
            self.external_id,
            values,
            self.source,
            self.raw if self.raw is not None else other.raw,
            self.placement or other.placement,
        )


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    if isinstance(value, Mapping):  # {"name": ...} / {"label": ...} objects
        for key in ("name", "label", "title", "nickname", "url"):
            if isinstance(value.get(key), str):
                return _text(value[key])
    return None


def records_in(
    document: Any, source: DataSource, adapter: GalleryAdapter, where: str
) -> list[Record]:
    """Item records in ``document`` per ``source``, in document order."""
    out: list[Record] = []
    for kind, path in source.items.items():
        mapping = adapter.fields.get(kind)
        if not mapping:
            continue
        for obj in values_at(document, path):
            if not isinstance(obj, Mapping):
                continue
            external_id = _text(first(obj, mapping["id"]))
            if not external_id:
                continue
            values = {
                name: tuple(values_at(obj, path)) for name, path in mapping.items() if name != "id"
            }
            out.append(Record(kind, external_id, values, where, obj, source.placement))
    return out


def more_pages(document: Any, source: DataSource) -> bool | None:
    """Whether ``document`` says another page follows: True, False (the end), None (silent)."""
    if source.more is not None:
        flag = first(document, source.more)
        if flag is not None:
            return bool(flag) and str(flag).lower() not in ("false", "0")
    if source.last is not None:
        flag = first(document, source.last)
        if flag is not None:
            return not (bool(flag) and str(flag).lower() not in ("false", "0"))
    if source.next is not None:
        cursor = first(document, source.next)
        return bool(cursor) and str(cursor).lower() not in ("null", "none", "0", "false", "-1")
    return None


def state_documents(html: str, adapter: GalleryAdapter) -> list[tuple[DataSource, Any]]:
    """Embedded state found in ``html`` (``<script id=NAME>`` holding JSON)."""
    doc = Selector(text=html)
    found: list[tuple[DataSource, Any]] = []
    for source in adapter.state:
        text = doc.xpath(f"//script[@id={json.dumps(source.name)}]/text()").get()
        if not text:
            continue
        try:
            found.append((source, json.loads(text)))
        except ValueError:
            continue
    return found


def record_from_selectors(
    html: str, kind: CandidateKind, external_id: str, adapter: GalleryAdapter, url: str
) -> Record:
    """A record read from an item page with the adapter's CSS selectors (last preference)."""
    doc = Selector(text=html)
    values: dict[str, tuple[Any, ...]] = {}
    for name, css in adapter.selectors.items():
        query = css if "::" in css else f"{css} ::text"
        got = [" ".join(v.split()) for v in doc.css(query).getall()]
        got = [v for v in got if v]
        if name not in _LIST_FIELDS:
            got = [" ".join(got)] if got and query.endswith("::text") else got[:1]
        values[name] = tuple(got)
    return Record(kind, external_id, values, f"css {url}")


def _created(record: Record) -> datetime | None:
    for value in record.values.get("created_at", ()):
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 10**11 else value
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str):
            if value.isdigit():
                number = int(value)
                return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _files(record: Record, page_url: str) -> tuple[ModelFile, ...]:
    urls = record.texts("files")
    names = record.texts("file_names")
    hashes = record.texts("file_sha256")
    sizes = record.values.get("file_sizes", ())
    files: list[ModelFile] = []
    for i, url in enumerate(urls):
        absolute = urljoin(page_url, url)
        name = names[i] if i < len(names) else unquote(urlsplit(absolute).path.rsplit("/", 1)[-1])
        size = sizes[i] if i < len(sizes) and isinstance(sizes[i], int) else None
        digest = hashes[i].lower() if i < len(hashes) else None
        files.append(ModelFile(name=name, url=absolute, size_bytes=size, sha256=digest))
    return tuple(files)


def build_item(
    record: Record,
    *,
    platform: str,
    page_url: str,
    discovery: Discovery,
    fetched_at: datetime,
    warc_record_id: str | None,
) -> ImageCandidate | ModelCandidate:
    """The typed item for ``record``."""
    images = tuple(dict.fromkeys(urljoin(page_url, u) for u in record.texts("image")))
    raw: dict[str, Any] = {"source": record.source}
    if record.raw is not None:
        raw["item"] = record.raw
    common: dict[str, Any] = {
        "platform": platform,
        "external_id": record.external_id,
        "page_url": urljoin(page_url, record.text("url") or page_url),
        "media_urls": images[:1],
        "title": record.text("title"),
        "description": record.text("description"),
        "tags": record.texts("tags"),
        "creator": _creator(record.text("creator")),
        "created_at": _created(record),
        "stats": {},
        "licence": LicenceFlags(),
        "raw": raw,
        "fetched_at": fetched_at,
        "warc_record_id": warc_record_id,
        "discovery": discovery,
    }
    if record.kind is CandidateKind.MODEL:
        return ModelCandidate(
            **common,
            trigger_words=record.texts("trigger"),
            base_model=record.text("base_model"),
            files=_files(record, page_url),
        )
    return ImageCandidate(
        **common,
        prompt=record.text("prompt"),
        negative_prompt=record.text("negative_prompt"),
        resources=tuple(GenerationResource(name=n, type="LORA") for n in record.texts("resources")),
    )


def _creator(value: str | None) -> str | None:
    if value and value.lower().startswith("by "):
        return value[3:].strip() or None
    return value


def removed(record: Record) -> bool:
    """True when the site's data marks the item as removed."""
    return any(bool(v) for v in record.values.get("removed", ()) if not isinstance(v, str)) or any(
        str(v).lower() in ("true", "removed", "deleted") for v in record.values.get("removed", ())
    )


def parse_json_body(body: bytes) -> Any:
    """A fetched body as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
