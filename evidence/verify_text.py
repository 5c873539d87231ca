"""VERIFY.md: how an opposing expert checks a bundle with standard tools only.

The text lives in ``report/templates/VERIFY.md`` (``{findings}`` is filled in).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources


def verify_markdown(finding_ids: Sequence[int]) -> str:
    text = resources.files("evidence.report").joinpath("templates/VERIFY.md").read_text("utf-8")
    return text.format(findings=", ".join(str(f) for f in finding_ids))
