"""Gallery style (a): server-rendered pages with ``__NEXT_DATA__``, LiblibAI-like.

The gallery's items (the same world items as ``/gallery``) under ``/ssr``, shaped like
LiblibAI / Shakker (research real-platforms.md, "JavaScript galleries"): model pages at
``/ssr/modelinfo/<uuid>`` (32 hex digits), image pages at ``/ssr/imageinfo/<uuid>``; every
page is rendered on the server and carries its data in ``<script id="__NEXT_DATA__">``
(``props.pageProps``: ``list``, ``recommend``, ``page``, ``hasMore``); listings are paged by
``?page=N`` with an ``<a rel="next">`` link while more remain. Images and covers live on a
separate CDN host: the sandbox's second listener (``127.0.0.2:<port>``, ``sandbox.cdn``),
``/ssrcdn/...``.

Pages: ``/ssr/`` (推荐 recommended + newest images), ``/ssr/models`` (newest models),
``/ssr/modelinfo/<uuid>``, ``/ssr/imageinfo/<uuid>`` (410 after a takedown).
"""

from __future__ import annotations

import hashlib
import html
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.gallery import post_title
from sandbox.pages import removed_page
from sandbox.site import Site, base_url, byte_response
from sandbox.world import Model, Picture, Platform, ssr_id

PAGE_SIZE = 24


def cdn_base(site: Site, request: Request) -> str:
    """The CDN origin: the sandbox's second listener (the platform's own origin without one)."""
    return site.cdn_origin or base_url(request)


def _ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def model_data(site: Site, cdn: str, model: Model) -> dict[str, Any]:
    data = site.media.lora_bytes(model)
    covers = site.world.pictures_of(model)[:1]
    return {
        "uuid": ssr_id(model.external_id),
        "name": model.title,
        "modelType": "LORA",
        "tags": [{"tagName": t} for t in model.naming.tags],
        "triggerWord": model.naming.trigger,
        "baseModel": model.base_model,
        "user": {"nickname": model.creator},
        "createTime": _ms(model.created),
        "imageUrl": f"{cdn}/ssrcdn/img/{covers[0].external_id}.png" if covers else None,
        "versions": [
            {
                "name": model.versions[0].name,
                "attachment": {
                    "fileName": model.filename,
                    "url": f"{cdn}/ssrcdn/model/{model.external_id}/{model.filename}",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                },
            }
        ],
    }


def image_data(site: Site, cdn: str, picture: Picture) -> dict[str, Any]:
    meta = site.media.meta(picture)
    loras = [{"name": meta.lora.title}] if meta.lora is not None else []
    return {
        "uuid": ssr_id(picture.external_id),
        "title": post_title(site, picture),
        "user": {"nickname": picture.creator},
        "createTime": _ms(picture.created),
        "imageUrl": f"{cdn}/ssrcdn/img/{picture.external_id}.png",
        "generate": {"prompt": meta.prompt, "negativePrompt": meta.negative_prompt, "loras": loras},
    }


def _card(kind: str, item: dict[str, Any]) -> str:
    href = f"/ssr/{'modelinfo' if kind == 'model' else 'imageinfo'}/{item['uuid']}"
    title = html.escape(item.get("name") or item.get("title") or "")
    image = item.get("imageUrl")
    img = f'<img src="{html.escape(image)}" alt="{title}">' if image else ""
    return f'<a class="card" href="{href}">{img}<span>{title}</span></a>'


def _page(title: str, body: str, data: dict[str, Any], path: str) -> HTMLResponse:
    state = json.dumps(
        {"props": {"pageProps": data}, "page": path, "buildId": "sandbox"},
        ensure_ascii=False,
    ).replace("</", "<\\/")
    return HTMLResponse(
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · Lumina (sandbox)</title></head><body>"
        "<div id='__next'><header><a href='/ssr/'>首页</a> <a href='/ssr/models'>模型</a></header>"
        f"<main>{body}</main></div>"
        f"<script id='__NEXT_DATA__' type='application/json'>{state}</script></body></html>"
    )


