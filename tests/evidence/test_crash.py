"""kill -9 in the middle of sealing leaves nothing sealed, and the next attempt completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from evidence.capture import CaptureJob, CaptureOptions, CaptureOutcome
from evidence.seal import SealConfig, is_sealed
from evidence.signing import Signer
from evidence.timestamp import TsaSpec, timestamper_for
from tests.support.guard import allow
from tests.support.local_tsa import local_tsa

CHILD = """
import json, sys
from pathlib import Path
from evidence.capture import CaptureJob, CaptureOptions, capture_url
from evidence.seal import SealConfig
from evidence.signing import Signer
from evidence.timestamp import TsaSpec, timestamper_for
from tests.support.guard import allow
a = json.loads(sys.argv[1])
sealing = SealConfig(Signer.from_file(Path(a["key"])),
                     (timestamper_for(TsaSpec(a["tsa"], Path(a["ca"]).read_bytes(), 120)),))
options = allow(a["url"], CaptureOptions(settle_ms=50))
capture_url(CaptureJob(a["url"], Path(a["root"]), options, sealing))
"""


def test_kill_during_sealing_leaves_nothing_sealed(tmp_path, keypair, site, chromium, tsa):
    root = tmp_path / "captures"
    with local_tsa(tmp_path / "slow", delay_s=60) as slow:
        args = {"key": str(keypair[0]), "tsa": slow.url, "ca": str(slow.directory / "ca.crt"),
                "url": f"{site.url}/js", "root": str(root)}  # fmt: skip
        child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)],
                                 start_new_session=True, cwd=Path(__file__).parents[2])  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            # wait until the manifest and signature exist but the token has not arrived
            while time.monotonic() < deadline:
                if any(root.glob(".tmp-*/manifest.sig")):
                    break
                assert child.poll() is None, "capture process ended early"
                time.sleep(0.05)
            else:
                raise AssertionError("capture never reached sealing")
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    leftovers = list(root.iterdir())
    assert leftovers and all(p.name.startswith(".tmp-") for p in leftovers)
    assert not any(is_sealed(p) for p in leftovers if p.is_dir())
    # the next attempt (another process: the dead one's pid is gone) completes and cleans up
    sealing = SealConfig(Signer.from_file(keypair[0]),
                         (timestamper_for(TsaSpec(tsa.url, tsa.ca_pem)),))  # fmt: skip
    options = allow(site.url, CaptureOptions(settle_ms=50))
    result = chromium.capture(CaptureJob(f"{site.url}/js", root, options, sealing))
    assert result.outcome is CaptureOutcome.SEALED
    assert [p.name for p in root.iterdir()] == [result.capture_id]
    assert is_sealed(root / result.capture_id)
