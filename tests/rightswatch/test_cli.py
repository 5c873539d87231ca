"""The rightswatch command, run as users run it: a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from evidence.models import (
    Candidate,
    CandidateKind,
    Character,
    Decision,
    Finding,
    Platform,
    PlatformKind,
)
from evidence.queries.references import mirror_client
from evidence.store import Store


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rightswatch", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _image(path: Path, colour: str, shift: int = 0) -> Path:
    img = Image.new("RGB", (128, 128), "white")
    ImageDraw.Draw(img).ellipse((20 + shift, 20, 100, 110), fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def test_help_lists_every_command_with_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    lines = result.stdout.split("Commands:", 1)[1].strip().splitlines()
    names = [ln.split()[0] for ln in lines]
    assert {"init", "references", "findings", "db"} <= set(names)
    for line in lines:
        assert len(line.split(maxsplit=1)[1]) > 10, line
        assert not line.rstrip().endswith("..."), f"help cut short: {line}"


def test_version(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("rightswatch, version ")


def test_init_writes_config_and_database(tmp_path: Path) -> None:
    result = run(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "watch.toml").read_text(encoding="utf-8").startswith("# rightswatch")
    assert (tmp_path / "rightswatch-data" / "rightswatch.db").exists()
    again = run(tmp_path, "init")
    assert "left as it is" in again.stdout


def test_references_add_skips_bad_files_and_dedupes(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    good = [
        _image(refs / f"hero-{i}.png", c, i * 7) for i, c in enumerate(["red", "blue", "green"])
    ]
    (refs / "notes.png").write_bytes(b"this is not an image")
    (refs / "cut.png").write_bytes(good[0].read_bytes()[:200])
    result = run(tmp_path, "references", "add", "refs", "--character", "Hero")
    assert result.returncode == 0, result.stderr
    assert "3 added, 0 already in the library, 2 skipped" in result.stdout
    assert "notes.png: not an image" in result.stderr
    assert "cut.png: damaged image" in result.stderr

    again = run(tmp_path, "references", "add", str(good[0]), "-c", "Hero")
    assert "0 added, 1 already in the library" in again.stdout

    listed = run(tmp_path, "references", "list", "--json")
    rows = json.loads(listed.stdout)
    assert sorted(Path(r["path"]).name for r in rows) == ["hero-0.png", "hero-1.png", "hero-2.png"]
    assert all(len(r["sha256"]) == 64 and r["character"] == "Hero" for r in rows)
    assert all(len(r["phash"]) == 16 and len(r["pdq"]) == 64 for r in rows)


def test_references_sync_reads_the_config(tmp_path: Path) -> None:
    _image(tmp_path / "art" / "hero" / "front.png", "red")
    (tmp_path / "watch.toml").write_text(
        '[client]\nname = "Acme"\n\n[[characters]]\nname = "Hero"\n'
        'aliases = { zh = ["英雄"] }\nreferences = ["art/hero", "art/missing"]\n\n'
        '[[platforms]]\nname = "civitai"\nkind = "civitai"\n',
        encoding="utf-8",
    )
    result = run(tmp_path, "references", "sync")
    assert result.returncode == 0, result.stderr
    assert "1 characters, 1 platforms" in result.stdout
    assert "art/missing: reference folder does not exist" in result.stderr
    store = Store.open(f"sqlite:///{tmp_path / 'rightswatch-data' / 'rightswatch.db'}")
    with store.session() as s:
        char = s.scalar(select(Character))
        assert char is not None and char.aliases == {"zh": ["英雄"]}
        assert len(char.references) == 1
    store.dispose()


def test_bad_config_is_one_line_and_status_2(tmp_path: Path) -> None:
    (tmp_path / "watch.toml").write_text('[client]\nname = "A"\n[[characters]]\nnme = "x"\n')
    result = run(tmp_path, "references", "sync")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert "watch.toml: characters[0].nme: unknown key" in lines[0]


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade", "--database", "postgresql+psycopg://x@127.0.0.1:1/db")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot open database postgresql+psycopg://x@127.0.0.1:1/db" in result.stderr


@pytest.mark.parametrize("as_json", [True, False])
def test_findings_list(tmp_path: Path, as_json: bool) -> None:
    url = f"sqlite:///{tmp_path / 'case.db'}"
    store = Store.open(url)
    mirror_client(store, "Acme", "", [("Hero", None)])
    with store.session() as s:
        char = s.scalars(select(Character).where(Character.name == "Hero")).one()
        plat = Platform(name="civitai", kind=PlatformKind.CIVITAI, base_url="https://civitai.com")
        s.add(plat)
        s.flush()
        for ext, score in (("1", 0.6), ("2", 0.95)):
            cand = Candidate(
                platform_id=plat.id,
                kind=CandidateKind.IMAGE,
                external_id=ext,
                page_url=f"https://civitai.com/images/{ext}",
                title=f"pic {ext}",
            )
            s.add(cand)
            s.flush()
            s.add(
                Finding(
                    candidate_id=cand.id,
                    character_id=char.id,
                    score=score,
                    decision=Decision.FLAG if score > 0.8 else Decision.REVIEW,
                )
            )
    store.dispose()
    args = ["findings", "list", "--database", url] + (["--json"] if as_json else [])
    result = run(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    if as_json:
        rows = json.loads(result.stdout)
        assert [r["external_id"] for r in rows] == ["2", "1"]
        assert {
            "platform",
            "kind",
            "external_id",
            "character",
            "decision",
            "score",
            "page_url",
        } <= set(rows[0])
        assert rows[0]["character"] == "Hero" and rows[0]["decision"] == "flag"
    else:
        assert "2 findings" in result.stdout
        assert "pic 2" in result.stdout


def test_ctx_exit_codes_reach_the_shell(tmp_path: Path) -> None:
    import click

    from rightswatch.cli import cli, main

    @cli.command("exit-probe", hidden=True)
    @click.pass_context
    def probe(ctx: click.Context) -> None:
        ctx.exit(3)

    try:
        with pytest.raises(SystemExit) as info:
            main(["exit-probe"])
        assert info.value.code == 3
    finally:
        cli.commands.pop("exit-probe")