def routes(site: Site) -> list[BaseRoute]:
    world = site.world

    def live_models() -> list[Model]:
        items = [m for m in world.models_on(Platform.GALLERY) if not world.is_removed(m)]
        return sorted(items, key=lambda m: -m.created.timestamp())

    def live_pictures() -> list[Picture]:
        items = [p for p in world.pictures_on(Platform.GALLERY) if not world.is_removed(p)]
        return sorted(items, key=lambda p: -p.created.timestamp())

    def by_ssr_id() -> dict[str, Model | Picture]:
        found: dict[str, Model | Picture] = {}
        for m in world.models_on(Platform.GALLERY):
            found[ssr_id(m.external_id)] = m
        for p in world.pictures_on(Platform.GALLERY):
            found[ssr_id(p.external_id)] = p
        return found

    index: dict[str, Model | Picture] = by_ssr_id()

    def page_number(request: Request) -> int:
        try:
            return max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            return 1

    async def listing(request: Request, kind: str) -> Response:
        number = page_number(request)
        cdn = cdn_base(site, request)
        items: list[Any] = live_models() if kind == "model" else live_pictures()
        chunk = items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        has_more = number * PAGE_SIZE < len(items)

        def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            render = model_data if kind == "model" else image_data
            rows = [render(site, cdn, i) for i in chunk]
            recommend: list[dict[str, Any]] = []
            if kind == "image" and number == 1:
                hot = sorted(live_models(), key=lambda m: (m.character is None, -m.likes))[:6]
                recommend = [model_data(site, cdn, m) for m in hot]
            return rows, recommend

        rows, recommend = await run_in_threadpool(build)
        path = "/ssr/" if kind == "image" else "/ssr/models"
        body = ""
        if recommend:
            cards = "".join(_card("model", r) for r in recommend)
            body += f"<section class='recommend'><h2>推荐 Recommended</h2>{cards}</section>"
        body += "<div class='list'>" + "".join(_card(kind, r) for r in rows) + "</div>"
        if has_more:
            body += f"<nav><a rel='next' href='{path}?page={number + 1}'>下一页</a></nav>"
        data = {"list": rows, "recommend": recommend, "page": number, "hasMore": has_more}
        return _page("首页" if kind == "image" else "模型", body, data, path)

    async def home(request: Request) -> Response:
        return await listing(request, "image")

    async def models(request: Request) -> Response:
        return await listing(request, "model")

    async def detail(request: Request) -> Response:
        item = index.get(request.path_params["id"])
        wanted = Model if request.url.path.startswith("/ssr/modelinfo/") else Picture
        if not isinstance(item, wanted) or world.is_removed(item):
            return removed_page(item is not None, "该作品已被删除 This work has been removed")
        cdn = cdn_base(site, request)
        if isinstance(item, Model):
            data = await run_in_threadpool(model_data, site, cdn, item)
            kind = "model"
        else:
            data = await run_in_threadpool(image_data, site, cdn, item)
            kind = "image"
        title = str(data.get("name") or data.get("title"))
        body = f"<article><h1>{html.escape(title)}</h1>{_card(kind, data)}</article>"
        return _page(title, body, {"detail": data}, request.url.path)

    pages: list[BaseRoute] = [
        Route("/ssr/", home),
        Route("/ssr/models", models),
        Route("/ssr/modelinfo/{id}", detail),
        Route("/ssr/imageinfo/{id}", detail),
    ]
    # without a CDN listener (an application built alone) the platform serves its media itself
    return pages if site.cdn_origin else [*pages, *cdn_routes(site)]


def cdn_routes(site: Site) -> list[BaseRoute]:
    """The style's media on the CDN listener: images/covers and model files."""
    world = site.world

    async def image(request: Request) -> Response:
        picture = world.picture(request.path_params["id"], Platform.GALLERY)
        if picture is None or world.is_removed(picture):
            return Response(b"Not Found", 404, media_type="text/plain")
        data = await run_in_threadpool(site.media.picture_bytes, picture)
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
        data = await run_in_threadpool(site.media.lora_bytes, model)
        return byte_response(request, data, "application/octet-stream")

    return [
        Route("/ssrcdn/img/{id}.png", image, methods=["GET", "HEAD"]),
        Route("/ssrcdn/model/{id}/{name}", model_file, methods=["GET", "HEAD"]),
    ]
