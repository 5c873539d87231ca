"""Gallery style (c): walls in front of the content, pixiv-like (``/walled``).

The gallery's items (the same world items as ``/gallery``) behind two walls, as a crawler
meets them on the real sites (research real-platforms.md, "JavaScript galleries"):

- a Cloudflare-style interstitial (403, ``cf-mitigated: challenge``, "Just a moment...") on
  every HTML page until the browser holds a ``cf_clearance`` cookie, and on search pages
  (``/walled/search``) always;
- a login dialog (``role="dialog"`` with a password field) laid over the page while there is
  no ``rw_session`` cookie; the JSON API then answers 401 ``{"error": true, ...}``.

A crawler with a login session (a Playwright ``storage_state`` holding both cookies, as
``python -m sandbox client`` writes it) sees the content: ``/walled/`` (newest artworks) and
``/walled/loras`` (newest LoRAs), loaded from ``GET /walled/ajax/works?p=N`` and
``/walled/ajax/loras?p=N`` (``{"error": false, "body": {"works"|"loras": [...], "lastPage":
bool}}``) as the window scrolls; a ``p.feed-end`` marker appears after the last page. Item
pages: ``/walled/artworks/<id>``, ``/walled/lora/<id>`` (ids as ``/gallery`` shows them).
"""

from __future__ import annotations

import hashlib
import html
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.gallery import post_title
from sandbox.pages import removed_page
from sandbox.site import Site, base_url, json_response
from sandbox.world import Model, Picture, Platform

PAGE_SIZE = 30
CLEARANCE = "cf_clearance"
SESSION = "rw_session"
SESSION_VALUE = "sandbox-session"
CLEARANCE_VALUE = "sandbox-clearance"

