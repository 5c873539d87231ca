"""VERIFY.md and verify-all.sh: how an opposing expert checks a bundle with standard tools only.

The text lives in ``report/templates/VERIFY.md`` (Jinja2) and the script in
``report/templates/verify-all.sh``; :func:`write_verify_files` fills in the bundle's real file
names, every sealed folder's key fingerprint and tokens (serials in hex and decimal), the
number of tokens the root will carry and the time tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined
from rfc3161_client import decode_timestamp_response

from evidence.seal import MANIFEST, PUBLIC_KEY, TIMESTAMPS
from evidence.signing import fingerprint

VERIFY_FILE = "VERIFY.md"
SCRIPT_FILE = "verify-all.sh"


@dataclass(frozen=True)
class VerifyFacts:
    """What the text names: bundle file, findings, key, TSAs, tolerance."""

    bundle: str
    finding_ids: Sequence[int]
    key_fingerprint: str
    tsa_urls: Sequence[str]
    tolerance_s: float


def _template(name: str) -> str:
    return resources.files("evidence.report").joinpath(f"templates/{name}").read_text("utf-8")


def verify_script() -> str:
    """The all-in-one check script shipped as ``verify-all.sh``."""
    return _template(SCRIPT_FILE)


def _token(path: Path) -> dict[str, Any]:
    info = decode_timestamp_response(path.read_bytes()).tst_info
    return {
        "file": path.name,
        "serial": str(info.serial_number),
        "serial_hex": f"{info.serial_number:X}",
        "time": info.gen_time.isoformat(),
    }


def _sealed(root: Path) -> list[dict[str, Any]]:
    folders = sorted({p.parent for p in root.rglob(MANIFEST)} - {root})
    return [
        {
            "path": d.relative_to(root).as_posix(),
            "fingerprint": fingerprint((d / PUBLIC_KEY).read_bytes()),
            "tokens": [_token(t) for t in sorted((d / TIMESTAMPS).glob("*.tsr"))],
        }
        for d in folders
    ]


def verify_markdown(root: Path, facts: VerifyFacts) -> str:
    """VERIFY.md for the staged bundle at ``root`` (before the root itself is sealed)."""
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)  # noqa: S701 - Markdown
    return env.from_string(_template(VERIFY_FILE)).render(
        bundle=facts.bundle,
        findings=[{"id": f, "wacz": f"finding-{f}.wacz"} for f in facts.finding_ids],
        key_fingerprint=facts.key_fingerprint,
        tsa_urls=list(facts.tsa_urls),
        root_tokens=len(facts.tsa_urls),
        sealed=_sealed(root),
        tolerance=f"{facts.tolerance_s:g}",
        script=verify_script().rstrip("\n"),
    )


def write_verify_files(root: Path, facts: VerifyFacts) -> None:
    """Write VERIFY.md and verify-all.sh into the staged bundle."""
    (root / VERIFY_FILE).write_text(verify_markdown(root, facts), encoding="utf-8")
    (root / SCRIPT_FILE).write_text(verify_script(), encoding="utf-8")
