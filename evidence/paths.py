"""Paths in the case file are stored relative to the evidence folder, so a case folder copied or
restored elsewhere still finds its captures.

    stored_path(path, root)   what goes into the database: POSIX path below ``root``, or the
                              absolute path for a file that lies elsewhere
    resolve_stored(value, root)  back to a path under the current ``root``; an absolute path
                              recorded by an earlier version that no longer exists is looked
                              for under ``root`` by its trailing components (a moved folder)
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def stored_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it lies below it, else absolute."""
    absolute = path.resolve()
    base = root.resolve()
    if absolute.is_relative_to(base):
        return absolute.relative_to(base).as_posix()
    return str(absolute)


def resolve_stored(value: str, root: Path) -> Path:
    """The file a stored path names, under the evidence folder as it is now."""
    candidate = Path(value)
    if not candidate.is_absolute():
        if ".." in PurePosixPath(value).parts:
            return root / "__refused__"  # never outside the evidence folder
        return root / candidate
    if candidate.exists():
        return candidate
    parts = candidate.parts
    for start in range(1, len(parts)):
        moved = root.joinpath(*parts[start:])
        if moved.exists():
            return moved
    return candidate
