"""The Civitai-shaped API: shapes, pagination, errors, downloads and the image CDN."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from tests.support.sandbox import SandboxServer

TOKEN = {"Authorization": "Bearer demo"}


def _get(sandbox: SandboxServer, path: str, **kwargs: Any) -> httpx.Response:
    return sandbox.get(path, **kwargs)


def test_model_list_shape(sandbox: SandboxServer) -> None:
    response = _get(sandbox, "/api/v1/models?limit=3&types=LORA")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert set(body) == {"items", "metadata"}
    assert len(body["items"]) == 3
    model = body["items"][0]
    for key in ("id", "name", "type", "nsfw", "tags", "mode", "stats", "creator", "modelVersions"):
        assert key in model
    assert isinstance(model["id"], int) and model["type"] == "LORA"
    assert isinstance(model["allowCommercialUse"], str)
    assert model["creator"]["username"]
    version = model["modelVersions"][0]
    assert version["trainedWords"] and version["baseModel"]
    file = version["files"][0]
    hashes = file["hashes"]
    assert re.fullmatch(r"[0-9A-F]{64}", hashes["SHA256"])
    assert hashes["AutoV2"] == hashes["SHA256"][:10]
    assert re.fullmatch(r"[0-9A-F]{8}", hashes["CRC32"])
    assert file["downloadUrl"].endswith(f"/api/download/models/{version['id']}")
    assert all("width=450" in image["url"] for image in version["images"])
    assert body["metadata"]["nextCursor"]
    assert body["metadata"]["nextPage"].startswith(sandbox.url + "/api/v1/models?")


def test_cursor_pagination_reaches_every_model(sandbox: SandboxServer) -> None:
    expected = {
        r["external_id"]
        for r in sandbox.truth()
        if r["platform"] == "civitai" and r["kind"] == "model" and not r["removed"]
    }
    seen: list[str] = []
    url: str | None = f"{sandbox.url}/api/v1/models?limit=7&sort=Newest&nsfw=true"
    while url:
        body = httpx.get(url, headers=TOKEN, timeout=30).json()
        seen.extend(str(item["id"]) for item in body["items"])
        url = body["metadata"].get("nextPage")
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    created = [
        _get(sandbox, f"/api/v1/models/{seen[0]}").json()["modelVersions"][0]["createdAt"],
        _get(sandbox, f"/api/v1/models/{seen[-1]}").json()["modelVersions"][0]["createdAt"],
    ]
    assert created[0] > created[1]


def test_page_mode_and_its_limits(sandbox: SandboxServer) -> None:
    body = _get(sandbox, "/api/v1/models?limit=5&page=2").json()
    assert body["metadata"]["currentPage"] == 2 and body["metadata"]["pageSize"] == 5
    too_deep = _get(sandbox, "/api/v1/models?limit=100&page=11")
    assert too_deep.status_code == 429
    assert too_deep.json() == {
        "error": "You've requested too many pages, please use cursors instead"
    }
    mixed = _get(sandbox, "/api/v1/models?query=lora&page=1")
    assert mixed.status_code == 400 and "error" in mixed.json()
    bad = _get(sandbox, "/api/v1/models?limit=500")
    assert bad.status_code == 400 and "limit" in bad.json()["error"]
    assert _get(sandbox, "/api/v1/models?favorites=true").status_code == 401


def test_filters(sandbox: SandboxServer) -> None:
    truth = [r for r in sandbox.truth() if r["platform"] == "civitai" and r["kind"] == "model"]
    zh = next(r for r in truth if r["how"] == "name:zh")
    found = _get(
        sandbox, "/api/v1/models", params={"tag": "character", "nsfw": "true"}, headers=TOKEN
    ).json()["items"]
    assert int(zh["external_id"]) in [m["id"] for m in found]
    model = _get(sandbox, f"/api/v1/models/{zh['external_id']}").json()
    by_user = _get(sandbox, "/api/v1/models", params={"username": model["creator"]["username"]})
    assert all(
        m["creator"]["username"] == model["creator"]["username"] for m in by_user.json()["items"]
    )
    tag = model["tags"][0]
    by_tag = _get(sandbox, "/api/v1/models", params={"tag": tag}).json()["items"]
    assert by_tag and all(tag in m["tags"] for m in by_tag)
    assert _get(sandbox, "/api/v1/models?types=Checkpoint").json()["items"] == []


def test_missing_model_body_matches_the_real_one(sandbox: SandboxServer) -> None:
    response = _get(sandbox, "/api/v1/models/999999999")
    assert response.status_code == 404
    assert response.json() == {"error": "No model with id 999999999"}


def test_versions_and_lookup_by_hash(sandbox: SandboxServer) -> None:
    model = _get(sandbox, "/api/v1/models?limit=1").json()["items"][0]
    version = model["modelVersions"][0]
    detail = _get(sandbox, f"/api/v1/model-versions/{version['id']}").json()
    assert detail["modelId"] == model["id"]
    assert detail["model"]["name"] == model["name"]
    assert detail["air"].endswith(f":{model['id']}@{version['id']}")
    hashes = version["files"][0]["hashes"]
    for value in (hashes["SHA256"].lower(), hashes["AutoV2"], hashes["CRC32"]):
        found = _get(sandbox, f"/api/v1/model-versions/by-hash/{value}").json()
        assert found["id"] == version["id"]
    missing = _get(sandbox, "/api/v1/model-versions/by-hash/0000000000")
    assert missing.status_code == 404 and missing.json() == {"error": "Model not found"}
    assert _get(sandbox, "/api/v1/model-versions/1").status_code == 404


def test_images_with_meta_name_the_lora(sandbox: SandboxServer) -> None:
    body = _get(sandbox, "/api/v1/images?limit=20&withMeta=true&sort=Newest").json()
    linked = [i for i in body["items"] if i["modelVersionIds"]]
    assert linked
    image = linked[0]
    meta = image["meta"]
    assert meta["prompt"] and meta["resources"][0]["type"] == "lora"
    assert f"<lora:{meta['resources'][0]['name']}:" in meta["prompt"]
    assert meta["civitaiResources"][0]["modelVersionId"] == image["modelVersionIds"][0]
    assert "original=true" in image["url"] and image["nsfwLevel"] == "None"
    plain = _get(sandbox, "/api/v1/images?limit=2").json()["items"]
    assert all("meta" not in i for i in plain)
    by_version = _get(
        sandbox, "/api/v1/images", params={"modelVersionId": image["modelVersionIds"][0]}
    ).json()["items"]
    assert image["id"] in [i["id"] for i in by_version]


def test_image_pagination_to_the_end(sandbox: SandboxServer) -> None:
    count = sum(
        1
        for r in sandbox.truth()
        if r["platform"] == "civitai" and r["kind"] == "image" and not r["removed"]
    )
    total, url = 0, f"{sandbox.url}/api/v1/images?limit=40&browsingLevel=31"
    while url:
        body = httpx.get(url, headers=TOKEN, timeout=30).json()
        total += len(body["items"])
        url = body["metadata"].get("nextPage")
    assert total == count


def test_cdn_serves_real_jpeg_renditions(sandbox: SandboxServer) -> None:
    image = _get(sandbox, "/api/v1/images?limit=1").json()["items"][0]
    original = httpx.get(image["url"], timeout=30)
    assert original.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(original.content)) as decoded:
        assert decoded.format == "JPEG" and decoded.size == (image["width"], image["height"])
    small = httpx.get(image["url"].replace("original=true", "width=96"), timeout=30)
    with Image.open(io.BytesIO(small.content)) as decoded:
        assert decoded.width == min(96, image["width"])
    forged = image["url"].replace(image["url"].split("/")[-3], "0" * 36)
    assert httpx.get(forged, timeout=30).status_code == 404


def test_download_needs_a_token_then_redirects_to_a_range_capable_file(
    sandbox: SandboxServer,
) -> None:
    version = _get(sandbox, "/api/v1/models?limit=1").json()["items"][0]["modelVersions"][0]
    url = version["downloadUrl"]
    anonymous = httpx.get(url, headers={"Accept": "application/json"}, timeout=30)
    assert anonymous.status_code == 401 and anonymous.json() == {"error": "Unauthorized"}
    browser = httpx.get(url, timeout=30)
    assert browser.status_code == 302 and browser.headers["location"].startswith("/login")
    redirect = httpx.get(url, headers={"Authorization": "Bearer demo"}, timeout=30)
    assert redirect.status_code == 302
    target = redirect.headers["location"]
    assert "/civitai-delivery/" in target and "X-Amz-Signature=" in target
    assert urlsplit(target).netloc != urlsplit(sandbox.url).netloc  # another host, a CDN
    again = httpx.get(url, headers={"Authorization": "Bearer demo"}, timeout=30)
    assert again.headers["location"] != target  # every call mints a new signed URL
    full = httpx.get(target, timeout=30)
    assert full.status_code == 200
    sha = hashlib.sha256(full.content).hexdigest().upper()
    assert sha == version["files"][0]["hashes"]["SHA256"]
    head = httpx.get(target, headers={"Range": "bytes=0-7"}, timeout=30)
    assert head.status_code == 206 and len(head.content) == 8
    (length,) = struct.unpack("<Q", head.content)
    header = httpx.get(target, headers={"Range": f"bytes=8-{7 + length}"}, timeout=30)
    assert "ss_output_name" in json.loads(header.content)["__metadata__"]
    assert httpx.get(target.replace("Signature=", "Signature=x"), timeout=30).status_code == 403
    token_query = httpx.get(url, params={"token": "demo"}, timeout=30)
    assert token_query.status_code == 302


def test_bulk_hash_lookup_tags_and_enums(sandbox: SandboxServer) -> None:
    versions = [
        m["modelVersions"][0] for m in _get(sandbox, "/api/v1/models?limit=3").json()["items"]
    ]
    hashes = [v["files"][0]["hashes"]["SHA256"] for v in versions]
    url = f"{sandbox.url}/api/v1/model-versions/by-hash"
    found = httpx.post(url, json=[*hashes, "A" * 64], timeout=30).json()
    assert [v["id"] for v in found] == [v["id"] for v in versions]
    assert httpx.post(url, json=["abc"], timeout=30).status_code == 400
    assert httpx.post(url, json=["A" * 64] * 101, timeout=30).status_code == 400
    tags = _get(sandbox, "/api/v1/tags?limit=2").json()
    assert len(tags["items"]) == 2 and tags["metadata"]["totalItems"] > 2
    assert tags["items"][0]["link"].startswith(f"{sandbox.url}/api/v1/models?tag=")
    enums = _get(sandbox, "/api/v1/enums").json()
    assert "LORA" in enums["ModelType"] and "Training Data" in enums["ModelFileType"]
