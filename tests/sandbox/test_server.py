"""The server process: URL line, loopback only, concurrency, determinism, the demo client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from rightswatch.cli import cli
from rightswatch.config import load_config
from sandbox.content import CHARACTERS
from tests.support.sandbox import SandboxFactory, SandboxServer, start_sandbox


def test_url_line_and_info(sandbox: SandboxServer) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    info = sandbox.get("/sandbox/info.json").json()
    assert info["seed"] == 1 and info["items"] == 300
    assert len(sandbox.truth()) == 300
    assert sandbox.get("/").status_code == 200


def test_non_loopback_host_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--host",
            "0.0.0.0",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "loopback" in result.stderr and result.stdout == ""


def test_bad_fault_spec_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--faults",
            "500=7",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "500=7" in result.stderr


def test_two_hundred_concurrent_requests(sandbox: SandboxServer) -> None:
    paths = [
        "/api/v1/models?limit=5",
        "/api/v1/images?limit=5&withMeta=true",
        "/api/models?limit=5",
        "/gallery/",
        "/sandbox/info.json",
    ]

    async def hammer() -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=sandbox.url, limits=limits, timeout=60) as client:
            responses = await asyncio.gather(
                *(client.get(paths[n % len(paths)], params={"n": n}) for n in range(200))
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(hammer())
    # Civitai's image listings may answer 503 + Retry-After under load, as the real API does
    # (sandbox/civitai_busy.py); nothing else fails
    assert all(s == 200 or (s == 503 and n % len(paths) == 1) for n, s in enumerate(statuses))
    assert statuses.count(200) >= 180


def test_same_seed_same_bytes(sandbox: SandboxServer, tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "twin") as twin:
        assert twin.truth() == [  # every URL (the item's, its gallery sites') moved host
            json.loads(json.dumps(row).replace(sandbox.url, twin.url)) for row in sandbox.truth()
        ]
        images = sandbox.get("/api/v1/images?limit=3").json()["items"]
        for image in images:
            mine = httpx.get(image["url"], timeout=30).content
            theirs = httpx.get(image["url"].replace(sandbox.url, twin.url), timeout=30).content
            assert mine == theirs
        repo = sandbox.get("/api/models?limit=1").json()[0]["id"]
        assert (
            sandbox.get(f"/api/models/{repo}?blobs=true").json()["siblings"]
            == twin.get(f"/api/models/{repo}?blobs=true").json()["siblings"]
        )


def test_other_seed_other_world(sandbox_factory: SandboxFactory) -> None:
    other = sandbox_factory(seed=2, items=60)
    assert len(other.truth()) == 60
    assert other.get("/sandbox/info.json").json()["seed"] == 2


def test_demo_client_writes_a_loadable_watch_config(sandbox: SandboxServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["sandbox", "client", "--url", sandbox.url, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "watch.toml")
    assert [c.name for c in config.characters] == [c.name for c in CHARACTERS]
    assert {p.kind.value for p in config.platforms} == {"civitai", "huggingface", "gallery"}
    assert all(p.url.startswith(sandbox.url) for p in config.platforms)
    assert str(config.evidence.tsa_urls[0]) == f"{sandbox.url}/tsa"
    for character in config.characters:
        folder = config.resolve(character.references[0])
        assert len(list(folder.glob("*.png"))) == 5
        assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(character.aliases["zh"]))
    ca = config.resolve(config.evidence.tsa_ca_files[0]).read_bytes()
    assert ca == sandbox.ca_pem()


def test_rightswatch_sandbox_serve_runs_and_stops_its_child(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "rightswatch", "sandbox", "serve", "--items", "20"]
    process = subprocess.Popen(
        [*command, "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert httpx.get(f"{url}/sandbox/info.json", timeout=30).json()["items"] == 20
        process.terminate()
        process.wait(timeout=30)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/sandbox/info.json", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