INTERSTITIAL = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="360"></head><body>
<div class="main-wrapper" role="main"><h1>127.0.0.1</h1>
<h2 id="challenge-running">Checking if the site connection is secure</h2>
<div id="challenge-stage"><div class="cf-turnstile"></div></div>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script>
</div></body></html>"""

SCRIPT = r"""
(function () {
  "use strict";
  const app = document.getElementById("app");
  const kind = app.dataset.page;
  if (app.dataset.loggedIn !== "true") {
    const modal = document.createElement("div");
    modal.setAttribute("role", "dialog");
    modal.setAttribute("aria-modal", "true");
    modal.className = "login-modal";
    modal.innerHTML = "<h2>登录 Log in to continue</h2><form><input name='user'>" +
      "<input type='password' name='password'><button>Log in</button></form>";
    document.body.append(modal);
  }
  async function get(path) {
    const r = await fetch(path, {headers: {"Accept": "application/json"}});
    return r.json();
  }
  function card(href, title, image) {
    const a = document.createElement("a");
    a.href = href; a.className = "work";
    if (image) { const img = document.createElement("img"); img.src = image; a.append(img); }
    const span = document.createElement("span"); span.textContent = title; a.append(span);
    return a;
  }
  if (kind === "works" || kind === "loras") {
    const list = document.createElement("div"); list.className = "works"; app.append(list);
    let p = 1, last = false, loading = false;
    async function more() {
      if (loading || last) return;
      loading = true;
      try {
        const data = await get("/walled/ajax/" + kind + "?p=" + p);
        if (data.error) { throw new Error(data.message); }
        for (const w of data.body[kind]) {
          list.append(kind === "works" ? card("/walled/artworks/" + w.id, w.title, w.url)
                                       : card("/walled/lora/" + w.id, w.title, w.cover));
        }
        last = data.body.lastPage; p += 1;
        if (last) { const end = document.createElement("p"); end.className = "feed-end";
                    end.textContent = "これ以上ありません"; app.append(end); }
      } finally { loading = false; }
      if (!last && document.documentElement.scrollHeight <= window.innerHeight + 300) more();
    }
    window.addEventListener("scroll", () => {
      const bottom = document.documentElement.scrollHeight - 300;
      if (window.innerHeight + window.scrollY >= bottom) more();
    });
    more();
  }
})();
"""


def _cookies_ok(request: Request) -> tuple[bool, bool]:
    return (
        request.cookies.get(CLEARANCE) == CLEARANCE_VALUE,
        request.cookies.get(SESSION) == SESSION_VALUE,
    )


def interstitial() -> Response:
    return HTMLResponse(
        INTERSTITIAL,
        403,
        headers={"Server": "cloudflare", "cf-mitigated": "challenge", "Cache-Control": "no-store"},
    )


def _shell(page: str, logged_in: bool, body: str = "", title: str = "pixart") -> HTMLResponse:
    return HTMLResponse(
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · PixArt (sandbox)</title></head><body>"
        "<header><a href='/walled/'>ホーム</a> <a href='/walled/loras'>LoRA</a></header>"
        f"<main id='app' data-page='{page}' data-logged-in='{str(logged_in).lower()}'>{body}</main>"
        "<script src='/walled/static/app.js'></script></body></html>"
    )


def work_json(site: Site, base: str, picture: Picture) -> dict[str, Any]:
    meta = site.media.meta(picture)
    return {
        "id": picture.external_id,
        "title": post_title(site, picture),
        "userName": picture.creator,
        "url": f"{base}/gallery/cdn/posts/{picture.external_id}.png",
        "caption": meta.prompt,
        "tags": ["AI生成"],
        "createDate": picture.created.isoformat(),
    }


def lora_json(site: Site, base: str, model: Model) -> dict[str, Any]:
    data = site.media.lora_bytes(model)
    covers = site.world.pictures_of(model)[:1]
    return {
        "id": model.external_id,
        "title": model.title,
        "userName": model.creator,
        "cover": f"{base}/gallery/cdn/posts/{covers[0].external_id}.png" if covers else None,
        "tags": list(model.naming.tags),
        "trigger": model.naming.trigger,
        "file": {
            "name": model.filename,
            "url": f"{base}/gallery/cdn/models/{model.external_id}/{model.filename}",
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "createDate": model.created.isoformat(),
    }


def routes(site: Site) -> list[BaseRoute]:
    world = site.world

    def live(kind: str) -> list[Any]:
        items: list[Any] = (
            world.models_on(Platform.GALLERY)
            if kind == "loras"
            else world.pictures_on(Platform.GALLERY)
        )
        return sorted(
            (i for i in items if not world.is_removed(i)), key=lambda i: -i.created.timestamp()
        )

    def page_gate(request: Request) -> tuple[Response | None, bool]:
        cleared, session = _cookies_ok(request)
        return (None if cleared else interstitial()), session

    async def works_page(request: Request) -> Response:
        wall, session = page_gate(request)
        return wall or _shell("works", session, title="ホーム")

    async def loras_page(request: Request) -> Response:
        wall, session = page_gate(request)
        return wall or _shell("loras", session, title="LoRA")

    async def search(request: Request) -> Response:
        return interstitial()  # the search pages sit behind a challenge rule of their own

    async def detail(request: Request) -> Response:
        wall, session = page_gate(request)
        if wall is not None:
            return wall
        lora = request.url.path.startswith("/walled/lora/")
        item: Model | Picture | None = (
            world.model(request.path_params["id"], Platform.GALLERY)
            if lora
            else world.picture(request.path_params["id"], Platform.GALLERY)
        )
        if item is None or world.is_removed(item):
            return removed_page(item is not None, "この作品は削除されました")
        if not session:
            return _shell("item", False, title="PixArt")
        base = base_url(request)
        if isinstance(item, Model):
            data = await run_in_threadpool(lora_json, site, base, item)
        else:
            data = await run_in_threadpool(work_json, site, base, item)
        body = (
            f"<article><h1>{html.escape(str(data['title']))}</h1>"
            f"<p class='user'>{html.escape(str(data['userName']))}</p></article>"
        )
        return _shell("item", True, body, title=str(data["title"]))

    async def feed(request: Request) -> Response:
        cleared, session = _cookies_ok(request)
        if not (cleared and session):
            return json_response({"error": True, "message": "login required", "body": []}, 401)
        kind = request.path_params["kind"]
        if kind not in ("works", "loras"):
            return json_response({"error": True, "message": "not found", "body": []}, 404)
        try:
            number = max(1, int(request.query_params.get("p", "1")))
        except ValueError:
            number = 1
        items = live(kind)
        chunk = items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        base = base_url(request)

        def build() -> list[dict[str, Any]]:
            render = lora_json if kind == "loras" else work_json
            return [render(site, base, i) for i in chunk]

        rows = await run_in_threadpool(build)
        last = number * PAGE_SIZE >= len(items)
        return json_response(
            {"error": False, "message": "", "body": {kind: rows, "lastPage": last}}
        )

    async def script(request: Request) -> Response:
        return Response(SCRIPT.encode("utf-8"), media_type="text/javascript")

    return [
        Route("/walled/", works_page),
        Route("/walled/loras", loras_page),
        Route("/walled/search", search),
        Route("/walled/artworks/{id}", detail),
        Route("/walled/lora/{id}", detail),
        Route("/walled/ajax/{kind:str}", feed),
        Route("/walled/static/app.js", script),
    ]
