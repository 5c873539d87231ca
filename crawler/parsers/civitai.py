"""Civitai REST API v1 documents to items (platforms.md §1.2-1.5).

- ``GET /api/v1/models``: ``{"items": [model...], "metadata": {"nextCursor", "nextPage"}}``;
  the end of data is ``nextCursor`` absent or null (§1.2, pagination.md).
- ``GET /api/v1/images``: same envelope, items carry ``meta`` only with ``withMeta=true``
  (§1.5); ``hash`` there is a BlurHash, not a content digest.
- ``allowCommercialUse`` comes as a Postgres array literal string (``"{Image,RentCivit}"``), an
  older single string, or a JSON array: all three are accepted (§1.2 field notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawler.exceptions import ParseError
from crawler.items import (
    GenerationResource,
    ImageCandidate,
    LicenceFlags,
    ModelCandidate,
    ModelFile,
)
from crawler.parsers import (
    ParseContext,
    as_list,
    as_mapping,
    numeric_stats,
    opt_bool,
    opt_float,
    opt_int,
    opt_str,
    parse_time,
    str_tuple,
)


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items and the URL of the next page, if any."""

    items: tuple[ModelCandidate, ...] | tuple[ImageCandidate, ...]
    next_url: str | None
    skipped: tuple[str, ...] = ()  # reasons for entries that could not be parsed


def next_page_url(url: str, data: Mapping[str, Any]) -> str | None:
    """The next page per ``metadata``: ``nextPage`` when given, else ``cursor=nextCursor``."""
    meta = data.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    cursor = meta.get("nextCursor")
    if cursor is None or cursor == "":
        return None
    next_page = meta.get("nextPage")
    if isinstance(next_page, str) and next_page:
        return next_page
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("cursor", "page")]
    query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def commercial_use(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str))
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        return tuple(part.strip().strip('"') for part in text.split(",") if part.strip())
    return ()


def _file(entry: Mapping[str, Any]) -> ModelFile:
    hashes_raw = entry.get("hashes")
    hashes = (
        {str(k): str(v) for k, v in hashes_raw.items() if isinstance(v, str)}
        if isinstance(hashes_raw, Mapping)
        else {}
    )
    sha = hashes.get("SHA256")
    size_kb = opt_float(entry.get("sizeKB"))
    return ModelFile(
        name=str(entry.get("name") or ""),
        url=opt_str(entry.get("downloadUrl")),
        size_bytes=int(size_kb * 1024) if size_kb is not None else None,
        sha256=sha.lower() if sha else None,
        hashes=hashes,
        primary=entry.get("primary") is True,
    )


def parse_model(entry: object, ctx: ParseContext, index: int) -> ModelCandidate:
    model = as_mapping(entry, ctx.url, f"items[{index}]")
    model_id = opt_int(model.get("id"))
    if model_id is None:
        raise ParseError(ctx.url, f"items[{index}] has no integer id")
    versions = [v for v in model.get("modelVersions") or [] if isinstance(v, Mapping)]
    trigger: list[str] = []
    files: list[ModelFile] = []
    media: list[str] = []
    for version in versions:
        for word in str_tuple(version.get("trainedWords")):
            if word not in trigger:
                trigger.append(word)
        files.extend(_file(f) for f in version.get("files") or [] if isinstance(f, Mapping))
        for image in version.get("images") or []:
            if isinstance(image, Mapping) and isinstance(image.get("url"), str):
                media.append(image["url"])
    creator = model.get("creator")
    created = [parse_time(v.get("publishedAt") or v.get("createdAt")) for v in versions]
    known = [c for c in created if c is not None]
    return ModelCandidate(
        platform=ctx.platform,
        external_id=str(model_id),
        page_url=f"{ctx.base_url}/models/{model_id}",
        media_urls=tuple(media),
        title=opt_str(model.get("name")),
        description=opt_str(model.get("description")),
        tags=str_tuple(model.get("tags")),
        creator=opt_str(creator.get("username")) if isinstance(creator, Mapping) else None,
        created_at=min(known) if known else None,
        stats=numeric_stats(model.get("stats")),
        licence=LicenceFlags(
            allow_no_credit=opt_bool(model.get("allowNoCredit")),
            allow_commercial_use=commercial_use(model.get("allowCommercialUse")),
            allow_derivatives=opt_bool(model.get("allowDerivatives")),
            allow_different_licence=opt_bool(model.get("allowDifferentLicense")),
            mode=opt_str(model.get("mode")),
            nsfw=opt_bool(model.get("nsfw")),
            poi=opt_bool(model.get("poi")),
        ),
        raw=dict(model),
        fetched_at=ctx.fetched_at,
        warc_record_id=ctx.warc_record_id,
        discovery=ctx.discovery(index),
        trigger_words=tuple(trigger),
        version_ids=tuple(str(v["id"]) for v in versions if opt_int(v.get("id")) is not None),
        base_model=opt_str(versions[0].get("baseModel")) if versions else None,
        files=tuple(files),
    )


