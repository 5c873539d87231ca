"""Allowlisting a creator: written to watch.toml, where the likeness engine reads it.

``characters[].allowlist`` in watch.toml is the one place the engine learns which creators the
client has licensed, so the dashboard writes there rather than keeping a second list. The edit
keeps the file's comments and layout (tomlkit), is checked by loading the result with the
config model before it replaces the file, and replaces it atomically (write beside, then
rename) under a process-wide lock. The previous file is kept as ``watch.toml.bak``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from rightswatch.config import load_config
from rightswatch.errors import ConfigError
from rightswatch.review.errors import AllowlistError

_LOCK = threading.Lock()
MAX_CREATOR_LENGTH = 255


def add_creator(config_path: Path, character: str, creator: str) -> bool:
    """Add ``creator`` to ``character``'s allowlist; False when it was already there."""
    creator = creator.strip()
    if not creator or len(creator) > MAX_CREATOR_LENGTH or any(ord(ch) < 32 for ch in creator):
        raise AllowlistError(str(config_path), f"not a creator name: {creator!r}")
    with _LOCK:
        try:
            text = config_path.read_text(encoding="utf-8")
            document = tomlkit.parse(text)
        except OSError as exc:
            raise AllowlistError(str(config_path), f"cannot read: {exc.strerror or exc}") from exc
        except TOMLKitError as exc:
            raise AllowlistError(str(config_path), f"not valid TOML: {exc}") from exc
        entry = _character_table(document, character, config_path)
        current = entry.get("allowlist")
        if current is None:
            entry["allowlist"] = [creator]
        elif creator in [str(c) for c in current]:
            return False
        else:
            current.append(creator)
        _replace_checked(config_path, text, tomlkit.dumps(document), character, creator)
        return True


def _character_table(document: tomlkit.TOMLDocument, character: str, path: Path) -> Any:
    characters = document.get("characters")
    if characters is not None:
        for entry in characters:
            if entry.get("name") == character:
                return entry
    raise AllowlistError(str(path), f"no character named {character!r} in the config")


def _replace_checked(path: Path, before: str, after: str, character: str, creator: str) -> None:
    tmp = path.with_name(f".{path.name}.review-tmp")
    try:
        tmp.write_text(after, encoding="utf-8")
        try:
            config = load_config(tmp)
        except ConfigError as exc:
            raise AllowlistError(str(path), f"the edited config would be invalid: {exc}") from exc
        written = next((c for c in config.characters if c.name == character), None)
        if written is None or creator not in written.allowlist:
            raise AllowlistError(str(path), "the edited config does not hold the creator")
        path.with_name(path.name + ".bak").write_text(before, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise AllowlistError(str(path), f"cannot write: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
