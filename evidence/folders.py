"""Files and folders only their owner may read: the case file, keys, evidence and run folders.

Evidence, keys and the case database are read by the operator's account only; on a shared
machine another local user must not read a key, a WARC or a credential in a plan.

    private_folder(path)        create (with parents) and chmod 0700
    write_private(path, text)   a file created 0600 from the start (no window at 0644)
    make_private(path)          chmod 0600 an existing file (the SQLite case file and its WAL)
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """``path`` created (with its parents) and made owner-only (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(FOLDER_MODE)
    return path


def write_private(path: Path, text: str | bytes) -> None:
    """Write ``text`` to a file only its owner can read (0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    data = text.encode("utf-8") if isinstance(text, str) else text
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(FILE_MODE)


def make_private(path: Path) -> None:
    """chmod 0600 ``path`` when it exists."""
    if path.exists():
        path.chmod(FILE_MODE)
