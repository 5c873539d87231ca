"""The evidence commands end to end, as a user runs them (child processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evidence.models import Finding, FindingStatus
from evidence.store import Store
from tests.support.casefile import seed_finding
from tests.support.pages import serve_pages

ROOT = Path(__file__).resolve().parents[2]


def rw(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rightswatch", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180)  # fmt: skip


def test_keys_capture_export_notice_verify(tmp_path, sandbox):
    (tmp_path / "tsa-ca.pem").write_bytes(sandbox.ca_pem())
    (tmp_path / "watch.toml").write_text(f"""
[client]
name = "Example Studio"
[[characters]]
name = "Moonfox"
[evidence]
folder = "evidence"
tsa_urls = ["{sandbox.tsa_url}"]
tsa_ca_files = ["tsa-ca.pem"]
signing_key = "keys/operator.key"
operator = "Jane Doe, Example Law Firm"
timezone = "Asia/Shanghai"
[database]
url = "sqlite:///{tmp_path / "case.db"}"
""")
    keys = rw(tmp_path, "keys", "init")
    assert keys.returncode == 0, keys.stderr
    assert (tmp_path / "keys/operator.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys/operator.pub.pem").is_file()
    with serve_pages() as site:
        with (tmp_path / "watch.toml").open("a", encoding="utf-8") as config:
            # the page site is a configured platform: captures may reach its local address
            config.write(f'[[platforms]]\nname = "localgallery"\nkind = "gallery"\n'
                         f'profile = "liblib"\nbase_url = "{site.url}"\n')  # fmt: skip
        store = Store.open(f"sqlite:///{tmp_path / 'case.db'}")
        fid = seed_finding(store, site.url, "cli1", tmp_path / "refs")
        store.dispose()
        cap = rw(tmp_path, "capture", str(fid))
        assert cap.returncode == 0, cap.stdout + cap.stderr
        assert "sealed" in cap.stdout
        store = Store.open(f"sqlite:///{tmp_path / 'case.db'}")
        with store.session() as s:
            s.get(Finding, fid).status = FindingStatus.CONFIRMED
        store.dispose()
        noticed = rw(tmp_path, "notice", str(fid), "--template", "dmca", "--json")
        assert noticed.returncode == 0, noticed.stderr
        assert json.loads(noticed.stdout)["path"].endswith(".txt")
    exported = rw(tmp_path, "export", str(fid), "--out", "case.zip", "--no-report")
    assert exported.returncode == 0, exported.stderr
    verified = rw(tmp_path, "verify", "case.zip")
    assert verified.returncode == 0 and "VERIFIED" in verified.stdout, verified.stdout
    # the config's recorded key and tsa_ca_files are the operator's own trust anchors
    assert "anchored to the published key" in " ".join(verified.stdout.split())
    assert "timestamped" in keys.stdout and len(list((tmp_path / "evidence/keys").iterdir())) == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "case.zip").write_bytes((tmp_path / "case.zip").read_bytes())
    plain = rw(elsewhere, "verify", "case.zip")  # no config here: nothing to anchor against
    assert plain.returncode == 0 and "self-consistent only" in " ".join(plain.stdout.split())
