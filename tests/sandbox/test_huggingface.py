"""The Hugging-Face-shaped Hub API, the resolver (HEAD headers, Range) and repo pages."""

from __future__ import annotations

import hashlib
import re

import httpx

from tests.support.sandbox import SandboxServer


def _next_link(response: httpx.Response) -> str | None:
    match = re.search(r'<([^>]+)>;\s*rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


def test_search_paginates_with_link_headers_to_the_end(sandbox: SandboxServer) -> None:
    expected = {
        r["external_id"]
        for r in sandbox.truth()
        if r["platform"] == "huggingface" and not r["removed"]
    }
    seen: list[str] = []
    url: str | None = f"{sandbox.url}/api/models?limit=4"
    pages = 0
    while url:
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200
        items = response.json()
        assert isinstance(items, list)
        seen.extend(item["id"] for item in items)
        url = _next_link(response)
        pages += 1
    assert pages > 2
    assert set(seen) == expected and len(seen) == len(expected)


def test_list_item_shape_and_filters(sandbox: SandboxServer) -> None:
    items = sandbox.get("/api/models?limit=3").json()
    item = items[0]
    for key in ("_id", "id", "modelId", "likes", "downloads", "tags", "pipeline_tag", "createdAt"):
        assert key in item
    assert any(tag.startswith("base_model:adapter:") for tag in item["tags"])
    author = item["id"].split("/")[0]
    by_author = sandbox.get("/api/models", params={"author": author}).json()
    assert by_author and all(i["id"].startswith(author + "/") for i in by_author)
    term = item["id"].split("/")[1][:5]
    assert item["id"] in [
        i["id"] for i in sandbox.get("/api/models", params={"search": term}).json()
    ]
    both = sandbox.get("/api/models", params=[("filter", "lora"), ("filter", "no-such-tag")])
    assert both.json() == []
    full = sandbox.get("/api/models?limit=1&full=true").json()[0]
    assert full["siblings"] and "sha" in full


def test_repo_info_with_blobs(sandbox: SandboxServer) -> None:
    repo = sandbox.get("/api/models?limit=1").json()[0]["id"]
    info = sandbox.get(f"/api/models/{repo}").json()
    assert info["id"] == repo and re.fullmatch(r"[0-9a-f]{40}", info["sha"])
    assert info["cardData"]["instance_prompt"]
    assert all(set(s) == {"rfilename"} for s in info["siblings"])
    blobs = sandbox.get(f"/api/models/{repo}?blobs=true").json()
    weights = next(s for s in blobs["siblings"] if s["rfilename"].endswith(".safetensors"))
    assert weights["lfs"]["size"] == weights["size"] and re.fullmatch(
        r"[0-9a-f]{64}", weights["lfs"]["sha256"]
    )
    readme = next(s for s in blobs["siblings"] if s["rfilename"] == "README.md")
    assert "lfs" not in readme and readme["size"] > 0
    assert sandbox.get(f"/api/models/{repo}/revision/{info['sha']}").status_code == 200
    missing = sandbox.get("/api/models/nobody/nothing")
    assert missing.status_code == 404 and missing.json() == {"error": "Repository not found"}


def test_resolve_head_headers_and_ranges(sandbox: SandboxServer) -> None:
    repo = sandbox.get("/api/models?limit=1").json()[0]["id"]
    blobs = sandbox.get(f"/api/models/{repo}?blobs=true").json()
    weights = next(s for s in blobs["siblings"] if s["rfilename"].endswith(".safetensors"))
    resolve = f"{sandbox.url}/{repo}/resolve/main/{weights['rfilename']}"
    head = httpx.head(resolve, timeout=30)
    assert head.status_code == 302  # LFS files live on the CDN; the redirect says what
    url = head.headers["location"]
    assert "/xet-bridge-us/" in url and not url.startswith(sandbox.url)
    assert head.headers["x-repo-commit"] == blobs["sha"]
    assert head.headers["x-linked-etag"] == f'"{weights["lfs"]["sha256"]}"'
    assert int(head.headers["x-linked-size"]) == weights["size"]
    assert httpx.head(url, timeout=30).headers["accept-ranges"] == "bytes"
    body = httpx.get(url, timeout=30).content
    assert hashlib.sha256(body).hexdigest() == weights["lfs"]["sha256"]
    part = httpx.get(url, headers={"Range": "bytes=0-99"}, timeout=30)
    assert part.status_code == 206 and part.content == body[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(body)}"
    tail = httpx.get(url, headers={"Range": "bytes=-10"}, timeout=30)
    assert tail.status_code == 206 and tail.content == body[-10:]
    beyond = httpx.get(url, headers={"Range": f"bytes={len(body)}-"}, timeout=30)
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(body)}"
    readme = httpx.get(f"{sandbox.url}/{repo}/resolve/main/README.md", timeout=30)
    assert readme.status_code == 200 and "x-linked-etag" not in readme.headers
    assert "instance_prompt:" in readme.text
    missing = httpx.get(f"{sandbox.url}/{repo}/resolve/main/nope.bin", timeout=30)
    assert missing.status_code == 404


def test_repo_page_is_server_rendered(sandbox: SandboxServer) -> None:
    repo = sandbox.get("/api/models?limit=1").json()[0]["id"]
    page = sandbox.get(f"/{repo}")
    assert page.status_code == 200 and repo in page.text and ".safetensors" in page.text


def test_non_ascii_file_names_resolve_with_an_rfc_6266_disposition(
    sandbox: SandboxServer,
) -> None:
    """Weights named in Chinese or Japanese download like any other (the header carries an
    ASCII fallback and the UTF-8 name in filename*)."""
    url, found = "/api/models?limit=100&blobs=true", None
    while url and found is None:
        page = sandbox.get(url.removeprefix(sandbox.url))
        for model in page.json():
            info = sandbox.get(f"/api/models/{model['id']}").json()
            names = [s["rfilename"] for s in info["siblings"] if not s["rfilename"].isascii()]
            if names:
                found = (model["id"], names[0])
                break
        url = _next_link(page) or ""
    assert found is not None, "the sandbox world has no non-ASCII file name to test with"
    repo, name = found
    head = httpx.head(f"{sandbox.url}/{repo}/resolve/main/{name}", timeout=30)
    assert head.status_code == 302
    head = httpx.head(head.headers["location"], timeout=30)
    disposition = head.headers["content-disposition"]
    assert disposition.isascii()
    assert "filename*=UTF-8''" in disposition
    assert httpx.QueryParams(f"n={disposition.split(chr(39) * 2, 1)[1]}")["n"] == name
