"""The sandbox's ASGI application and its server entry point.

``serve`` binds a loopback socket first, prints the base URL as the first line of stdout, and
only then hands the socket to uvicorn, so a parent process can read the port without races.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox import civitai, gallery, gallery_ssr, gallery_walled, huggingface, pages
from sandbox.errors import ContentError, SandboxError
from sandbox.faults import FaultMiddleware, parse_fault_spec
from sandbox.media import MediaStore
from sandbox.site import Site, base_url, json_response
from sandbox.tsa import TimestampAuthority, load_or_create
from sandbox.world import build_world

TSA_QUERY = "application/timestamp-query"
TSA_REPLY = "application/timestamp-reply"
MAX_TSA_QUERY = 64 * 1024


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``python -m sandbox serve`` accepts."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 1
    items: int = 300
    faults: str = ""
    state_dir: Path = Path(".sandbox-state")


def tsa_routes(tsa: TimestampAuthority) -> list[BaseRoute]:
    """``POST /tsa`` (RFC 3161 over HTTP), ``GET /tsa/ca.pem`` and ``GET /tsa/tsa.pem``."""

    async def stamp(request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != TSA_QUERY:
            return Response(f"expected Content-Type: {TSA_QUERY}\n", 415, media_type="text/plain")
        body = await request.body()
        if len(body) > MAX_TSA_QUERY:
            return Response("timestamp query too large\n", 413, media_type="text/plain")
        return Response(tsa.reply(body), media_type=TSA_REPLY)

    async def ca_pem(request: Request) -> Response:
        return Response(tsa.ca_pem, media_type="application/x-pem-file")

    async def tsa_pem(request: Request) -> Response:
        return Response(tsa.tsa_pem, media_type="application/x-pem-file")

    return [
        Route("/tsa", stamp, methods=["POST"]),
        Route("/tsa/ca.pem", ca_pem),
        Route("/tsa/tsa.pem", tsa_pem),
    ]


def admin_routes(site: Site, options: ServeOptions) -> list[BaseRoute]:
    """``/sandbox/truth.json``, ``/sandbox/info.json`` and the takedown switch."""

    async def truth(request: Request) -> Response:
        return json_response(site.world.truth(base_url(request)))

    async def info(request: Request) -> Response:
        return json_response(
            {
                "seed": options.seed,
                "items": options.items,
                "faults": options.faults,
                "tsa": f"{base_url(request)}/tsa",
                "gallery": f"{base_url(request)}/gallery/",
                "galleries": {
                    "gallery": f"{base_url(request)}/gallery/",
                    "gallery-ssr": f"{base_url(request)}/ssr/",
                    "gallery-walled": f"{base_url(request)}/walled/",
                },
                "cdn": gallery_ssr.cdn_base(request),
            }
        )

    async def remove(request: Request) -> Response:
        kind, external_id = request.path_params["kind"], request.path_params["id"]
        try:
            item = site.world.remove(kind, external_id)
        except ContentError as exc:
            return json_response({"error": str(exc)}, 404)
        return json_response(
            {"removed": {"kind": kind, "platform": item.platform.value, "external_id": external_id}}
        )

    async def index(request: Request) -> Response:
        links = "".join(
            f"<li><a href='{path}'>{label}</a></li>"
            for path, label in (
                ("/api/v1/models", "Civitai-shaped API"),
                ("/api/models?filter=lora", "Hugging-Face-shaped API"),
                ("/gallery/", "JavaScript gallery"),
                ("/sandbox/truth.json", "ground truth"),
                ("/tsa/ca.pem", "test TSA root (untrusted)"),
            )
        )
        page = f"<!DOCTYPE html><title>rightswatch sandbox</title><h1>sandbox</h1><ul>{links}</ul>"
        return HTMLResponse(page)

    return [
        Route("/", index),
        Route("/sandbox/truth.json", truth),
        Route("/sandbox/info.json", info),
        Route("/sandbox/admin/remove/{kind}/{id:path}", remove, methods=["POST"]),
    ]


def build_app(options: ServeOptions) -> Starlette:
    """Assemble every platform, the TSA and the admin endpoints into one application."""
    plan = parse_fault_spec(options.faults)
    tsa = load_or_create(options.state_dir)
    world = build_world(options.seed, options.items, plan.content)
    site = Site(world, MediaStore(world, options.state_dir))
    routes: list[BaseRoute] = [
        *tsa_routes(tsa),
        *admin_routes(site, options),
        *civitai.routes(site),
        *gallery.routes(site),
        *gallery_ssr.routes(site),
        *gallery_walled.routes(site),
        *pages.routes(site),
        *huggingface.routes(site),  # last: its /{user}/{repo} pages catch two-segment paths
    ]
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware, plan=plan, seed=options.seed)
    return app


def check_loopback(host: str) -> None:
    """Refuse any address that is not loopback: the sandbox never listens on a network."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError as exc:
        raise SandboxError(f"--host {host!r} is not an IP address") from exc
    if not loopback:
        raise SandboxError(
            f"--host {host!r} is not a loopback address; the sandbox binds loopback only"
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one)."""
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def serve(options: ServeOptions) -> None:
    """Bind, build the world, print the base URL as the first stdout line, then serve."""
    sock = bind(options.host, options.port)
    host, port = sock.getsockname()[:2]
    sockets = [sock]
    if host == "127.0.0.1":  # the style-(a) gallery's CDN host, same port (gallery_ssr)
        try:
            sockets.append(bind(gallery_ssr.CDN_HOST, port))
        except OSError as exc:
            sys.stderr.write(f"sandbox: no CDN listener on {gallery_ssr.CDN_HOST}:{port}: {exc}\n")
    shown = f"[{host}]" if ":" in host else host
    app = build_app(options)
    sys.stdout.write(f"http://{shown}:{port}\n")
    sys.stdout.flush()
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=sockets)
