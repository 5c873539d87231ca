"""The demo flow (`make demo`), end to end on a small sandbox world."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_flow_runs_and_verifies_its_bundle(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox.demo",
            "--dir",
            str(tmp_path / "demo"),
            "--items",
            "60",
            "--max-captures",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "ground truth:" in out
    assert "0 attributed to the wrong character" in out
    assert "its evidence bundle: /" in out
    assert "VERIFIED" in out
    bundle = next(ln for ln in out.splitlines() if ln.startswith("its evidence bundle:"))
    assert Path(bundle.split(":", 1)[1].strip()).is_file()
    # a reviewer confirms from the command line; the notice reads as sentences in both languages
    assert "new -> confirmed by Demo Reviewer" in out
    notice = Path(next(ln for ln in out.splitlines() if ln.startswith("notice:")).split(":", 1)[1]
                  .strip())  # fmt: skip
    text = notice.read_text(encoding="utf-8")
    assert "相似理由 Observed resemblance" in text and "{'" not in text and "value 0.0" not in text
    # the copied case folder exports and verifies, anchored
    tail = out.split("the case folder copied elsewhere", 1)[1]
    assert "VERIFIED (anchored" in " ".join(tail.split())
