"""What one gallery site looks like, as data (``[platforms.gallery]`` in watch.toml).

The mapping form (:meth:`GalleryAdapter.from_mapping` / :meth:`GalleryAdapter.to_mapping`) is
the TOML form, so a built-in profile, a user's overrides and the crawl plan's JSON share one
shape::

    listings = [{ url = "/", placement = "home" }, { url = "/models", placement = "feed" }]
    search_url = "/search?q={term}"          # {term}: every alias and search term, URL-quoted
    links = [{ kind = "model", pattern = "/modelinfo/(?P<id>[0-9a-f]{32})" }]
    item_urls = { model = "/modelinfo/{id}" } # an item's page when only data named it
    # (listing, search and item URLs are relative to the platform's base_url)
    scroll_container = "#feed"                # the element that scrolls (default: the window)
    end_selector = ".no-more"                 # appears when the feed has ended
    next_link = "a[rel=next]"                 # paged listings: the next page's link
    sections = { recommended = "#recommended" }  # cards inside get this placement
    media_hosts = ["*.example-cdn.com"]       # media hosts: host, host:port or *.suffix
    storage_state = "secrets/site-state.json" # a Playwright storage_state (never archived)
    [[json]]                                  # JSON bodies the page fetched (first preference)
    url = "/api/v1/feed"                      # a regular expression searched in the URL
    items = { image = "data.items[]" }        # kind -> path to the item objects
    more = "data.hasMore"                     # false: the feed has ended
    last = "body.isLastPage"                  # true: the feed has ended
    next = "data.cursor"                      # empty: the feed has ended
    [[state]]                                 # state embedded in the page (second preference)
    name = "__NEXT_DATA__"                    # <script id=...> JSON or window.<name>
    items = { model = "props.pageProps.list[]" }
    [fields.model]                            # field -> path inside one item object
    id = "uuid"
    title = "name"
    [selectors]                               # CSS on a detail page (last preference)
    title = "h1::text"

Every problem raises :class:`CrawlConfigError` naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler.exceptions import CrawlConfigError
from crawler.gallery.paths import compile_path
from crawler.items import Placement
from evidence.models import CandidateKind

FIELDS = (
    "id",
    "title",
    "description",
    "creator",
    "image",
    "tags",
    "trigger",
    "prompt",
    "negative_prompt",
    "files",
    "file_names",
    "file_sha256",
    "file_sizes",
    "base_model",
    "created_at",
    "resources",
    "url",
    "removed",
)
DETAIL_MODES = ("missing", "always", "never")
_KEYS = {
    "listings",
    "search_url",
    "search_placement",
    "links",
    "item_urls",
    "scroll_container",
    "end_selector",
    "next_link",
    "sections",
    "media_hosts",
    "storage_state",
    "ready_selector",
    "json",
    "state",
    "fields",
    "selectors",
    "detail",
    "max_scrolls",
    "signal_timeout_seconds",
}


@dataclass(frozen=True)
class Listing:
    url: str  # absolute, or relative to the platform's base URL
    placement: Placement


@dataclass(frozen=True)
class LinkRule:
    kind: CandidateKind
    pattern: str  # regular expression with an ``id`` group, searched in the link's path

    def match(self, path: str) -> str | None:
        found = re.search(self.pattern, path)
        return found.group("id") if found else None


@dataclass(frozen=True)
class DataSource:
    """Where item objects sit in a JSON document, and what says the feed has ended."""

    name: str  # JSON: a regex searched in the response URL; state: the script id / global
    items: Mapping[CandidateKind, str]  # kind -> path of the item objects
    more: str | None = None  # path of a boolean: false = no next page
    last: str | None = None  # path of a boolean: true = this is the last page
    next: str | None = None  # path of a cursor / next URL: empty or absent = no next page
    placement: Placement | None = None  # items from here have this placement (e.g. recommended)

    @property
    def pages(self) -> bool:
        """True when this source says whether another page follows."""
        return self.more is not None or self.next is not None or self.last is not None


@dataclass(frozen=True)
class GalleryAdapter:
    listings: tuple[Listing, ...] = ()
    search_url: str | None = None
    search_placement: Placement = Placement.SEARCH
    links: tuple[LinkRule, ...] = ()
    item_urls: Mapping[CandidateKind, str] = field(default_factory=dict)
    scroll_container: str | None = None
    end_selector: str | None = None
    next_link: str | None = None
    sections: Mapping[Placement, str] = field(default_factory=dict)
    media_hosts: tuple[str, ...] = ()
    storage_state: str | None = None
    ready_selector: str | None = None
    json: tuple[DataSource, ...] = ()
    state: tuple[DataSource, ...] = ()
    fields: Mapping[CandidateKind, Mapping[str, str]] = field(default_factory=dict)
    selectors: Mapping[str, str] = field(default_factory=dict)
    detail: str = "missing"  # render an item's page: when data lacks it / always / never
    max_scrolls: int = 300
    signal_timeout_seconds: float = 30.0

    # --- mapping (TOML / JSON) form ---------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "gallery") -> GalleryAdapter:
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise CrawlConfigError(f"{where}.{unknown[0]}: unknown key")
        try:
            adapter = cls(
                listings=tuple(
                    Listing(_str(x, f"{where}.listings[{i}].url", "url"), _placement(x, where, i))
                    for i, x in enumerate(_list(data, "listings", where))
                ),
                search_url=_opt_str(data, "search_url", where),
                search_placement=Placement(data.get("search_placement", "search")),
                links=tuple(
                    LinkRule(
                        _kind(_str(x, f"{where}.links[{i}].kind", "kind"), f"{where}.links[{i}]"),
                        _pattern(x, f"{where}.links[{i}].pattern"),
                    )
                    for i, x in enumerate(_list(data, "links", where))
                ),
                item_urls={
                    _kind(k, f"{where}.item_urls"): str(v)
                    for k, v in _table(data, "item_urls", where).items()
                },
                scroll_container=_opt_str(data, "scroll_container", where),
                end_selector=_opt_str(data, "end_selector", where),
                next_link=_opt_str(data, "next_link", where),
                sections={
                    _placement_value(k, f"{where}.sections"): str(v)
                    for k, v in _table(data, "sections", where).items()
                },
                media_hosts=tuple(str(h) for h in _list(data, "media_hosts", where)),
                storage_state=_opt_str(data, "storage_state", where),
                ready_selector=_opt_str(data, "ready_selector", where),
                json=tuple(
                    _source(x, f"{where}.json[{i}]", "url")
                    for i, x in enumerate(_list(data, "json", where))
                ),
                state=tuple(
                    _source(x, f"{where}.state[{i}]", "name")
                    for i, x in enumerate(_list(data, "state", where))
                ),
                fields={
                    _kind(k, f"{where}.fields"): _field_map(v, f"{where}.fields.{k}")
                    for k, v in _table(data, "fields", where).items()
                },
                selectors=_selectors(_table(data, "selectors", where), f"{where}.selectors"),
                detail=str(data.get("detail", "missing")),
                max_scrolls=int(data.get("max_scrolls", 300)),
                signal_timeout_seconds=float(data.get("signal_timeout_seconds", 30.0)),
            )
        except (TypeError, ValueError) as exc:
            raise CrawlConfigError(f"{where}: {exc}") from exc
        if adapter.detail not in DETAIL_MODES:
            raise CrawlConfigError(f"{where}.detail: must be one of {', '.join(DETAIL_MODES)}")
        if adapter.search_url is not None and "{term}" not in adapter.search_url:
            raise CrawlConfigError(f"{where}.search_url: must contain {{term}}")
        if not adapter.listings and adapter.search_url is None:
            raise CrawlConfigError(f"{where}.listings: a gallery needs a listing or a search_url")
        if not adapter.links and not adapter.item_urls:
            raise CrawlConfigError(f"{where}.links: give item link patterns or item_urls")
        if adapter.max_scrolls < 1 or adapter.signal_timeout_seconds <= 0:
            raise CrawlConfigError(f"{where}: max_scrolls and signal_timeout_seconds must be > 0")
        return adapter

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "listings": [{"url": x.url, "placement": x.placement.value} for x in self.listings],
            "search_placement": self.search_placement.value,
            "links": [{"kind": r.kind.value, "pattern": r.pattern} for r in self.links],
            "item_urls": {k.value: v for k, v in self.item_urls.items()},
            "sections": {k.value: v for k, v in self.sections.items()},
            "media_hosts": list(self.media_hosts),
            "json": [_source_mapping(s, "url") for s in self.json],
            "state": [_source_mapping(s, "name") for s in self.state],
            "fields": {k.value: dict(v) for k, v in self.fields.items()},
            "selectors": dict(self.selectors),
            "detail": self.detail,
            "max_scrolls": self.max_scrolls,
            "signal_timeout_seconds": self.signal_timeout_seconds,
        }
        for key in (
            "search_url",
            "scroll_container",
            "end_selector",
            "next_link",
            "storage_state",
            "ready_selector",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    # --- queries ------------------------------------------------------------------------------
    def link_id(self, path: str) -> tuple[CandidateKind, str] | None:
        """The (kind, id) a link path points at, by the first matching rule."""
        for rule in self.links:
            found = rule.match(path)
            if found:
                return rule.kind, found
        return None

    def item_url(self, kind: CandidateKind, external_id: str) -> str | None:
        template = self.item_urls.get(kind)
        return template.replace("{id}", external_id) if template else None


def merge(profile: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A profile with a user's overrides: keys replace the profile's, except ``fields``
    (merged per kind, field by field), ``selectors``, ``item_urls`` and ``sections`` (merged
    key by key)."""
    out = dict(profile)
    for key, value in overrides.items():
        base = out.get(key)
        if key == "fields" and isinstance(base, Mapping) and isinstance(value, Mapping):
            merged = {k: dict(v) for k, v in base.items()}
            for kind, mapping in value.items():
                merged.setdefault(kind, {}).update(dict(mapping))
            out[key] = merged
        elif key in ("selectors", "item_urls", "sections") and isinstance(base, Mapping):
            out[key] = {**base, **dict(value)}
        else:
            out[key] = value
    return out


