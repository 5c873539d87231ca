"""Civitai-shaped REST API, download redirect, signed storage and image CDN (research §1).

- ``GET /api/v1/models``: types, query, tag, username, baseModels, sort, period, nsfw, limit
  (1-100, default 100), cursor (``metadata.nextCursor``/``nextPage``) or page; ``query`` with
  ``page`` gives 400; ``page * limit > 1000`` gives 429; ``favorites``/``hidden`` need a token.
- ``GET /api/v1/models/{id}``, ``/api/v1/model-versions/{id}``, ``/by-hash/{hash}``.
- ``GET /api/v1/images``: modelId, modelVersionId, username, imageId, postId, sort, limit
  (0-200, default 50), cursor or page, withMeta.
- ``POST /api/v1/model-versions/by-hash`` (JSON array of <= 100 SHA256), ``GET /api/v1/tags``
  (limit 1-200, page, query), ``GET /api/v1/enums``.
- ``GET /api/download/models/{versionId}``: with a token (``Authorization: Bearer`` or
  ``?token=``) 302 to a new signed, expiring URL on the CDN listener (:mod:`sandbox.cdn`) on
  every call; without one, 401 JSON when the client asks for JSON, else a 302 to ``/login``.
- Mature content (real-platforms.md, Civitai 3): models with ``nsfwLevel`` > 1 are listed
  only with ``nsfw=true``; images are filtered by the ``browsingLevel`` bitmask (or the legacy
  ``nsfw``); anonymous callers are capped at level 1 (PG) either way.
- ``query`` search drops hits as the real one does (real-platforms.md, Civitai 6): it fetches
  ``limit + 1`` hits and pops the last as the cursor, and the next page starts below it, so
  one hit per page and the last hit of a search are never returned.
- ``GET /robots.txt``: Civitai's production rules (``Disallow: /api/*``).
- ``GET /cdn/<key>/<uuid>/<params>/<id>.jpeg``: image renditions (``width=N``, ``original=true``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.civitai_json import (
    CDN_KEY,
    ENUMS,
    download_name,
    image_json,
    image_uuid,
    model_json,
    version_detail_json,
)
from sandbox.site import Site, base_url, byte_response, json_response, query_without
from sandbox.world import Model, Picture, Platform

CACHE = {"Cache-Control": "public, s-maxage=300, stale-while-revalidate=150"}
CORS = {"Access-Control-Allow-Origin": "*"}
MODEL_SORTS: dict[str, Callable[[Model], Any]] = {
    "Highest Rated": lambda m: -m.likes,
    "Most Downloaded": lambda m: -m.downloads,
    "Most Liked": lambda m: -m.likes,
    "Most Discussed": lambda m: -(m.likes // 20),
    "Most Collected": lambda m: -(m.likes // 2),
    "Most Images": lambda m: -m.downloads % 97,
    "Newest": lambda m: -m.created.timestamp(),
    "Oldest": lambda m: m.created.timestamp(),
}
IMAGE_SORTS: dict[str, Callable[[Picture], Any]] = {
    "Most Reactions": lambda p: -p.likes,
    "Most Comments": lambda p: -(p.likes // 25),
    "Most Collected": lambda p: -(p.likes // 2),
    "Newest": lambda p: -p.created.timestamp(),
    "Oldest": lambda p: p.created.timestamp(),
}
# civitai/civitai next-sitemap.config.js, production (real-platforms.md, Civitai 1)
ROBOTS_TXT = """# *
User-agent: *
Allow: /api/trpc/*
Disallow: /*/create
Disallow: /api/*
Disallow: /discord/*
Disallow: /dmca/*
Disallow: /intent/*
Disallow: /models/train
Disallow: /models/*/wizard
Disallow: /models/*/model-versions/*/wizard
Disallow: /moderator/*
Disallow: /payment/*
Disallow: /redirect
Disallow: /search/*
Disallow: /testing/*
Disallow: /user/account
Disallow: /user/downloads
Disallow: /user/notifications
Disallow: /user/transactions
Disallow: /user/buzz-dashboard
Disallow: /user/vault
Disallow: /user/membership
Disallow: /tipalti/*
Disallow: /research/*
Disallow: /claim/*
Disallow: /collections/youtube/auth
Disallow: /questions/*
"""
NSFW_LEVELS = {"none": 1, "soft": 3, "mature": 7, "x": 31, "true": 31, "false": 1}
ALL_LEVELS = 31
QUERY_WITH_PAGE = "Cannot use page param with query search. Use cursor-based pagination."
SHA256_HEX = re.compile(r"^[0-9A-Fa-f]{64}$")
PERIODS = ("AllTime", "Year", "Month", "Week", "Day")


class BadQuery(Exception):
    """A query parameter Civitai's validation would refuse (becomes a 400)."""


def error(message: str, status: int) -> Response:
    return json_response({"error": message}, status, headers=CORS)


def _int(request: Request, name: str, low: int, high: int, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name}: Expected number, received string") from None
    if not low <= value <= high:
        raise BadQuery(f"{name}: Number must be between {low} and {high}")
    return value


def _list(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return header[7:].strip()
    return request.query_params.get("token") or None


def browsing_levels(request: Request, default: int = 1) -> int:
    """The caller's browsing-level bitmask: ``browsingLevel``, else ``nsfw``; anonymous = 1."""
    raw = request.query_params.get("browsingLevel")
    if raw:
        if not raw.isdigit():
            raise BadQuery("browsingLevel: Expected number, received string")
        levels = int(raw)
    else:
        levels = NSFW_LEVELS.get(request.query_params.get("nsfw", "").lower(), default)
    return levels if _token(request) else levels & 1


def _search_page(
    request: Request, found: list[Model], limit: int
) -> tuple[list[Model], dict[str, Any]]:
    """A ``query`` page, dropping hits as the real handler does (limit + 1, pop as cursor)."""
    cursor = request.query_params.get("cursor")
    if cursor:
        if not cursor.isdigit():
            raise BadQuery("cursor: Invalid cursor")
        found = [m for m in found if int(m.external_id) < int(cursor)]
    fetched = found[: limit + 1]
    meta: dict[str, Any] = {}
    if fetched:
        popped = fetched.pop()
        if len(found) > limit:
            base = f"{base_url(request)}{request.url.path}"
            query = [*query_without(request, "cursor"), ("cursor", popped.external_id)]
            meta = {"nextCursor": popped.external_id, "nextPage": f"{base}?{urlencode(query)}"}
    return fetched, meta


def _paginate(
    request: Request, ordered: list[Any], key: Callable[[Any], str], limit: int
) -> tuple[list[Any], dict[str, Any]] | Response:
    """Page or cursor pagination with Civitai's metadata; a Response on refusal."""
    page = _int(request, "page", 1, 10**6, None)
    base = f"{base_url(request)}{request.url.path}"
    if page is not None:
        if page * limit > 1000:
            return error("You've requested too many pages, please use cursors instead", 429)
        start = (page - 1) * limit
        chunk = ordered[start : start + limit]
        total_pages = max(1, -(-len(ordered) // max(1, limit)))
        meta: dict[str, Any] = {
            "totalItems": len(ordered),
            "currentPage": page,
            "pageSize": limit,
            "totalPages": total_pages,
        }
        if start + limit < len(ordered):
            query = [*query_without(request, "page"), ("page", str(page + 1))]
            meta["nextPage"] = f"{base}?{urlencode(query)}"
        return chunk, meta
    start = 0
    cursor = request.query_params.get("cursor")
    if cursor:
        offset, _, last = cursor.partition("|")
        if not offset.isdigit():
            raise BadQuery("cursor: Invalid cursor")
        start = int(offset)
        positions = [i for i, item in enumerate(ordered) if key(item) == last]
        if positions:
            start = positions[0] + 1
    chunk = ordered[start : start + limit]
    meta = {}
    if start + limit < len(ordered) and chunk:
        next_cursor = f"{start + len(chunk)}|{key(chunk[-1])}"
        query = [*query_without(request, "cursor"), ("cursor", next_cursor)]
        meta = {"nextCursor": next_cursor, "nextPage": f"{base}?{urlencode(query)}"}
    return chunk, meta


def _matches(model: Model, needle: str) -> bool:
    haystack = [model.title, model.creator, *model.naming.tags, model.naming.trigger]
    return any(needle in text.casefold() for text in haystack)


def routes(site: Site) -> list[BaseRoute]:
    world, media = site.world, site.media
    orders: dict[str, list[Any]] = {}

    def ordered_models(sort: str) -> list[Model]:
        """All Civitai models in ``sort`` order (cached; takedowns are filtered later)."""
        key = f"models:{sort}"
        if key not in orders:
            models = world.models_on(Platform.CIVITAI)
            models.sort(key=lambda m: (MODEL_SORTS[sort](m), len(m.external_id), m.external_id))
            orders[key] = models
        return orders[key]

    def ordered_pictures(sort: str) -> list[Picture]:
        key = f"images:{sort}"
        if key not in orders:
            pictures = world.pictures_on(Platform.CIVITAI)
            pictures.sort(key=lambda p: (IMAGE_SORTS[sort](p), len(p.external_id), p.external_id))
            orders[key] = pictures
        return orders[key]

    async def models(request: Request) -> Response:
        try:
            if request.query_params.get("query") and request.query_params.get("page"):
                return error(QUERY_WITH_PAGE, 400)
            limit = _int(request, "limit", 1, 100, 100) or 100
            sort = request.query_params.get("sort", "Highest Rated")
            if sort not in MODEL_SORTS:
                raise BadQuery(f"sort: Invalid enum value. Expected {' | '.join(MODEL_SORTS)}")
            if request.query_params.get("period", "AllTime") not in PERIODS:
                raise BadQuery(f"period: Invalid enum value. Expected {' | '.join(PERIODS)}")
            if (
                request.query_params.get("favorites") == "true"
                or request.query_params.get("hidden") == "true"
            ) and not _token(request):
                return error("Unauthorized", 401)
            found = [m for m in ordered_models(sort) if not world.is_removed(m)]
            if types := {t.upper() for t in _list(request, "types")}:
                found = [m for m in found if m.model_type.upper() in types]
            levels = ALL_LEVELS if request.query_params.get("nsfw") == "true" else 1
            levels = levels if _token(request) else 1
            found = [m for m in found if m.nsfw_level & levels]
            if query := request.query_params.get("query", "").casefold():
                found = [m for m in found if _matches(m, query)]
            if tag := request.query_params.get("tag", "").casefold():
                found = [m for m in found if tag in (t.casefold() for t in m.naming.tags)]
            if username := request.query_params.get("username", "").casefold():
                found = [m for m in found if m.creator.casefold() == username]
            if bases := set(_list(request, "baseModels")):
                found = [m for m in found if m.base_model in bases]
            if ids := _list(request, "ids"):
                found = [m for m in found if m.external_id in ids]
            if query:
                found.sort(key=lambda m: -int(m.external_id))
                paged: Any = _search_page(request, found, limit)
            else:
                paged = _paginate(request, found, lambda m: m.external_id, limit)
        except BadQuery as exc:
            return error(str(exc), 400)
        if isinstance(paged, Response):
            return paged
        chunk, meta = paged
        base = base_url(request)
        items = await run_in_threadpool(lambda: [model_json(site, base, m, levels) for m in chunk])
        return json_response({"items": items, "metadata": meta}, headers={**CACHE, **CORS})

    async def model(request: Request) -> Response:
        raw = request.path_params["id"]
        if not raw.isdigit():
            return error(f"id: Expected number, received {raw!r}", 400)
        found = world.model(raw, Platform.CIVITAI)
        if found is None:
            return error(f"No model with id {int(raw)}", 404)
        levels = ALL_LEVELS if _token(request) else 1
        data = await run_in_threadpool(model_json, site, base_url(request), found, levels)
        return json_response(data, headers={**CACHE, **CORS})

    async def version(request: Request) -> Response:
        raw = request.path_params["id"]
        found = world.version(int(raw)) if raw.isdigit() else None
        if found is None or found[0].platform != Platform.CIVITAI:
            return error(f"No version with id {raw}", 404)
        data = await run_in_threadpool(version_detail_json, site, base_url(request), *found)
        return json_response(data, headers={**CACHE, **CORS})

    async def by_hash(request: Request) -> Response:
        found = await run_in_threadpool(media.find_by_hash, request.path_params["hash"])
        if found is None:
            return error("Model not found", 404)
        data = await run_in_threadpool(version_detail_json, site, base_url(request), *found)
        return json_response(data, headers={**CACHE, **CORS})

    async def by_hashes(request: Request) -> Response:
        try:
            wanted = json.loads(await request.body())
        except ValueError:
            return error("Body must be a JSON array of SHA256 hashes", 400)
        if not isinstance(wanted, list) or len(wanted) > 100:
            return error("Body must be a JSON array of at most 100 SHA256 hashes", 400)
        if not all(isinstance(h, str) and SHA256_HEX.match(h) for h in wanted):
            return error("Every hash must be a 64-character SHA256", 400)
        found = [media.find_by_hash(h) for h in wanted]
        base = base_url(request)
        data = await run_in_threadpool(
            lambda: [version_detail_json(site, base, *pair) for pair in found if pair]
        )
        return json_response(data, headers=CORS)

    async def tags(request: Request) -> Response:
        try:
            limit = _int(request, "limit", 1, 200, 20) or 20
            page = _int(request, "page", 1, 10**6, 1) or 1
        except BadQuery as exc:
            return error(str(exc), 400)
        needle = request.query_params.get("query", "").casefold()
        names = sorted({t for m in world.models_on(Platform.CIVITAI) for t in m.naming.tags})
        names = [n for n in names if needle in n.casefold()]
        base = base_url(request)
        chunk = names[(page - 1) * limit : page * limit]
        items = [
            {"name": n, "link": f"{base}/api/v1/models?{urlencode({'tag': n})}"} for n in chunk
        ]
        meta: dict[str, Any] = {
            "totalItems": len(names),
            "currentPage": page,
            "pageSize": limit,
            "totalPages": max(1, -(-len(names) // limit)),
        }
        if page * limit < len(names):
            query = [*query_without(request, "page"), ("page", str(page + 1))]
            meta["nextPage"] = f"{base}/api/v1/tags?{urlencode(query)}"
        return json_response({"items": items, "metadata": meta}, headers={**CACHE, **CORS})

    async def enums(request: Request) -> Response:
        return json_response(ENUMS, headers={**CACHE, **CORS})

    async def images(request: Request) -> Response:
        if (busy := site.busy.answer(request)) is not None:
            return busy  # 503 + Retry-After under load (real-platforms.md, Civitai 7)
        try:
            limit = _int(request, "limit", 0, 200, 50)
            sort = request.query_params.get("sort", "Most Reactions")
            if sort not in IMAGE_SORTS:
                raise BadQuery(f"sort: Invalid enum value. Expected {' | '.join(IMAGE_SORTS)}")
            found = [p for p in ordered_pictures(sort) if not world.is_removed(p)]
            if model_id := _int(request, "modelId", 0, 10**12, None):
                found = [p for p in found if p.model_id == str(model_id)]
            if version_id := _int(request, "modelVersionId", 0, 10**12, None):
                found = [p for p in found if p.version_id == version_id]
            if image_id := _int(request, "imageId", 0, 10**12, None):
                found = [p for p in found if p.external_id == str(image_id)]
            if post_id := _int(request, "postId", 0, 10**12, None):
                found = [p for p in found if 1_000_000 + p.ordinal == post_id]
            if username := request.query_params.get("username", "").casefold():
                found = [p for p in found if p.creator.casefold() == username]
            levels = browsing_levels(request)
            found = [p for p in found if p.browsing_level & levels]
            paged = _paginate(request, found, lambda p: p.external_id, limit or 50)
        except BadQuery as exc:
            return error(str(exc), 400)
        if isinstance(paged, Response):
            return paged
        chunk, meta = paged
        with_meta = request.query_params.get("withMeta", "false").lower() == "true"
        base = base_url(request)
        items = await run_in_threadpool(
            lambda: [image_json(site, base, p, with_meta) for p in chunk]
        )
        return json_response({"items": items, "metadata": meta}, headers={**CACHE, **CORS})

    async def download(request: Request) -> Response:
        raw = request.path_params["version_id"]
        found = world.version(int(raw)) if raw.isdigit() else None
        if found is None or found[0].platform != Platform.CIVITAI or world.is_removed(found[0]):
            return error("Model not found", 404)
        if not _token(request):
            wants_json = "application/json" in (
                request.headers.get("content-type", "") + request.headers.get("accept", "")
            )
            if wants_json:
                return error("Unauthorized", 401)
            return RedirectResponse(f"/login?returnUrl={quote(request.url.path)}", 302)
        model_, version_ = found
        site.downloads[version_.id] += 1  # logged per call, as the real handler does
        path = f"/civitai-delivery/{version_.id}/{quote(download_name(model_, version_))}"
        return RedirectResponse(site.signed_url(path), 302)

    async def robots(request: Request) -> Response:
        return Response(ROBOTS_TXT, media_type="text/plain")

    async def cdn(request: Request) -> Response:
        params = request.path_params
        picture = world.picture(params["image_id"], Platform.CIVITAI)
        if (
            params["key"] != CDN_KEY
            or picture is None
            or image_uuid(picture) != params["uuid"]
            or world.is_removed(picture)
        ):
            return Response(b"Not Found", 404, media_type="text/plain")
        width = None
        for option in params["options"].split(","):
            name, _, value = option.partition("=")
            if name == "width" and value.isdigit():
                width = min(max(int(value), 16), 1800)
        data = await run_in_threadpool(media.picture_bytes, picture, width)
        kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        return byte_response(request, data, kind, {"Cache-Control": "public, max-age=31536000"})

    async def login(request: Request) -> Response:
        page = "<!DOCTYPE html><title>Sign in | Civitai (sandbox)</title><h1>Sign in</h1>"
        return Response(page, media_type="text/html")

    return [
        Route("/api/v1/models", models),
        Route("/api/v1/models/{id}", model),
        Route("/api/v1/model-versions/by-hash", by_hashes, methods=["POST"]),
        Route("/api/v1/model-versions/by-hash/{hash}", by_hash),
        Route("/api/v1/tags", tags),
        Route("/api/v1/enums", enums),
        Route("/api/v1/model-versions/{id}", version),
        Route("/api/v1/images", images),
        Route("/api/download/models/{version_id}", download),
        Route("/robots.txt", robots),
        Route("/cdn/{key}/{uuid}/{options}/{image_id}.jpeg", cdn, methods=["GET", "HEAD"]),
        Route("/login", login),
    ]
