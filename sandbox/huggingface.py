"""Hugging-Face-shaped Hub API, file resolver and repo pages (platforms research §2).

- ``GET /api/models?search=&author=&filter=&sort=&direction=&limit=&full=``: a JSON array,
  paginated with a GitHub-style ``Link: <...>; rel="next"`` header (repeated ``filter`` values
  are ANDed).
- ``GET /api/models/{user}/{repo}[/revision/{rev}]``: repo info with ``siblings``,
  ``cardData`` (``instance_prompt``, ``base_model``, ``license``), ``sha``; ``?blobs=true``
  adds sizes, ``blobId`` and ``lfs.sha256``.
- ``GET|HEAD /{user}/{repo}/resolve/{rev}/{path}``: the file, with ``X-Repo-Commit``,
  ``ETag``, and for LFS files ``X-Linked-Etag``/``X-Linked-Size``; ``Range`` gives 206/416.
- ``GET /{user}/{repo}``: the model page (server-rendered, as on the real Hub).

As on the real Hub (real-platforms.md, Hugging Face 1-4): about half of the Stable Diffusion
LoRAs carry no ``lora`` tag (only ``diffusers``, ``text-to-image``,
``base_model:adapter:<base>``), while LLM PEFT adapters do; ``expand[]`` on ``/api/models``
returns the named properties (what a per-repo call would); one repo is gated (``"manual"``:
its files answer 401 without a token, 403 with one, since nobody accepted its terms);
``resolve`` of an LFS file answers 302 to the CDN listener (an ``xet-bridge-us`` path) with
``X-Repo-Commit``, ``X-Linked-Etag`` and ``X-Linked-Size`` on the redirect.

A taken-down repo is ``disabled``: the API still answers with ``"disabled": true`` and no
files, the resolver and the page answer 403 and 410 (a sandbox choice; the research notes do
not record the real bodies).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.civitai_json import iso
from sandbox.site import Site, base_url, byte_response, json_response, query_without
from sandbox.world import HubFlavour, Model, Platform

BASE_REPOS = {
    "SD 1.5": "runwayml/stable-diffusion-v1-5",
    "SDXL 1.0": "stabilityai/stable-diffusion-xl-base-1.0",
    "Pony": "stabilityai/stable-diffusion-xl-base-1.0",
    "Illustrious": "stabilityai/stable-diffusion-xl-base-1.0",
}
GITATTRIBUTES = (
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    b"*.png filter=lfs diff=lfs merge=lfs -text\n"
)
MAX_LIMIT = 1000
# huggingface_hub ExpandModelProperty_T (platforms.md §2.1) that the sandbox can answer
EXPANDABLE = (
    "author",
    "cardData",
    "createdAt",
    "disabled",
    "downloads",
    "gated",
    "lastModified",
    "library_name",
    "likes",
    "pipeline_tag",
    "private",
    "sha",
    "siblings",
    "tags",
    "trendingScore",
)


def repo_sha(model: Model) -> str:
    return hashlib.sha1(
        f"sandbox-commit-{model.external_id}".encode(), usedforsecurity=False
    ).hexdigest()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


def _base_repo(model: Model) -> str:
    if model.flavour is HubFlavour.PEFT_LLM:
        return model.base_model
    return BASE_REPOS.get(model.base_model, BASE_REPOS["SD 1.5"])


def card_data(model: Model) -> dict[str, Any]:
    if model.flavour is HubFlavour.PEFT_LLM:
        return {
            "license": "apache-2.0",
            "base_model": model.base_model,
            "library_name": "peft",
            "tags": ["base_model:adapter:" + model.base_model, "lora", "transformers"],
            "pipeline_tag": "text-generation",
        }
    tags = ["text-to-image", "diffusers", *model.naming.tags]
    if model.flavour is not HubFlavour.UNTAGGED:
        tags[1:1] = ["lora", "template:sd-lora"]
    return {
        "license": "openrail++",
        "base_model": _base_repo(model),
        "instance_prompt": model.naming.trigger,
        "tags": tags,
        "widget": [{"text": model.naming.trigger}],
    }


def readme(model: Model) -> bytes:
    card = card_data(model)
    lines = ["---", f"license: {card['license']}", f"base_model: {card['base_model']}"]
    if "instance_prompt" in card:
        lines.append(f"instance_prompt: {card['instance_prompt']}")
    lines.append("tags:")
    lines.extend(f"- {tag}" for tag in card["tags"])
    lines += ["---", "", f"# {model.title}", ""]
    if model.flavour is HubFlavour.PEFT_LLM:
        lines.append(f"A PEFT LoRA adapter for {model.base_model}.")
    else:
        lines += [f"Trigger word: `{model.naming.trigger}`", ""]
        lines.append(f"LoRA trained on {model.base_model} by {model.creator}.")
    return ("\n".join(lines) + "\n").encode("utf-8")


def model_tags(model: Model) -> list[str]:
    base = _base_repo(model)
    if model.flavour is HubFlavour.PEFT_LLM:
        return [
            "peft",
            "safetensors",
            "lora",
            "text-generation",
            f"base_model:adapter:{base}",
            "license:apache-2.0",
            "region:us",
        ]
    lora = [] if model.flavour is HubFlavour.UNTAGGED else ["lora", "template:sd-lora"]
    return [
        "diffusers",
        *lora,
        "text-to-image",
        *model.naming.tags,
        f"base_model:adapter:{base}",
        "license:openrail++",
        "region:us",
    ]


def _lfs_pointer(sha256: str, size: int) -> bytes:
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


def list_item(model: Model, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_id": hashlib.md5(model.external_id.encode(), usedforsecurity=False).hexdigest()[:24],
        "id": model.external_id,
        "modelId": model.external_id,
        "likes": model.likes,
        "trendingScore": model.likes // 50,
        "private": False,
        "downloads": model.downloads,
        "tags": model_tags(model),
        "pipeline_tag": "text-generation" if _peft(model) else "text-to-image",
        "library_name": "peft" if _peft(model) else "diffusers",
        "createdAt": iso(model.created),
    }
    if full:
        data.update(
            {
                "author": model.creator,
                "sha": repo_sha(model),
                "lastModified": iso(model.created),
                "gated": "manual" if model.gated else False,
                "disabled": False,
                "siblings": [{"rfilename": name} for name in _files(model)],
            }
        )
    return data


def expanded_item(model: Model, expand: list[str]) -> dict[str, Any]:
    """A list entry with only the ``expand[]`` properties (plus ``_id`` and ``id``)."""
    data = list_item(model, full=True)
    data["cardData"] = card_data(model)
    return {k: v for k, v in data.items() if k in ("_id", "id", *expand)}


def _peft(model: Model) -> bool:
    return model.flavour is HubFlavour.PEFT_LLM


def _files(model: Model) -> list[str]:
    if _peft(model):
        return [".gitattributes", "README.md", "adapter_config.json", "adapter_model.safetensors"]
    return [".gitattributes", "README.md", model.filename]


def adapter_config(model: Model) -> bytes:
    config = {
        "base_model_name_or_path": model.base_model,
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": 16,
        "lora_alpha": 32,
        "target_modules": ["q_proj", "v_proj"],
    }
    return json.dumps(config, indent=2).encode()


def routes(site: Site) -> list[BaseRoute]:
    world, media = site.world, site.media

    def live(model: Model | None) -> bool:
        return model is not None and not world.is_removed(model)

    def repo(request: Request) -> Model | None:
        repo_id = f"{request.path_params['user']}/{request.path_params['name']}"
        return world.model(repo_id, Platform.HUGGINGFACE)

    def not_found() -> Response:
        return json_response(
            {"error": "Repository not found"}, 404, headers={"X-Error-Code": "RepoNotFound"}
        )

    async def search(request: Request) -> Response:
        params = request.query_params
        found = [m for m in world.models_on(Platform.HUGGINGFACE) if live(m)]
        if needle := params.get("search", "").casefold():
            found = [m for m in found if needle in m.external_id.casefold()]
        if author := params.get("author"):
            found = [m for m in found if m.creator == author]
        for wanted in params.getlist("filter"):
            found = [m for m in found if wanted in model_tags(m)]
        sort = params.get("sort", "")
        keys = {"downloads": "downloads", "likes": "likes", "createdAt": "created"}
        if sort in keys:
            found.sort(
                key=lambda m: getattr(m, keys[sort]), reverse=params.get("direction") == "-1"
            )
        try:
            limit = min(MAX_LIMIT, max(1, int(params.get("limit", MAX_LIMIT))))
            start = int(base64.urlsafe_b64decode(params.get("cursor", "MA==")).decode())
        except ValueError:
            return json_response({"error": "Invalid limit or cursor"}, 400)
        chunk = found[start : start + limit]
        full = params.get("full", "").lower() == "true"
        expand = params.getlist("expand[]") or params.getlist("expand")
        if unknown := [e for e in expand if e not in EXPANDABLE]:
            return json_response({"error": f'"expand" must be one of {list(EXPANDABLE)}'}, 400)
        headers = {}
        if start + limit < len(found):
            cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            query = urlencode([*query_without(request, "cursor"), ("cursor", cursor)])
            headers["Link"] = f'<{base_url(request)}/api/models?{query}>; rel="next"'
        if unknown == [] and expand:
            return json_response([expanded_item(m, expand) for m in chunk], headers=headers)
        return json_response([list_item(m, full) for m in chunk], headers=headers)

    def info(model: Model, blobs: bool) -> dict[str, Any]:
        data = list_item(model, full=True)
        data["cardData"] = card_data(model)
        data["spaces"] = []
        if world.is_removed(model):
            data.update({"disabled": True, "siblings": []})
            return data
        siblings: list[dict[str, Any]] = []
        for name in _files(model):
            entry: dict[str, Any] = {"rfilename": name}
            if blobs:
                content = _content(model, name)
                if name.endswith(".safetensors"):
                    sha256 = hashlib.sha256(content).hexdigest()
                    pointer = _lfs_pointer(sha256, len(content))
                    entry["blobId"] = git_blob_id(pointer)
                    entry["lfs"] = {
                        "sha256": sha256,
                        "size": len(content),
                        "pointerSize": len(pointer),
                    }
                else:
                    entry["blobId"] = git_blob_id(content)
                entry["size"] = len(content)
            siblings.append(entry)
        data["siblings"] = siblings
        return data

    def _content(model: Model, name: str) -> bytes:
        if name == "README.md":
            return readme(model)
        if name == ".gitattributes":
            return GITATTRIBUTES
        if name == "adapter_config.json":
            return adapter_config(model)
        return media.lora_bytes(model)

    async def repo_info(request: Request) -> Response:
        model = repo(request)
        revision = request.path_params.get("rev", "main")
        if model is None or revision not in ("main", repo_sha(model)):
            return not_found()
        blobs = request.query_params.get("blobs", "").lower() == "true"
        return json_response(await run_in_threadpool(info, model, blobs))

    async def resolve(request: Request) -> Response:
        model = repo(request)
        name = request.path_params["path"]
        if model is None or request.path_params["rev"] not in ("main", repo_sha(model)):
            return not_found()
        if world.is_removed(model):
            return json_response({"error": "Access to this resource is disabled."}, 403)
        if name not in _files(model):
            return json_response(
                {"error": "Entry not found"}, 404, headers={"X-Error-Code": "EntryNotFound"}
            )
        if model.gated and name != ".gitattributes":
            return gated(request, model)
        content = await run_in_threadpool(_content, model, name)
        headers = {"X-Repo-Commit": repo_sha(model), "ETag": f'"{git_blob_id(content)}"'}
        kind = "text/plain; charset=utf-8"
        if name.endswith(".safetensors"):
            sha256 = hashlib.sha256(content).hexdigest()
            headers.update({"X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": str(len(content))})
            headers["ETag"] = f'"{sha256}"'
            location = site.signed_url(f"/xet-bridge-us/{model.external_id}/{sha256}")
            return RedirectResponse(location, 302, headers=headers)
        return byte_response(request, content, kind, headers)

    def gated(request: Request, model: Model) -> Response:
        token = request.headers.get("authorization", "").lower().startswith("bearer ")
        message = (
            f"Access to model {model.external_id} is restricted and you are not in the "
            "authorized list. Visit the model page to ask for access."
            if token
            else f"Access to model {model.external_id} is restricted. You must have access to "
            "it and be authenticated to access it. Please log in."
        )
        headers = {"X-Error-Code": "GatedRepo", "X-Error-Message": message}
        return json_response({"error": message}, 403 if token else 401, headers=headers)

    async def page(request: Request) -> Response:
        model = repo(request)
        if model is None:
            return HTMLResponse("<!DOCTYPE html><title>404</title><h1>404</h1>", 404)
        title = html.escape(model.external_id)
        if world.is_removed(model):
            body = f"<h1>{title}</h1><p class='disabled'>This repository has been disabled.</p>"
            return HTMLResponse(f"<!DOCTYPE html><title>{title}</title>{body}", 410)
        card = html.escape(readme(model).decode("utf-8"))
        files = "".join(
            f"<li><a href='/{title}/resolve/main/{html.escape(n)}'>{html.escape(n)}</a></li>"
            for n in _files(model)
        )
        tags = "".join(f"<span class='tag'>{html.escape(t)}</span> " for t in model_tags(model))
        body = (
            f"<header><h1 class='repo-id'>{title}</h1><div class='tags'>{tags}</div></header>"
            f"<section class='model-card'><pre>{card}</pre></section>"
            f"<section class='files'><h2>Files</h2><ul>{files}</ul></section>"
        )
        return HTMLResponse(
            f"<!DOCTYPE html><html><head><title>{title} · Hugging Face</title>"
            f"</head><body>{body}</body></html>"
        )

    return [
        Route("/api/models", search),
        Route("/api/models/{user}/{name}", repo_info),
        Route("/api/models/{user}/{name}/revision/{rev}", repo_info),
        Route("/{user}/{name}/resolve/{rev}/{path:path}", resolve, methods=["GET", "HEAD"]),
        Route("/{user}/{name}", page),
    ]


def disposition(name: str) -> str:
    """Content-Disposition for a file name in any script (RFC 6266: an ASCII fallback plus
    the UTF-8 ``filename*``); HTTP header values are Latin-1, so raw CJK cannot go in."""
    fallback = name.encode("ascii", "ignore").decode().replace('"', "") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
