"""The sandbox is as unkind as the real platforms by default (real-platforms.md)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest
from protego import Protego

from sandbox.world import build_world
from tests.support.sandbox import SandboxFactory, SandboxServer

TOKEN = {"Authorization": "Bearer demo"}


def _truth(sandbox: SandboxServer, platform: str, kind: str = "model") -> list[dict[str, object]]:
    return [r for r in sandbox.truth() if r["platform"] == platform and r["kind"] == kind]


def test_robots_txt_is_civitais_and_disallows_the_api(sandbox: SandboxServer) -> None:
    robots = Protego.parse(sandbox.get("/robots.txt").text)
    assert not robots.can_fetch(f"{sandbox.url}/api/v1/models", "rightswatch")
    assert not robots.can_fetch(f"{sandbox.url}/search/models?query=x", "rightswatch")
    assert robots.can_fetch(f"{sandbox.url}/api/trpc/model.getById", "rightswatch")
    assert robots.can_fetch(f"{sandbox.url}/models/100001/slug", "rightswatch")


def test_mature_models_need_nsfw_and_a_token(sandbox: SandboxServer) -> None:
    mature = {str(r["external_id"]) for r in _truth(sandbox, "civitai") if r["nsfw_level"] != 1}
    assert mature, "the default world has mature models"

    def ids(params: str, headers: dict[str, str] | None = None) -> set[str]:
        body = sandbox.get(f"/api/v1/models?limit=100&{params}", headers=headers or {}).json()
        return {str(m["id"]) for m in body["items"]}

    assert not ids("") & mature
    assert not ids("nsfw=true") & mature  # anonymous callers are capped at PG
    assert not ids("", TOKEN) & mature
    assert mature <= ids("nsfw=true", TOKEN)


def test_images_follow_the_browsing_level_bitmask(sandbox: SandboxServer) -> None:
    rows = _truth(sandbox, "civitai", "image")
    levels = {str(r["external_id"]): r["browsing_level"] for r in rows}
    assert set(levels.values()) > {1}

    def seen(params: str, headers: dict[str, str] | None = None) -> set[object]:
        body = sandbox.get(f"/api/v1/images?limit=200&{params}", headers=headers or {}).json()
        return {levels[str(i["id"])] for i in body["items"]}

    assert seen("browsingLevel=31") == {1}  # anonymous: PG only
    assert seen("browsingLevel=8", TOKEN) == {8}
    assert seen("browsingLevel=31", TOKEN) == set(levels.values())


def test_look_alikes_come_in_every_model_type(sandbox: SandboxServer) -> None:
    types = {r["type"] for r in _truth(sandbox, "civitai") if r["character"]}
    assert {"LORA", "LoCon", "DoRA", "TextualInversion"} <= types
    only_lora = sandbox.get("/api/v1/models?types=LORA&limit=100&nsfw=true", headers=TOKEN)
    assert {m["type"] for m in only_lora.json()["items"]} == {"LORA"}
    assert "DoRA" in sandbox.get("/api/v1/enums").json()["ModelType"]


def _search(sandbox: SandboxServer, limit: int) -> list[int]:
    found: list[int] = []
    url: str | None = f"{sandbox.url}/api/v1/models?query=character&limit={limit}&nsfw=true"
    while url:
        body = httpx.get(url, headers=TOKEN, timeout=30).json()
        assert len(body["items"]) <= limit
        found += [m["id"] for m in body["items"]]
        url = body["metadata"].get("nextPage")
    return found


def test_search_drops_a_hit_per_page_and_the_last_one(sandbox: SandboxServer) -> None:
    one_page = _search(sandbox, 100)
    pages = _search(sandbox, 3)
    assert len(one_page) >= 6 and set(pages) < set(one_page)
    # one hit per page of 3 is lost: a page carries 3 of every 4 hits
    assert len(pages) == len(one_page) + 1 - -(-(len(one_page) + 1) // 4)


def test_hub_loras_without_the_tag_and_peft_adapters_with_it(sandbox: SandboxServer) -> None:
    rows = {str(r["external_id"]): r for r in _truth(sandbox, "huggingface")}
    tagged = {i["id"] for i in sandbox.get("/api/models?filter=lora&limit=1000").json()}
    characters = {k for k, r in rows.items() if r["character"]}
    untagged = characters - tagged
    assert untagged and characters & tagged  # about half carry no "lora" tag
    peft = {k for k, r in rows.items() if r["flavour"] == "peft-llm"}
    assert peft and peft <= tagged and not any(rows[k]["character"] for k in peft)
    text_to_image = {i["id"] for i in sandbox.get("/api/models?filter=text-to-image").json()}
    assert characters <= text_to_image and not peft & text_to_image


def test_expand_returns_what_a_repo_call_would(sandbox: SandboxServer) -> None:
    url = "/api/models?limit=2&expand[]=siblings&expand[]=cardData&expand[]=sha&expand[]=gated"
    items = sandbox.get(url).json()
    assert set(items[0]) == {"_id", "id", "siblings", "cardData", "sha", "gated"}
    assert sandbox.get("/api/models?expand[]=bogus").status_code == 400


def test_a_gated_repo_refuses_its_files(sandbox: SandboxServer) -> None:
    gated = next(r for r in _truth(sandbox, "huggingface") if r["gated"])
    info = sandbox.get(f"/api/models/{gated['external_id']}").json()
    assert info["gated"] == "manual"
    weights = next(s["rfilename"] for s in info["siblings"] if s["rfilename"].endswith("tensors"))
    url = f"/{gated['external_id']}/resolve/main/{weights}"
    assert sandbox.get(url).status_code == 401
    refused = sandbox.get(url, headers=TOKEN)
    assert refused.status_code == 403 and refused.headers["x-error-code"] == "GatedRepo"


def test_truth_covers_every_item(sandbox: SandboxServer) -> None:
    world = build_world(1, 300)
    assert len(sandbox.truth()) == len(world.models) + len(world.pictures) == 300


def test_signed_urls_expire_and_rate_limits_pause(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(
        items=40, extra=("--signed-ttl", "0", "--time-scale", "0.01", "--rate-limit", "api=3")
    )
    row = next(r for r in _truth(server, "civitai"))
    model = server.get(f"/api/v1/models/{row['external_id']}", headers=TOKEN).json()
    redirect = httpx.get(model["modelVersions"][0]["downloadUrl"], headers=TOKEN, timeout=30)
    location = redirect.headers["location"]
    assert urlsplit(location).hostname == "127.0.0.2"
    expired = httpx.get(location, timeout=30)
    assert expired.status_code == 403 and b"AccessDenied" in expired.content
    answers = [server.get("/api/models?limit=1") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit"].startswith('"api";r=2;t=')
    assert answers[0].headers["ratelimit-policy"] == '"fixed window";"api";q=3;w=3'
    wait = int(answers[3].headers["retry-after"])
    assert 1 <= wait <= 3  # a 300 s window at time scale 0.01
    deadline = time.monotonic() + 10
    while server.get("/api/models?limit=1").status_code == 429:
        assert time.monotonic() < deadline, "the window never reset"
        time.sleep(0.5)


@pytest.mark.parametrize("bad", ["api", "bogus=3", "api=x"])
def test_bad_rate_limit_spec_is_named(bad: str) -> None:
    from sandbox.errors import FaultSpecError
    from sandbox.ratelimit import parse_limits

    with pytest.raises(FaultSpecError, match=bad.split("=")[0]):
        parse_limits(bad)


def test_civitai_images_answer_503_with_retry_after_under_load(
    sandbox: SandboxServer, sandbox_factory: SandboxFactory
) -> None:
    """real-platforms.md Civitai 7: by default a share of image listing URLs is answered 503
    with Retry-After 2 (scaled) on the first request; asked again, they are served."""
    urls = [f"/api/v1/images?limit=5&sort=Newest&page={n}" for n in range(1, 41)]
    first = [sandbox.get(u) for u in urls]
    busy = [u for u, r in zip(urls, first, strict=True) if r.status_code == 503]
    assert 0 < len(busy) < len(urls)  # some, never all (default share 0.15)
    answer = next(r for r in first if r.status_code == 503)
    assert answer.headers["retry-after"] == "1"  # 2 sandbox seconds at the session's 0.05
    assert answer.json()["error"] == "Service Unavailable"
    assert all(sandbox.get(u).status_code == 200 for u in busy)  # bounded: once per URL
    forced = sandbox.get("/api/v1/models?limit=1&sandbox_fault=busy")
    assert forced.status_code == 200  # only image listings are ever busy

    quiet = sandbox_factory(items=40, extra=("--civitai-busy", "0", "--time-scale", "4"))
    assert all(quiet.get(u).status_code == 200 for u in urls[:10])
    slow = quiet.get("/api/v1/images?limit=1&sandbox_fault=busy")
    assert slow.status_code == 503 and slow.headers["retry-after"] == "8"  # scaled with time