def _resources(meta: Mapping[str, Any]) -> tuple[GenerationResource, ...]:
    out: list[GenerationResource] = []
    for res in meta.get("resources") or []:
        if isinstance(res, Mapping):
            out.append(
                GenerationResource(
                    name=opt_str(res.get("name")),
                    type=opt_str(res.get("type")),
                    weight=opt_float(res.get("weight")),
                    hash=opt_str(res.get("hash")),
                )
            )
    for res in meta.get("civitaiResources") or []:
        if isinstance(res, Mapping):
            out.append(
                GenerationResource(
                    name=opt_str(res.get("modelVersionName")),
                    type=opt_str(res.get("type")),
                    weight=opt_float(res.get("weight")),
                    model_version_id=opt_int(res.get("modelVersionId")),
                )
            )
    return tuple(out)


def parse_image(entry: object, ctx: ParseContext, index: int) -> ImageCandidate:
    image = as_mapping(entry, ctx.url, f"items[{index}]")
    image_id = opt_int(image.get("id"))
    url = opt_str(image.get("url"))
    if image_id is None or url is None:
        raise ParseError(ctx.url, f"items[{index}] lacks an integer id or a url")
    meta = image.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    nsfw = image.get("nsfw")
    return ImageCandidate(
        platform=ctx.platform,
        external_id=str(image_id),
        page_url=f"{ctx.base_url}/images/{image_id}",
        media_urls=(url,),
        title=None,
        description=None,
        tags=str_tuple(image.get("tags")),
        creator=opt_str(image.get("username")),
        created_at=parse_time(image.get("createdAt")),
        stats=numeric_stats(image.get("stats")),
        licence=LicenceFlags(nsfw=nsfw if isinstance(nsfw, bool) else None),
        raw=dict(image),
        fetched_at=ctx.fetched_at,
        warc_record_id=ctx.warc_record_id,
        discovery=ctx.discovery(index),
        prompt=opt_str(meta.get("prompt")),
        negative_prompt=opt_str(meta.get("negativePrompt")),
        resources=_resources(meta),
        model_version_ids=tuple(
            v for v in (opt_int(x) for x in image.get("modelVersionIds") or []) if v is not None
        ),
        width=opt_int(image.get("width")),
        height=opt_int(image.get("height")),
    )


def _page(data: object, ctx: ParseContext, kind: str) -> Page:
    doc = as_mapping(data, ctx.url, "response")
    entries = as_list(doc.get("items"), ctx.url, "items")
    items: list[Any] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        try:
            parse = parse_model if kind == "model" else parse_image
            items.append(parse(entry, ctx, index))
        except ParseError as exc:
            skipped.append(exc.reason)
    return Page(items=tuple(items), next_url=next_page_url(ctx.url, doc), skipped=tuple(skipped))


def parse_models_page(data: object, ctx: ParseContext) -> Page:
    """A ``/api/v1/models`` page."""
    return _page(data, ctx, "model")


def parse_images_page(data: object, ctx: ParseContext) -> Page:
    """A ``/api/v1/images`` page."""
    return _page(data, ctx, "image")


def error_message(data: object) -> str | None:
    """The platform's error text: ``{"error": ...}`` or tRPC ``{"message": ...}`` (§1.1)."""
    if isinstance(data, Mapping):
        for key in ("error", "message"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return None