# --- validation helpers ----------------------------------------------------------------------
def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise CrawlConfigError(f"{where}.{key}: expected a list")
    return value


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise CrawlConfigError(f"{where}.{key}: expected a table")
    return value


def _str(item: Any, where: str, key: str) -> str:
    if not isinstance(item, Mapping) or not isinstance(item.get(key), str) or not item[key]:
        raise CrawlConfigError(f"{where}: required text is missing")
    return str(item[key])


def _opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise CrawlConfigError(f"{where}.{key}: expected non-empty text")
    return value


def _kind(value: str, where: str) -> CandidateKind:
    try:
        return CandidateKind(value)
    except ValueError:
        raise CrawlConfigError(f"{where}: kind {value!r} is not 'model' or 'image'") from None


def _placement_value(value: str, where: str) -> Placement:
    try:
        return Placement(value)
    except ValueError:
        names = ", ".join(p.value for p in Placement)
        raise CrawlConfigError(f"{where}: placement {value!r} is not one of {names}") from None


def _placement(item: Any, where: str, i: int) -> Placement:
    return _placement_value(_str(item, f"{where}.listings[{i}].placement", "placement"), where)


def _pattern(item: Any, where: str) -> str:
    pattern = _str(item, where, "pattern")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise CrawlConfigError(f"{where}: not a regular expression: {exc}") from None
    if "id" not in compiled.groupindex:
        raise CrawlConfigError(f"{where}: the pattern needs an (?P<id>...) group")
    return pattern


