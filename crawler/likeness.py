"""Building the likeness engine inside the crawl process, from the case file.

``matching`` is a pure library: the caller hands it characters and reference fingerprints.
Here that caller is the crawl child: it reads the client's characters (name, aliases) and each
reference image's stored fingerprint from the store (kept current by the reference library,
``rightswatch references`` / ``rightswatch.likeness.refresh_fingerprints``), adds what only
the configuration knows (thresholds, licensed creators: :class:`crawler.plan.MatchOptions`) and
builds one ``matching.Engine`` for the whole run. A reference whose stored fingerprint is
missing or of another format version is fingerprinted from its file for this run.

When no engine can be built (no characters, no usable reference and no alias), the reason is
returned instead: the crawl then stores candidates without verdicts and says so in its stats;
it never invents a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crawler.plan import MatchOptions
from evidence.models import Character, Client, ReferenceImage
from evidence.store import Store
from matching import (
    FINGERPRINT_VERSION,
    CharacterProfile,
    Engine,
    MatchingError,
    ReferenceFingerprint,
    Thresholds,
    fingerprint_reference,
)


@dataclass(frozen=True)
class EngineLoad:
    engine: Engine | None
    note: str  # what was loaded, or why nothing was


def _fingerprint(character: str, path: str, stored: dict[str, Any] | None) -> ReferenceFingerprint:
    if stored and stored.get("version") == FINGERPRINT_VERSION:
        return ReferenceFingerprint.from_json(stored)
    data = Path(path).read_bytes()
    return fingerprint_reference(data, name=Path(path).name, character=character)


def load_engine(store: Store, options: MatchOptions) -> EngineLoad:
    """One engine over the client's characters, or the reason there is none."""
    query = select(Character)
    if options.client:
        query = query.join(Client, Character.client_id == Client.id).where(
            Client.name == options.client
        )
    with store.session() as session:
        characters = list(session.scalars(query))
        ids = {c.id: c.name for c in characters}
        refs = [
            (ids[r.character_id], r.path, r.fingerprint)
            for r in session.scalars(
                select(ReferenceImage).where(ReferenceImage.character_id.in_(ids))
            )
        ]
    if not characters:
        return EngineLoad(None, "likeness engine not built: no characters in the case file")
    profiles = [
        CharacterProfile(
            name=c.name,
            aliases={k: tuple(v) for k, v in (c.aliases or {}).items()},
            allowlisted_creators=tuple(options.allowlists.get(c.name, ())),
        )
        for c in characters
    ]
    fingerprints: list[ReferenceFingerprint] = []
    problems: list[str] = []
    for character, path, stored in refs:
        try:
            fingerprints.append(_fingerprint(character, path, stored))
        except (OSError, MatchingError) as exc:
            problems.append(f"{path}: {exc}")
    engine = Engine(profiles, fingerprints, Thresholds(flag=options.flag, review=options.review))
    note = f"likeness engine: {len(profiles)} characters, {len(fingerprints)} references"
    if problems:
        note += f"; {len(problems)} references unusable (first: {problems[0]})"
    return EngineLoad(engine, note)
