"""Reading a secret (a worker secret, a review token) from a file only its owner may read.

One rule for every secret kept in a file: the file is readable by its owner only (mode 600 or
stricter), its text is stripped, and any problem is one sentence naming the file.
"""

from __future__ import annotations

import stat
from pathlib import Path


class SecretFileError(ValueError):
    """The secret file cannot be read, or others may read it; the message names the file."""


def read_secret_file(path: Path, what: str) -> str:
    """The stripped text of ``path``; ``what`` names the secret in messages ("the review
    token")."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretFileError(f"{path}: cannot read {what}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretFileError(
            f"{path}: the file holding {what} must be readable by its owner only "
            f"(chmod 600), not {stat.filemode(mode)}"
        )
    return text