def _path(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise CrawlConfigError(f"{where}: expected a JSON path")
    try:
        compile_path(value)
    except CrawlConfigError as exc:
        raise CrawlConfigError(f"{where}: {exc}") from None
    return value


def _source(item: Any, where: str, name_key: str) -> DataSource:
    if not isinstance(item, Mapping):
        raise CrawlConfigError(f"{where}: expected a table")
    unknown = sorted(set(item) - {name_key, "items", "more", "last", "next", "placement"})
    if unknown:
        raise CrawlConfigError(f"{where}.{unknown[0]}: unknown key")
    name = _str(item, f"{where}.{name_key}", name_key)
    if name_key == "url":
        try:
            re.compile(name)
        except re.error as exc:
            raise CrawlConfigError(f"{where}.url: not a regular expression: {exc}") from None
    items = item.get("items")
    if not isinstance(items, Mapping) or not items:
        raise CrawlConfigError(f"{where}.items: expected a table kind -> path")
    placement = item.get("placement")
    return DataSource(
        name=name,
        items={
            _kind(k, f"{where}.items"): _path(v, f"{where}.items.{k}") for k, v in items.items()
        },
        more=_path(item["more"], f"{where}.more") if "more" in item else None,
        last=_path(item["last"], f"{where}.last") if "last" in item else None,
        next=_path(item["next"], f"{where}.next") if "next" in item else None,
        placement=_placement_value(placement, f"{where}.placement") if placement else None,
    )


def _source_mapping(source: DataSource, name_key: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        name_key: source.name,
        "items": {k.value: v for k, v in source.items.items()},
    }
    if source.more is not None:
        out["more"] = source.more
    if source.last is not None:
        out["last"] = source.last
    if source.next is not None:
        out["next"] = source.next
    if source.placement is not None:
        out["placement"] = source.placement.value
    return out


def _field_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise CrawlConfigError(f"{where}: expected a table field -> path")
    out: dict[str, str] = {}
    for name, path in value.items():
        if name not in FIELDS:
            raise CrawlConfigError(f"{where}.{name}: unknown field (known: {', '.join(FIELDS)})")
        out[name] = _path(path, f"{where}.{name}")
    if "id" not in out:
        raise CrawlConfigError(f"{where}.id: every field mapping needs the item's id")
    return out


def _selectors(value: Mapping[str, Any], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, css in value.items():
        if name not in FIELDS or name == "id":
            raise CrawlConfigError(f"{where}.{name}: unknown field (known: {', '.join(FIELDS)})")
        if not isinstance(css, str) or not css:
            raise CrawlConfigError(f"{where}.{name}: expected a CSS selector")
        out[name] = css
    return out
