"""Faults on demand: each switch, the SPEC parser, and determinism."""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from sandbox.errors import FaultSpecError
from sandbox.faults import FaultMiddleware, parse_fault_spec
from tests.support.sandbox import SandboxServer, start_sandbox

CONTENT_FAULTS = "bomb=1,corrupt-jpeg=1,st-huge-header=1,st-bad-json=1,script-title=1"


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    spec = f"{CONTENT_FAULTS},500=0.5@/api/v1/images"
    with start_sandbox(tmp_path_factory.mktemp("faulty"), items=120, faults=spec) as server:
        yield server


def _faulty_row(server: SandboxServer, fault: str) -> dict[str, Any]:
    return next(r for r in server.truth() if r["fault"] == fault)


def _decodes(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    return True


def test_spec_parser() -> None:
    plan = parse_fault_spec(" 429=0.2:3 , slow=0.5:1.5@/api/,bomb, st-bad-json=2 ")
    assert [(r.name, r.rate, r.param, r.prefix) for r in plan.rules] == [
        ("429", 0.2, 3.0, "/"),
        ("slow", 0.5, 1.5, "/api/"),
    ]
    assert dict(plan.content) == {"bomb": 1, "st-bad-json": 2}
    for bad, needle in (("teapot=1", "unknown fault"), ("500=2", "at most 1"), ("500=x", "number")):
        with pytest.raises(FaultSpecError, match=needle):
            parse_fault_spec(bad)


def test_forced_request_faults(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/api/v1/models?limit=1&sandbox_fault="
    limited = httpx.get(url + "429", timeout=30)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert "error" in limited.json()
    broken = httpx.get(url + "500", timeout=30)
    assert broken.status_code == 500 and broken.json() == {"error": "Internal Server Error"}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url + "drop", timeout=30)
    challenge = httpx.get(url + "challenge", timeout=30)
    assert challenge.status_code == 403
    assert challenge.headers["cf-mitigated"] == "challenge"
    assert "Just a moment..." in challenge.text and "items" not in challenge.text
    started = time.monotonic()
    slow = httpx.get(url + "slow", timeout=30)
    assert slow.status_code == 200 and time.monotonic() - started >= 1.0
    assert httpx.get(url.removesuffix("&sandbox_fault="), timeout=30).status_code == 200
    next_page = httpx.get(url + "slow", timeout=30).json()["metadata"]["nextPage"]
    assert "sandbox_fault" not in next_page


def test_truncated_image_bodies(sandbox: SandboxServer) -> None:
    image = sandbox.get("/api/v1/images?limit=1").json()["items"][0]
    whole = httpx.get(image["url"], timeout=30).content
    cut = httpx.get(image["url"] + "?sandbox_fault=truncate", timeout=30)
    assert cut.status_code == 200
    assert int(cut.headers["content-length"]) == len(cut.content) == len(whole) // 2
    assert whole.startswith(cut.content) and not _decodes(cut.content)
    json_untouched = sandbox.get("/api/v1/images?limit=1&sandbox_fault=truncate")
    assert json_untouched.json()["items"]


def test_rate_rules_follow_prefix_and_seed(faulty: SandboxServer) -> None:
    codes = [faulty.get(f"/api/v1/images?limit=1&n={n}").status_code for n in range(24)]
    assert 500 in codes and 200 in codes
    assert all(faulty.get(f"/api/v1/models?limit=1&n={n}").status_code == 200 for n in range(6))


def test_same_seed_same_fault_sequence() -> None:
    plan = parse_fault_spec("500=0.5,slow=0.3:2")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the fault decision alone is under test")

    def decisions(seed: int) -> list[dict[str, float]]:
        middleware = FaultMiddleware(app, plan, seed)
        scopes = [
            {"type": "http", "method": "GET", "path": "/api/v1/models", "query_string": q}
            for q in (b"limit=1", b"limit=2", b"limit=1", b"cursor=5", b"limit=1")
        ] * 4
        return [middleware._chosen(scope) for scope in scopes]

    first, again, other = decisions(7), decisions(7), decisions(8)
    assert first == again and first != other
    assert {name for chosen in first for name in chosen} == {"500", "slow"}
    assert any(not chosen for chosen in first)


def test_decompression_bomb_and_corrupt_jpeg(faulty: SandboxServer) -> None:
    bomb = _faulty_row(faulty, "bomb")
    corrupt = _faulty_row(faulty, "corrupt-jpeg")
    urls = {}
    for row in (bomb, corrupt):
        if row["platform"] == "gallery":
            urls[row["fault"]] = f"{faulty.url}/gallery/cdn/posts/{row['external_id']}.png"
        else:
            item = faulty.get(f"/api/v1/images?imageId={row['external_id']}").json()["items"][0]
            urls[row["fault"]] = item["url"]
    bomb_bytes = httpx.get(urls["bomb"], timeout=30).content
    assert bomb_bytes.startswith(b"\x89PNG") and len(bomb_bytes) < 2_000_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb_bytes))
    corrupt_bytes = httpx.get(urls["corrupt-jpeg"], timeout=30).content
    assert corrupt_bytes.startswith(b"\xff\xd8") and not _decodes(corrupt_bytes)


def _file_url(server: SandboxServer, row: dict[str, Any]) -> str:
    if row["platform"] == "huggingface":
        info = server.get(f"/api/models/{row['external_id']}").json()
        name = next(
            s["rfilename"] for s in info["siblings"] if s["rfilename"].endswith(".safetensors")
        )
        resolved = server.get(f"/{row['external_id']}/resolve/main/{name}")
        return str(resolved.headers["location"])  # the CDN's signed URL
    if row["platform"] == "gallery":
        detail = httpx.post(
            f"{server.url}/gallery/api/v1/model/detail", json={"id": row["external_id"]}, timeout=30
        ).json()["data"]
        return str(detail["versions"][0]["file"]["downloadUrl"])
    model = server.get(f"/api/v1/models/{row['external_id']}", params={"token": "t"}).json()
    download = model["modelVersions"][0]["downloadUrl"]
    return httpx.get(download, params={"token": "t"}, timeout=30).headers["location"]


def test_broken_safetensors_headers(faulty: SandboxServer) -> None:
    huge = httpx.get(_file_url(faulty, _faulty_row(faulty, "st-huge-header")), timeout=30)
    assert struct.unpack("<Q", huge.content[:8])[0] == 2**63
    broken = httpx.get(_file_url(faulty, _faulty_row(faulty, "st-bad-json")), timeout=30)
    (length,) = struct.unpack("<Q", broken.content[:8])
    assert length < len(broken.content)
    with pytest.raises(ValueError):
        json.loads(broken.content[8 : 8 + length])


def test_script_in_a_model_title(faulty: SandboxServer) -> None:
    row = _faulty_row(faulty, "script-title")
    assert row["title"].startswith("<script>")
    if row["platform"] == "civitai":
        name = faulty.get(f"/api/v1/models/{row['external_id']}").json()["name"]
    elif row["platform"] == "gallery":
        name = httpx.post(
            f"{faulty.url}/gallery/api/v1/model/detail", json={"id": row["external_id"]}, timeout=30
        ).json()["data"]["name"]
    else:
        readme = httpx.get(f"{faulty.url}/{row['external_id']}/resolve/main/README.md", timeout=30)
        name = readme.text.split("\n# ", 1)[1]
    assert name.startswith('<script>alert("sandbox")</script>')
    page = httpx.get(row["url"], timeout=30)
    assert "<script>alert(" not in page.text  # shells and pages never echo it unescaped
