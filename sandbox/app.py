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
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import cdn, civitai, gallery, gallery_ssr, gallery_walled, huggingface, pages
from sandbox.civitai_busy import DEFAULT_SHARE as DEFAULT_BUSY_SHARE
from sandbox.civitai_busy import Busy
from sandbox.clock import Clock
from sandbox.errors import ContentError, SandboxError
from sandbox.faults import FaultMiddleware, parse_fault_spec
from sandbox.media import MediaStore
from sandbox.ratelimit import RateLimiter, RateLimitMiddleware, parse_limits
from sandbox.region import RegionBlockMiddleware
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
    # the storage/CDN hosts' listener (a second loopback address, so it is another host)
    cdn_host: str = "127.0.0.2"
    time_scale: float = 1.0  # sandbox seconds last time_scale real seconds; waits shrink
    rate_limit: str = ""  # Hub quotas per 5-minute window, e.g. "api=20,resolvers=50"
    signed_ttl: float = 3600.0  # sandbox seconds a signed download URL stays valid
    # share of Civitai image listing URLs whose first request is a 503 + Retry-After
    civitai_busy: float = DEFAULT_BUSY_SHARE
    caller_country: str = ""  # where callers appear to be (GB: Civitai's API answers 451)


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
                "cdn": site.cdn_origin,
                "time_scale": options.time_scale,
                "civitai_busy": {"share": site.busy.share, "answered": site.busy.answered},
                "download_calls": {str(k): v for k, v in sorted(site.downloads.items())},
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


class HostDispatch:
    """Sends each connection to the platform app or the CDN app by the port it came in on."""

    def __init__(self, platform: ASGIApp, cdn_app: ASGIApp, cdn_port: int) -> None:
        self.platform, self.cdn_app, self.cdn_port = platform, cdn_app, cdn_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or ("", 0)
        app = self.cdn_app if server[1] == self.cdn_port else self.platform
        await app(scope, receive, send)


def build_app(options: ServeOptions, cdn_origin: str = "") -> Starlette:
    """Assemble every platform, the TSA and the admin endpoints into one application;
    with ``cdn_origin``, a second application for the CDN listener is returned as
    ``app.state.cdn``."""
    plan = parse_fault_spec(options.faults)
    tsa = load_or_create(options.state_dir)
    world = build_world(options.seed, options.items, plan.content)
    clock = Clock(scale=options.time_scale)
    site = Site(
        world,
        MediaStore(world, options.state_dir),
        cdn_origin=cdn_origin,
        clock=clock,
        signed_ttl=options.signed_ttl,
        busy=Busy(share=options.civitai_busy, seed=options.seed, clock=clock),
    )
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
    limiter = RateLimiter(parse_limits(options.rate_limit), clock)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(FaultMiddleware, plan=plan, seed=options.seed, clock=clock)
    app.add_middleware(RegionBlockMiddleware, country=options.caller_country)
    cdn_app = Starlette(routes=[*cdn.routes(site), *gallery_ssr.cdn_routes(site)])
    cdn_app.add_middleware(FaultMiddleware, plan=plan, seed=options.seed, clock=clock)
    app.state.cdn = cdn_app
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


def _origin(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(options: ServeOptions) -> None:
    """Bind both listeners, build the world, print the base URL as the first stdout line,
    then serve."""
    sock = bind(options.host, options.port)
    cdn_sock = bind(options.cdn_host, 0)
    platform_app = build_app(options, cdn_origin=_origin(cdn_sock))
    app = HostDispatch(platform_app, platform_app.state.cdn, cdn_sock.getsockname()[1])
    sys.stdout.write(f"{_origin(sock)}\n")
    sys.stdout.flush()
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock, cdn_sock])
