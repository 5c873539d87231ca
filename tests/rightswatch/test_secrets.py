"""A local attacker on a shared machine, and anyone who reads the evidence folder: after a
monitoring run on a PostgreSQL case file whose URL carries a password, with a platform token
in the environment, no file written holds either secret, and the case file, keys and evidence
folders are readable by their owner only."""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from evidence.signing import generate_keypair
from evidence.store import Store
from sandbox.client import write_client
from tests.support.sandbox import SandboxServer

DB_PASSWORD = "Pg-Passw0rd-must-not-leak"  # trust auth on 127.0.0.1 accepts and ignores it
API_TOKEN = "civitai-token-must-not-leak"


def _texts(folder: Path) -> list[tuple[Path, bytes]]:
    out = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            out.append((path, data))
    return out


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_credential_is_written_by_a_postgresql_run(
    sandbox: SandboxServer, pg_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "client"
    write_client(sandbox.url, root)
    url = make_url(pg_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    env |= {"RIGHTSWATCH_DATABASE_URL": url, "CIVITAI_TOKEN": API_TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "rightswatch", "run", "-p", "civitai", "--max-items", "8",
         "--no-capture", "--no-notify", "--json"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert DB_PASSWORD not in result.stdout + result.stderr
    evidence = root / "rightswatch-data" / "evidence"
    files = _texts(evidence)
    assert any(p.name.endswith(".warc.gz") for p, _ in files)
    assert any(p.name == "plan.json" for p, _ in files)
    for path, data in files:
        assert DB_PASSWORD.encode() not in data, path
        assert API_TOKEN.encode() not in data, path
    warc = b"".join(d for p, d in files if p.name.endswith(".warc.gz"))
    assert b"\r\nAuthorization:" not in warc  # the crawler did send it; the WARC does not keep it
    for folder in (evidence, evidence / "crawls", evidence / "runs"):
        assert _mode(folder) == 0o700, folder
    for run_dir in (evidence / "crawls").glob("run-*"):
        assert _mode(run_dir) == 0o700 and _mode(run_dir / "plan.json") == 0o600


def test_the_sqlite_case_file_and_the_key_are_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "data" / "case.db"
    Store.open(f"sqlite:///{db}").dispose()
    assert _mode(db) == 0o600 and _mode(db.parent) == 0o700
    assert all(_mode(p) == 0o600 for p in db.parent.glob("case.db*"))
    pair = generate_keypair(tmp_path / "keys" / "op.key", tmp_path / "keys" / "op.pub.pem")
    assert _mode(pair.private_path) == 0o600 and _mode(pair.private_path.parent) == 0o700


def test_scheduled_jobs_do_not_store_a_database_password(tmp_path: Path) -> None:
    from rightswatch.commands.schedule import job_specs
    from rightswatch.config import load_config

    (tmp_path / "watch.toml").write_text(
        '[client]\nname = "S"\n[[characters]]\nname = "Pipera"\n'
        '[[schedules]]\nname = "nightly"\ncron = "0 3 * * *"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "watch.toml")
    secret = f"postgresql+psycopg://rw:{DB_PASSWORD}@127.0.0.1/test"
    (spec,) = job_specs(config, tmp_path / "watch.toml", secret)
    assert spec.kwargs["database_url"] is None  # found in the environment when the job runs
    plain = "postgresql+psycopg://rw@127.0.0.1/test"
    assert job_specs(config, tmp_path / "watch.toml", plain)[0].kwargs["database_url"] == plain
