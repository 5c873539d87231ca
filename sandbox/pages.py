"""HTML shells rendered by JavaScript, the removed-item pages, and the static scripts.

Civitai-style pages (``/models/{id}[/{slug}]``, ``/images/{id}``) imitate a Next.js app: the
server sends an empty ``<div id="__next">`` and a ``__NEXT_DATA__`` script holding only the
route parameters; ``/_next/static/sandbox/civitai.js`` then fetches the REST API and draws the
page. Plain HTTP therefore sees no content, a browser sees all of it.
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.site import Site
from sandbox.world import Platform

SCRIPTS = {"gallery.js", "civitai.js"}


@functools.lru_cache(maxsize=8)
def _template(name: str) -> Template:
    return Template(resources.files("sandbox").joinpath("templates", name).read_text("utf-8"))


@functools.lru_cache(maxsize=4)
def _script(name: str) -> bytes:
    return resources.files("sandbox").joinpath("static", name).read_bytes()


def render_shell(name: str, **values: str) -> str:
    """Fill template ``name`` with HTML-escaped ``values``."""
    return _template(name).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def removed_page(known: bool, message: str) -> Response:
    """410 with a "removed" notice for a taken-down item, 404 for an unknown one."""
    text = message if known else "Page not found"
    return HTMLResponse(render_shell("removed.html", message=text), 410 if known else 404)


def routes(site: Site) -> list[BaseRoute]:
    world = site.world

    async def model_page(request: Request) -> Response:
        raw = request.path_params["id"]
        model = world.model(raw, Platform.CIVITAI)
        if model is None or world.is_removed(model):
            return removed_page(model is not None, "This model has been taken down")
        page = "/models/[id]/[[...slug]]"
        return HTMLResponse(render_shell("civitai.html", page=page, kind="model", item_id=raw))

    async def image_page(request: Request) -> Response:
        raw = request.path_params["id"]
        picture = world.picture(raw, Platform.CIVITAI)
        if picture is None or world.is_removed(picture):
            return removed_page(picture is not None, "This image has been removed")
        page = "/images/[imageId]"
        return HTMLResponse(render_shell("civitai.html", page=page, kind="image", item_id=raw))

    async def script(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in SCRIPTS:
            return Response(b"Not Found", 404, media_type="text/plain")
        return Response(_script(name), media_type="text/javascript")

    return [
        Route("/models/{id}", model_page),
        Route("/models/{id}/{slug}", model_page),
        Route("/images/{id}", image_page),
        Route("/_next/static/sandbox/{name}", script),
        Route("/gallery/static/{name}", script),
    ]
