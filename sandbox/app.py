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
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.errors import SandboxError
from sandbox.tsa import TimestampAuthority, load_or_create

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


def build_app(options: ServeOptions, base_url: str) -> Starlette:
    """Assemble every platform, the TSA and the admin endpoints into one application."""
    tsa = load_or_create(options.state_dir)
    routes: list[BaseRoute] = [*tsa_routes(tsa)]
    app = Starlette(routes=routes)
    app.state.base_url = base_url
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
    shown = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown}:{port}"
    app = build_app(options, base_url)
    sys.stdout.write(base_url + "\n")
    sys.stdout.flush()
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock])
