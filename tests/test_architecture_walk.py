"""docs/architecture.md walks one candidate through the code: every step it names exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## One candidate, spider to sealed bundle"
REFERENCE = re.compile(r"`([\w/]+)\.py:([\w.]+)`")


def _walk() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def _resolves(path: str, dotted: str) -> bool:
    module_name = path.replace("/", ".").removesuffix(".__init__")
    obj: object = importlib.import_module(module_name)
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def test_every_step_of_the_walk_exists() -> None:
    references = REFERENCE.findall(_walk())
    assert len(references) >= 30, "the walk names the files and functions a candidate passes"
    missing = [f"{p}.py:{n}" for p, n in references if not _resolves(p, n)]
    assert not missing, f"docs/architecture.md names code that does not exist: {missing}"


def test_the_checker_notices_a_missing_name() -> None:
    assert _resolves("crawler/items", "content_fingerprint")
    assert not _resolves("crawler/items", "no_such_function")
