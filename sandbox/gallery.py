"""A JavaScript-only gallery site, shaped like Tensor.Art, SeaArt or LiblibAI (research §4).

Its HTML pages are empty shells: ``/gallery/static/gallery.js`` fills them from an internal
JSON API (POST, JSON body, ``{"code": "0", "data": ...}`` envelopes, as those sites use):

- ``POST /gallery/api/v1/feed`` ``{"type": "posts"|"models", "cursor": "", "size": 20,
  "sort": "NEWEST"|"HOT", "keyword": ""}`` -> ``data.items``, ``data.cursor``, ``data.hasMore``;
- ``POST /gallery/api/v1/recommend`` -> ``data.models``, ``data.posts`` (the home page's
  "推荐 Recommended" section: the hottest items, character items first);
- ``POST /gallery/api/v1/post/detail`` and ``/model/detail`` ``{"id": "..."}``; a removed
  item answers ``{"code": "404", "message": "This work has been removed", "data": null}``.

Pages: ``/gallery/`` (home, recommended + infinite-scroll feed), ``/gallery/models`` (model
feed), ``/gallery/search?keyword=`` (the post feed filtered by the keyword),
``/gallery/posts/{id}`` and ``/gallery/models/{id}`` (details; 404 when unknown, 410
"removed" page after a takedown). Media, with absolute URLs in the JSON:
``/gallery/cdn/posts/{id}.png``; model files ``/gallery/cdn/models/{id}/{file}`` (public,
Range-capable).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.pages import removed_page, render_shell
from sandbox.site import Site, base_url, byte_response, json_response
from sandbox.world import Model, Picture, Platform

MAX_SIZE = 50
POST_TITLES = (
    "sunset walk",
    "new OC!",
    "daily gen #",
    "test render",
    "my favourite",
    "壁纸",
    "作品",
)


def _ms(moment: Any) -> str:
    return str(int(moment.timestamp() * 1000))


def post_title(site: Site, picture: Picture) -> str:
    model = site.world.model(picture.model_id) if picture.model_id else None
    if model is not None:
        return f"{model.title} · sample"
    pick = int(hashlib.sha256(picture.external_id.encode()).hexdigest(), 16)
    return f"{POST_TITLES[pick % len(POST_TITLES)]} {picture.ordinal}"


def _owner(name: str) -> dict[str, str]:
    return {
        "userId": hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:16],
        "nickname": name,
    }


def post_json(site: Site, base: str, picture: Picture) -> dict[str, Any]:
    meta = site.media.meta(picture)
    width, height = meta.size
    models = []
    if meta.lora is not None:
        models.append(
            {
                "type": "LORA",
                "modelId": meta.lora.external_id,
                "label": meta.lora.title,
                "weight": 0.8,
            }
        )
    return {
        "id": picture.external_id,
        "title": post_title(site, picture),
        "nsfw": False,
        "createdAt": _ms(picture.created),
        "owner": _owner(picture.creator),
        "stats": {"likeCount": picture.likes, "commentCount": picture.likes // 25},
        "images": [
            {
                "url": f"{base}/gallery/cdn/posts/{picture.external_id}.png",
                "width": width,
                "height": height,
                "generationData": {
                    "prompt": meta.prompt,
                    "negativePrompt": meta.negative_prompt,
                    "seed": str(meta.seed),
                    "steps": meta.steps,
                    "cfgScale": meta.cfg_scale,
                    "sampler": meta.sampler,
                    "baseModel": {"label": meta.checkpoint},
                    "models": models,
                },
            }
        ],
    }


def model_json(site: Site, base: str, model: Model) -> dict[str, Any]:
    data = site.media.lora_bytes(model)
    covers = site.world.pictures_of(model)[:4]
    file_url = f"{base}/gallery/cdn/models/{model.external_id}/{model.filename}"
    return {
        "id": model.external_id,
        "name": model.title,
        "type": "LORA",
        "triggerWord": model.naming.trigger,
        "tags": [{"name": tag} for tag in model.naming.tags],
        "baseModel": model.base_model,
        "createdAt": _ms(model.created),
        "owner": _owner(model.creator),
        "stats": {
            "downloadCount": model.downloads,
            "runCount": model.downloads * 3,
            "likeCount": model.likes,
        },
        "cover": {"url": f"{base}/gallery/cdn/posts/{covers[0].external_id}.png"}
        if covers
        else None,
        "versions": [
            {
                "id": f"{model.external_id}01",
                "name": model.versions[0].name,
                "triggerWord": model.naming.trigger,
                "file": {
                    "name": model.filename,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "downloadUrl": file_url,
                },
                "images": [post_json(site, base, p) for p in covers],
            }
        ],
    }


def _envelope(data: Any, code: str = "0", message: str = "") -> Response:
    return json_response({"code": code, "message": message, "data": data})


async def _body(request: Request) -> dict[str, Any]:
    try:
        parsed = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _heat(item: Model | Picture) -> tuple[bool, int]:
    score = item.likes + (item.downloads // 10 if isinstance(item, Model) else 0)
    return (item.character is None, -score)


def routes(site: Site) -> list[BaseRoute]:
    world, media = site.world, site.media

    def live_models() -> list[Model]:
        return [m for m in world.models_on(Platform.GALLERY) if not world.is_removed(m)]

    def live_posts() -> list[Picture]:
        return [p for p in world.pictures_on(Platform.GALLERY) if not world.is_removed(p)]

    async def feed(request: Request) -> Response:
        body = await _body(request)
        kind = body.get("type", "posts")
        try:
            size = min(MAX_SIZE, max(1, int(body.get("size", 20))))
            start = int(body.get("cursor") or 0)
        except (TypeError, ValueError):
            return _envelope(None, "400", "invalid size or cursor")
        keyword = str(body.get("keyword", "")).casefold()
        items: list[Any]
        if kind == "models":
            items = live_models()
            if keyword:
                found = [
                    m for m in items if keyword in (m.title + " " + m.naming.trigger).casefold()
                ]
                items = found
        elif kind == "posts":
            items = live_posts()
            if keyword:
                items = [p for p in items if keyword in p.prompt.casefold()]
        else:
            return _envelope(None, "400", f"unknown feed type {kind!r}")
        if body.get("sort") == "HOT":
            items.sort(key=lambda i: -i.likes)
        else:
            items.sort(key=lambda i: -i.created.timestamp())
        chunk = items[start : start + size]
        base = base_url(request)

        def render() -> list[dict[str, Any]]:
            return [
                model_json(site, base, i) if isinstance(i, Model) else post_json(site, base, i)
                for i in chunk
            ]

        rendered = await run_in_threadpool(render)
        has_more = start + size < len(items)
        return _envelope(
            {
                "items": rendered,
                "cursor": str(start + size) if has_more else "",
                "hasMore": has_more,
            }
        )

    async def recommend(request: Request) -> Response:
        models = sorted(live_models(), key=_heat)[:6]
        posts = sorted(live_posts(), key=_heat)[:8]
        base = base_url(request)

        def build() -> dict[str, Any]:
            return {
                "models": [model_json(site, base, m) for m in models],
                "posts": [post_json(site, base, p) for p in posts],
            }

        return _envelope(await run_in_threadpool(build))

    async def post_detail(request: Request) -> Response:
        picture = world.picture(str((await _body(request)).get("id", "")), Platform.GALLERY)
        if picture is None:
            return _envelope(None, "404", "Not found")
        if world.is_removed(picture):
            return _envelope(None, "404", "This work has been removed")
        return _envelope(await run_in_threadpool(post_json, site, base_url(request), picture))

    async def model_detail(request: Request) -> Response:
        model = world.model(str((await _body(request)).get("id", "")), Platform.GALLERY)
        if model is None:
            return _envelope(None, "404", "Not found")
        if world.is_removed(model):
            return _envelope(None, "404", "This work has been removed")
        return _envelope(await run_in_threadpool(model_json, site, base_url(request), model))

    async def home(request: Request) -> Response:
        return HTMLResponse(render_shell("gallery.html", page="home", item_id="", title="Home"))

    async def models_page(request: Request) -> Response:
        return HTMLResponse(render_shell("gallery.html", page="models", item_id="", title="Models"))

    async def search_page(request: Request) -> Response:
        return HTMLResponse(render_shell("gallery.html", page="search", item_id="", title="Search"))

    async def post_page(request: Request) -> Response:
        picture = world.picture(request.path_params["id"], Platform.GALLERY)
        if picture is None or world.is_removed(picture):
            return removed_page(picture is not None, "This work has been removed")
        return HTMLResponse(
            render_shell("gallery.html", page="post", item_id=picture.external_id, title="Work")
        )

    async def model_page(request: Request) -> Response:
        model = world.model(request.path_params["id"], Platform.GALLERY)
        if model is None or world.is_removed(model):
            return removed_page(model is not None, "This model has been removed")
        return HTMLResponse(
            render_shell("gallery.html", page="model", item_id=model.external_id, title="Model")
        )

    async def post_media(request: Request) -> Response:
        picture = world.picture(request.path_params["id"], Platform.GALLERY)
        if picture is None or world.is_removed(picture):
            return Response(b"Not Found", 404, media_type="text/plain")
        data = await run_in_threadpool(media.picture_bytes, picture)
        kind = "image/jpeg" if data.startswith(b"\xff\xd8") else "image/png"
        return byte_response(request, data, kind, {"Cache-Control": "public, max-age=31536000"})

    async def model_file(request: Request) -> Response:
        model = world.model(request.path_params["id"], Platform.GALLERY)
        if (
            model is None
            or world.is_removed(model)
            or request.path_params["name"] != model.filename
        ):
            return Response(b"Not Found", 404, media_type="text/plain")
        data = await run_in_threadpool(media.lora_bytes, model)
        return byte_response(request, data, "application/octet-stream")

    return [
        Route("/gallery/api/v1/feed", feed, methods=["POST"]),
        Route("/gallery/api/v1/recommend", recommend, methods=["POST"]),
        Route("/gallery/api/v1/post/detail", post_detail, methods=["POST"]),
        Route("/gallery/api/v1/model/detail", model_detail, methods=["POST"]),
        Route("/gallery/", home),
        Route("/gallery/models", models_page),
        Route("/gallery/search", search_page),
        Route("/gallery/posts/{id}", post_page),
        Route("/gallery/models/{id}", model_page),
        Route("/gallery/cdn/posts/{id}.png", post_media, methods=["GET", "HEAD"]),
        Route("/gallery/cdn/models/{id}/{name}", model_file, methods=["GET", "HEAD"]),
    ]
