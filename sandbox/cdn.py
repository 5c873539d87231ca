"""The second listener: the platforms' storage and CDN hosts (real-platforms.md).

Real downloads leave the platform's host: Civitai's ``/api/download/models/{id}`` answers 302
to a signed URL on Cloudflare R2 or Backblaze (``*.r2.cloudflarestorage.com``,
``b2.civitai.com``), and Hugging Face's ``resolve`` of an LFS/Xet file answers 302 to
``us.aws.cdn.hf.co/xet-bridge-us/...``. The sandbox plays those hosts on a second socket
(``127.0.0.2:<port>``), so a crawler that allows only the platform's own host is refused
here as it would be there.

- ``GET|HEAD /civitai-delivery/{versionId}/{name}?X-Amz-...``: the LoRA file of a Civitai
  version; signature and expiry checked (S3-like 403 XML otherwise); Range served.
- ``GET|HEAD /xet-bridge-us/{user}/{repo}/{sha256}?X-Amz-...``: a Hugging Face LFS file.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.civitai_json import download_name
from sandbox.huggingface import disposition
from sandbox.site import Site, byte_response
from sandbox.world import Platform


def _s3_error(code: str, status: int) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code></Error>"
    return Response(body.encode(), status, media_type="application/xml")


def routes(site: Site) -> list[BaseRoute]:
    world, media = site.world, site.media

    def refused(request: Request) -> Response | None:
        why = site.check_signed(request.url.path, request.query_params)
        if why is None:
            return None
        code = "AccessDenied" if why == "Request has expired" else why
        return _s3_error(code, 403)

    async def civitai_file(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        found = world.version(int(request.path_params["version_id"]))
        if found is None or world.is_removed(found[0]):
            return _s3_error("NoSuchKey", 404)
        model, version = found
        number = model.versions.index(version)
        data = await run_in_threadpool(media.lora_bytes, model, number)
        disposition = f"attachment; filename*=UTF-8''{quote(download_name(model, version))}"
        etag = f'"{media.hashes(model, number).sha256.lower()}"'
        headers = {"Content-Disposition": disposition, "ETag": etag}
        return byte_response(request, data, "application/octet-stream", headers)

    async def hub_file(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        repo_id = f"{request.path_params['user']}/{request.path_params['name']}"
        model = world.model(repo_id, Platform.HUGGINGFACE)
        if model is None or world.is_removed(model):
            return _s3_error("NoSuchKey", 404)
        data = await run_in_threadpool(media.lora_bytes, model)
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 != request.path_params["sha256"]:
            return _s3_error("NoSuchKey", 404)
        headers = {"ETag": f'"{sha256}"', "Content-Disposition": disposition(model.filename)}
        return byte_response(request, data, "application/octet-stream", headers)

    async def robots(request: Request) -> Response:
        return Response("User-agent: *\nAllow: /\n", media_type="text/plain")

    return [
        Route("/robots.txt", robots),
        Route("/civitai-delivery/{version_id:int}/{name}", civitai_file, methods=["GET", "HEAD"]),
        Route("/xet-bridge-us/{user}/{name}/{sha256}", hub_file, methods=["GET", "HEAD"]),
    ]
