"""Civitai's region block: its API refuses callers from restricted countries with HTTP 451.

Civitai reads the caller's country from Cloudflare's ``cf-ipcountry`` header and, for the
restricted regions (``GB``/``UK`` by default), answers every ``/api/*`` request with 451 and
``{"error": "Access to this service is not available in your region due to legal
restrictions.", "code": "REGION_BLOCKED"}`` (research/real-platforms.md, Civitai 7; civitai
``src/server/utils/region-blocking.ts`` and the API region-block middleware). The sandbox has no
edge to geolocate its loopback callers: ``--caller-country GB`` says where they appear to be.
Only Civitai's API paths are blocked (the Hub shares the sandbox's host but not the policy).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

RESTRICTED = frozenset({"GB", "UK"})
CIVITAI_API = ("/api/v1/", "/api/download/", "/api/trpc/")
BODY = json.dumps(
    {
        "error": "Access to this service is not available in your region due to legal "
        "restrictions.",
        "code": "REGION_BLOCKED",
    }
).encode("utf-8")


class RegionBlockMiddleware:
    """451 on Civitai's API when the callers' country is a restricted one."""

    def __init__(self, app: ASGIApp, *, country: str) -> None:
        self.app = app
        self.blocked = country.strip().upper() in RESTRICTED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not self.blocked or not path.startswith(CIVITAI_API):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 451,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(BODY)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": BODY})
