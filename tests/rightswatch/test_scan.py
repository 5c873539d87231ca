"""``rightswatch scan``: local images and LoRA files judged against the library."""

from __future__ import annotations

import json
import random
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin
from sqlalchemy import select

from evidence.models import (
    Candidate,
    CandidateKind,
    Character,
    Finding,
    Platform,
    PlatformKind,
    ReferenceImage,
)
from evidence.models import Decision as FindingDecision
from evidence.store import Store
from matching import MatchingError
from rightswatch.cli import cli
from rightswatch.config import load_config
from rightswatch.scan import VERSION_TAG, refresh_fingerprints, scan_spec
from rightswatch.scanpool import scan_files
from tests.support.likeness import TRANSFORMS, draw_character, draw_scene, encode

WATCH = """
[client]
name = "Acme Studio"

[[characters]]
name = "Hero"
aliases = { zh = ["英雄"], "zh-Latn-pinyin" = ["yingxiong"] }
references = ["refs/hero"]
"""


def _bad_and_odd_files(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "truncated.png").write_bytes(encode(draw_scene(1, 96))[:200])
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 40)
    bomb = bytearray(encode(Image.new("L", (8, 8))))
    ihdr = struct.pack(">II", 90_000, 90_000) + bytes(bomb[24:29])
    bomb[16:29] = ihdr
    bomb[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    (folder / "bomb.png").write_bytes(bytes(bomb))
    Image.new("RGB", (1, 1), "red").save(folder / "dot.png")
    draw_scene(2, 96).convert("CMYK").save(folder / "cmyk.jpg")
    draw_scene(3, 64).convert("P").save(folder / "palette.gif")
    frames = [draw_scene(4, 64), draw_scene(5, 64)]
    frames[0].save(folder / "anim.webp", save_all=True, append_images=frames[1:])
    (folder / "huge-header.safetensors").write_bytes(struct.pack("<Q", 2**63) + b"{}")
    (folder / "broken.safetensors").write_bytes(struct.pack("<Q", 8) + b"{broken}")


def _lora(path: Path) -> None:
    metadata = {
        "ss_output_name": "yingxiong_v1",
        "ss_tag_frequency": json.dumps({"8_yingxiong": {"yingxiong": 30, "solo": 12}}),
        "ss_dataset_dirs": json.dumps({"8_yingxiong": {"n_repeats": 8, "img_count": 32}}),
    }
    raw = json.dumps({"__metadata__": metadata}).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    refs = tmp_path / "refs" / "hero"
    refs.mkdir(parents=True)
    draw_character(1, size=192).save(refs / "hero-front.png")
    (tmp_path / "watch.toml").write_text(WATCH, encoding="utf-8")
    return tmp_path


def _invoke(project: Path, *args: str) -> str:
    db = f"sqlite:///{project / 'case.db'}"
    result = CliRunner().invoke(
        cli, [*args, "--config", str(project / "watch.toml"), "--database", db]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_scan_reports_every_file_and_goes_on(project: Path) -> None:
    _invoke(project, "references", "sync")
    scans = project / "scans"
    _bad_and_odd_files(scans / "odd")
    mirrored = TRANSFORMS["mirror"][1](draw_character(1, size=192), random.Random(1))
    mirrored.save(scans / "copy.jpg", quality=85)
    exif = Image.Exif()
    exif[0x0112] = 6
    draw_character(1, size=192).rotate(90, expand=True).save(scans / "rotated.jpg", exif=exif)
    _lora(scans / "model.safetensors")

    lines = [json.loads(x) for x in _invoke(project, "scan", str(scans), "--json").splitlines()]
    by_name = {Path(x["path"]).name: x for x in lines}
    assert len(lines) == 12

    copy = by_name["copy.jpg"]
    assert (copy["decision"], copy["character"], copy["reference"]) == (
        "flag",
        "Hero",
        "hero-front.png",
    )
    assert any("(mirrored)" in r for r in copy["reasons"])
    assert by_name["rotated.jpg"]["decision"] == "flag"  # EXIF orientation undone
    model = by_name["model.safetensors"]
    assert model["decision"] == "flag"
    assert model["reasons"][0].startswith("'yingxiong' in 30 of 32 training captions")

    for name in ("truncated.png", "corrupt.jpg", "bomb.png"):
        assert by_name[name]["decision"] is None
        assert name in by_name[name]["error"]
    assert "decompression bomb" in by_name["bomb.png"]["error"]
    assert "header length" in by_name["huge-header.safetensors"]["error"]
    assert "not valid UTF-8 JSON" in by_name["broken.safetensors"]["error"]
    for name in ("dot.png", "cmyk.jpg", "palette.gif", "anim.webp"):
        assert by_name[name]["error"] is None
        assert by_name[name]["decision"] == "ignore"


def test_scan_table_output(project: Path) -> None:
    _invoke(project, "references", "sync")
    target = project / "copy.png"
    draw_character(1, size=192).save(target)
    out = _invoke(project, "scan", str(target))
    assert "flag" in out and "Hero" in out


def test_fingerprints_are_stored_and_rebuilt_when_outdated(project: Path) -> None:
    _invoke(project, "references", "sync")
    store = Store.open(f"sqlite:///{project / 'case.db'}")
    with store.session() as session:
        row = session.scalars(select(ReferenceImage)).one()
        assert row.fingerprint_version == VERSION_TAG
        assert row.fingerprint is not None and row.fingerprint["sha256"] == row.sha256
        row.fingerprint_version = "matching-0"
    assert refresh_fingerprints(store) == []
    with store.session() as session:
        assert session.scalars(select(ReferenceImage)).one().fingerprint_version == VERSION_TAG


def test_parallel_scan_matches_the_serial_scan(project: Path, tmp_path: Path) -> None:
    _invoke(project, "references", "sync")
    folder = tmp_path / "many"
    folder.mkdir()
    for k in range(6):
        image = draw_character(1, size=128) if k % 3 == 0 else draw_scene(k, 96)
        image.save(folder / f"{k:02d}.png")
    store = Store.open(f"sqlite:///{project / 'case.db'}")
    config = load_config(project / "watch.toml")
    spec = scan_spec(store, config)
    files = sorted(folder.iterdir())
    serial = [r.to_json() for r in scan_files(files, spec, workers=1)]
    parallel = [r.to_json() for r in scan_files(files, spec, workers=2)]
    assert serial == parallel
    assert sum(r["decision"] == "flag" for r in serial) == 2


def _flagged_lora(project: Path, autov3: str) -> None:
    """A Civitai LoRA the crawl recorded with a FLAG finding for Hero, as the record pipeline
    stores it (file hashes in ``raw["crawl"]["files"]``)."""
    store = Store.open(f"sqlite:///{project / 'case.db'}")
    with store.session() as session:
        hero = session.scalars(select(Character).where(Character.name == "Hero")).one()
        platform = Platform(name="civitai", kind=PlatformKind.CIVITAI, base_url="http://x")
        session.add(platform)
        session.flush()
        files = [
            {
                "name": "shadow_style.safetensors",
                "sha256": "ab" * 32,
                "hashes": {"AutoV2": "ABABABABAB", "AutoV3": autov3.upper(), "CRC32": "12345678"},
            }
        ]
        model = Candidate(
            platform_id=platform.id, kind=CandidateKind.MODEL, external_id="4242",
            page_url="http://x/models/4242", title="Shadow Style",
            raw={"platform": {}, "crawl": {"files": files, "version_ids": ["777"],
                                           "trigger_words": ["shdw"]}},
        )  # fmt: skip
        session.add(model)
        session.flush()
        session.add(
            Finding(candidate_id=model.id, character_id=hero.id, score=0.97,
                    decision=FindingDecision.FLAG, reasons=[])
        )  # fmt: skip
    store.dispose()


def _showing_hero(seed: int) -> Image.Image:
    """A scene with the hero in it, at about half the picture's width."""
    picture = draw_scene(seed, 256).convert("RGB")
    hero = draw_character(1, size=128)
    picture.paste(hero, (64, 72), hero if hero.mode == "RGBA" else None)
    return picture


def _a1111(prompt: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        f"{prompt}\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: sd15",
    )
    return info


def test_scan_flags_images_by_their_generation_provenance(project: Path) -> None:
    """Done-when of the provenance signal: an image whose A1111 parameters name a LoRA called
    after a character alias, and an image generated with a flagged LoRA, each flagged with its
    reason; an image naming an unknown LoRA is not. Provenance corroborates a likeness measured
    in the pixels; a picture that names the LoRA but shows nothing of the character is not
    reported by default, and is queued for review with ``provenance_alone = "review"``."""
    _invoke(project, "references", "sync")
    autov3 = "0f1e2d3c4b5a" + "9" * 52
    _flagged_lora(project, autov3)
    scans = project / "generated"
    scans.mkdir()
    _showing_hero(11).save(
        scans / "alias-lora.png", pnginfo=_a1111("a knight in a forest <lora:yingxiong_v1:0.8>")
    )
    exif = Image.Exif()
    text = (
        "a castle at night <lora:shadow_style:1>\nSteps: 30, Sampler: DPM++ 2M, Seed: 7, "
        f'Lora hashes: "shadow_style: {autov3[:12]}", Version: v1.9.4'
    )
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + text.encode("utf-16-be")
    _showing_hero(12).save(scans / "flagged-lora.jpg", exif=exif, quality=92)
    draw_scene(14, 96).save(
        scans / "lora-no-hero.png", pnginfo=_a1111("a lake <lora:yingxiong_v1:0.8>")
    )
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lake <lora:landscape_v3:1>\nSteps: 20, Seed: 1, Size: 1x1")
    draw_scene(13, 96).save(scans / "other-lora.png", pnginfo=info)

    lines = [json.loads(x) for x in _invoke(project, "scan", str(scans), "--json").splitlines()]
    by_name = {Path(x["path"]).name: x for x in lines}
    alias = by_name["alias-lora.png"]
    assert (alias["decision"], alias["character"]) == ("flag", "Hero")
    assert (
        "generated with LoRA 'yingxiong_v1' (A1111 parameters): its name contains the pinyin "
        "alias 'yingxiong' of Hero"
    ) in alias["reasons"]
    flagged = by_name["flagged-lora.jpg"]
    assert (flagged["decision"], flagged["character"]) == ("flag", "Hero")
    assert (
        "generated with LoRA 'shadow_style' (EXIF UserComment), which is model 4242 "
        "'Shadow Style' by hash 0f1e2d3c4b5a, flagged as resembling Hero (finding 1, score 0.97)"
    ) in flagged["reasons"]
    alone = by_name["lora-no-hero.png"]
    assert alone["decision"] == "ignore" and alone["character"] == "Hero"
    assert any("no likeness to Hero's references was measured" in r for r in alone["reasons"])
    assert by_name["other-lora.png"]["decision"] == "ignore"

    config = project / "watch.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[matching]\nprovenance_alone = "review"\n',
        encoding="utf-8",
    )
    again = [json.loads(x) for x in _invoke(project, "scan", str(scans), "--json").splitlines()]
    queued = {Path(x["path"]).name: x for x in again}["lora-no-hero.png"]
    assert (queued["decision"], queued["character"]) == ("review", "Hero")
    assert any("asks a person to look" in r for r in queued["reasons"])


def test_scan_uses_the_configured_embedding_model(project: Path) -> None:
    from tests.matching.test_embedding import _model

    _model(project / "blocks.onnx")
    watch = project / "watch.toml"
    watch.write_text(
        WATCH + '\n[matching]\nembedding_model = "blocks.onnx"\nembedding_normalisation = "clip"\n',
        encoding="utf-8",
    )
    _invoke(project, "references", "sync")
    target = project / "blurred.jpg"
    TRANSFORMS["blur"][1](draw_character(1, size=192), random.Random(1)).save(target)
    (line,) = _invoke(project, "scan", str(target), "--json").splitlines()
    reasons = json.loads(line)["reasons"]
    assert any(r.startswith("learned embedding (blocks.onnx): cosine similarity") for r in reasons)

    watch.write_text(WATCH + '\n[matching]\nembedding_model = "missing.onnx"\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["scan", str(target), "--config", str(watch), "--database", f"sqlite:///{project}/c.db"],
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, MatchingError)
    assert "missing.onnx: no such model file" in str(result.exception)


def test_the_pool_is_used_only_when_the_files_and_cpus_make_it_pay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rightswatch import scanpool

    monkeypatch.setattr(scanpool, "usable_cpus", lambda: 2)
    monkeypatch.setattr(scanpool, "can_fork", lambda: True)
    assert scanpool.choose_processes(scanpool.FORK_POOL_FROM - 1) == 1
    assert scanpool.choose_processes(scanpool.FORK_POOL_FROM) == 2
    assert scanpool.choose_processes(1000) == 2
    assert scanpool.choose_processes(1000, workers=3) == 3
    assert scanpool.choose_processes(2, workers=8) == 2
    monkeypatch.setattr(scanpool, "can_fork", lambda: False)
    assert scanpool.choose_processes(scanpool.SPAWN_POOL_FROM - 1) == 1
    assert scanpool.choose_processes(scanpool.SPAWN_POOL_FROM) == 2
    monkeypatch.setattr(scanpool, "usable_cpus", lambda: 1)
    assert scanpool.choose_processes(1000) == 1


def test_spawned_workers_build_the_engine_from_the_spec(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where fork does not exist the workers are spawned: the spec must cross to them."""
    from rightswatch import scanpool

    _invoke(project, "references", "sync")
    folder = tmp_path / "few"
    folder.mkdir()
    draw_character(1, size=128).save(folder / "copy.png")
    draw_scene(7, 96).save(folder / "scene.png")
    spec = scan_spec(
        Store.open(f"sqlite:///{project / 'case.db'}"), load_config(project / "watch.toml")
    )
    files = sorted(folder.iterdir())
    monkeypatch.setattr(scanpool, "can_fork", lambda: False)
    spawned = [r.to_json() for r in scan_files(files, spec, workers=2)]
    assert [r["decision"] for r in spawned] == ["flag", "ignore"]
