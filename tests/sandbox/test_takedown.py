"""Takedowns: after POST /sandbox/admin/remove/{kind}/{id} every surface shows the removal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.sandbox import SandboxServer, start_sandbox


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with start_sandbox(tmp_path_factory.mktemp("takedown"), items=80, seed=9) as server:
        yield server


def _pick(server: SandboxServer, platform: str, kind: str) -> dict[str, Any]:
    return next(
        r
        for r in server.truth()
        if r["platform"] == platform and r["kind"] == kind and not r["removed"]
    )


def _gallery(server: SandboxServer, path: str, item_id: str) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/gallery/api/v1/{path}", json={"id": item_id}, timeout=30)
    data: dict[str, Any] = response.json()
    return data


def test_civitai_model_is_taken_down(world: SandboxServer) -> None:
    row = _pick(world, "civitai", "model")
    model_id = row["external_id"]
    before = world.get(f"/api/v1/models/{model_id}").json()
    download = before["modelVersions"][0]["downloadUrl"]
    assert world.get(row["url"].removeprefix(world.url)).status_code == 200
    assert world.remove("model", model_id)["removed"]["platform"] == "civitai"
    after = world.get(f"/api/v1/models/{model_id}").json()
    assert after["mode"] == "TakenDown"
    assert all(v["files"] == [] and v["images"] == [] for v in after["modelVersions"])
    listed = world.get("/api/v1/models?limit=100").json()["items"]
    assert int(model_id) not in [m["id"] for m in listed]
    page = httpx.get(row["url"], timeout=30)
    assert page.status_code == 410 and "taken down" in page.text
    assert httpx.get(download, params={"token": "t"}, timeout=30).status_code == 404
    assert next(r for r in world.truth() if r["external_id"] == model_id)["removed"] is True


def test_civitai_image_is_removed(world: SandboxServer) -> None:
    row = _pick(world, "civitai", "image")
    listed = world.get(f"/api/v1/images?imageId={row['external_id']}").json()["items"]
    cdn = listed[0]["url"]
    world.remove("image", row["external_id"])
    assert world.get(f"/api/v1/images?imageId={row['external_id']}").json()["items"] == []
    assert httpx.get(row["url"], timeout=30).status_code == 410
    assert httpx.get(cdn, timeout=30).status_code == 404


def test_huggingface_repo_is_disabled(world: SandboxServer) -> None:
    row = _pick(world, "huggingface", "model")
    repo = row["external_id"]
    world.remove("model", repo)
    info = world.get(f"/api/models/{repo}").json()
    assert info["disabled"] is True and info["siblings"] == []
    assert repo not in [m["id"] for m in world.get("/api/models").json()]
    resolve = world.get(f"/{repo}/resolve/main/README.md")
    assert resolve.status_code == 403
    assert world.get(f"/{repo}").status_code == 410


def test_gallery_items_are_removed(world: SandboxServer) -> None:
    post = _pick(world, "gallery", "image")
    model = _pick(world, "gallery", "model")
    world.remove("image", post["external_id"])
    world.remove("model", model["external_id"])
    assert _gallery(world, "post/detail", post["external_id"]) == {
        "code": "404",
        "message": "This work has been removed",
        "data": None,
    }
    assert _gallery(world, "model/detail", model["external_id"])["code"] == "404"
    for row in (post, model):
        page = httpx.get(row["url"], timeout=30)
        assert page.status_code == 410 and "removed" in page.text
    assert world.get(f"/gallery/cdn/posts/{post['external_id']}.png").status_code == 404


def test_unknown_takedowns_are_refused(world: SandboxServer) -> None:
    for kind, item_id in (("model", "0"), ("video", "1")):
        response = httpx.post(f"{world.url}/sandbox/admin/remove/{kind}/{item_id}", timeout=30)
        assert response.status_code == 404 and "error" in response.json()
