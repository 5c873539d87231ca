"""Building the likeness engine inside the crawl process, from the case file.

``matching`` is a pure library: the caller hands it characters and reference fingerprints.
Here that caller is the crawl child: it reads the client's characters (name, aliases) and each
reference image's stored fingerprint from the store, adds what only the configuration knows
(thresholds, licensed creators: :class:`crawler.plan.MatchOptions`), and builds one
``matching.Engine`` for the whole run. A reference without a stored fingerprint is
fingerprinted from its file (not written back: the reference library owns those rows).

When no engine can be built (the ``matching`` package is not installed, no references), the
reason is returned instead and the crawl stores candidates without verdicts, saying so in its
stats; it never invents a verdict.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crawler.plan import MatchOptions
from evidence.models import Character, ReferenceImage
from evidence.store import Store


@dataclass(frozen=True)
class EngineLoad:
    engine: Any | None  # matching.Engine
    note: str  # what was loaded, or why nothing was
    module: Any | None = None  # the matching module, for CandidateEvidence


def load_engine(store: Store, options: MatchOptions) -> EngineLoad:
    try:
        matching = importlib.import_module("matching")
    except ImportError as exc:
        return EngineLoad(None, f"likeness engine unavailable: {exc}")
    with store.session() as session:
        characters = list(session.scalars(select(Character)))
        refs = list(session.scalars(select(ReferenceImage)))
        names = {c.id: c.name for c in characters}
        profiles = [
            matching.CharacterProfile(
                name=c.name,
                aliases={k: tuple(v) for k, v in (c.aliases or {}).items()},
                allowlisted_creators=tuple(options.allowlists.get(c.name, ())),
            )
            for c in characters
        ]
        rows = [(names[r.character_id], r.path, r.sha256, r.fingerprint) for r in refs]
    if not profiles:
        return EngineLoad(None, "likeness engine not built: no characters in the case file")
    fingerprints: list[Any] = []
    problems: list[str] = []
    for character, path, _sha, stored in rows:
        try:
            if stored:
                fingerprints.append(matching.ReferenceFingerprint.from_json(stored))
            else:
                data = Path(path).read_bytes()
                fingerprints.append(
                    matching.fingerprint_reference(data, name=Path(path).name, character=character)
                )
        except (OSError, matching.MatchingError) as exc:
            problems.append(f"{path}: {exc}")
    thresholds = matching.Thresholds(flag=options.flag, review=options.review)
    engine = matching.Engine(profiles, fingerprints, thresholds)
    note = f"likeness engine: {len(profiles)} characters, {len(fingerprints)} references"
    if problems:
        note += f"; {len(problems)} references unusable ({problems[0]})"
    return EngineLoad(engine, note, matching)
