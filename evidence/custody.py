"""Chain of custody: append-only, hash-chained JSON lines.

Each entry carries the hash of the entry before it (``prev``) and its own ``hash``: the
SHA-256 of its canonical JSON without the ``hash`` key. Reordering, editing or deleting a
line breaks the chain at that line; deleting the last line is caught by the bundle manifest
and signature that cover ``custody.jsonl`` (research/evidence.md §3.4 item 5). The same
entries are kept in the case-file database and copied into every exported bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from evidence.exceptions import CustodyError

CUSTODY_LOG = "custody.jsonl"
# ``prev`` of the first entry of every chain: SHA-256 of a fixed, documented string.
GENESIS = hashlib.sha256(b"rightswatch custody chain v1").hexdigest()


class CustodyAction(StrEnum):
    """What happened to the evidence."""

    CAPTURED = "captured"
    SEALED = "sealed"
    EXPORTED = "exported"
    VERIFIED = "verified"
    NOTICED = "noticed"
    RECHECKED = "rechecked"
    DECIDED = "decided"
    FAILED = "failed"
    ANCHORED = "anchored"  # the chain's head timestamped by a TSA (run end, export)


@dataclass(frozen=True)
class CustodyEntry:
    """One line of the custody log."""

    seq: int
    at: str
    action: CustodyAction
    actor: str
    subject: str
    prev: str
    details: Mapping[str, Any] = field(default_factory=dict)
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """Every field except ``hash``: what the hash covers."""
        return {
            "seq": self.seq,
            "at": self.at,
            "action": self.action.value,
            "actor": self.actor,
            "subject": self.subject,
            "prev": self.prev,
            "details": dict(self.details),
        }

    def computed_hash(self) -> str:
        return entry_hash(self.body())

    def to_line(self) -> str:
        return json.dumps({**self.body(), "hash": self.hash}, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any], *, source: str) -> CustodyEntry:
        try:
            return cls(
                seq=int(value["seq"]),
                at=str(value["at"]),
                action=CustodyAction(value["action"]),
                actor=str(value["actor"]),
                subject=str(value["subject"]),
                prev=str(value["prev"]),
                details=dict(value.get("details") or {}),
                hash=str(value["hash"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CustodyError(f"{source}: malformed custody entry ({exc!r})") from exc


def entry_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 hex of the compact canonical JSON of ``body``."""
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def next_entry(
    previous: CustodyEntry | None,
    action: CustodyAction,
    *,
    actor: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    seq: int | None = None,
) -> CustodyEntry:
    """The entry that follows ``previous`` (or starts a chain), with its hash filled in.

    ``seq`` defaults to the previous entry's plus one; the case file passes its global
    sequence number instead (chains are per finding, sequence numbers are global).
    """
    draft = CustodyEntry(
        seq=seq if seq is not None else (0 if previous is None else previous.seq + 1),
        at=format_time(at or datetime.now(UTC)),
        action=action,
        actor=actor,
        subject=subject,
        prev=GENESIS if previous is None else previous.hash,
        details=dict(details or {}),
    )
    return CustodyEntry(**{**draft.__dict__, "hash": draft.computed_hash()})


def format_time(moment: datetime) -> str:
    """The one text form of custody times: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_problems(entries: Sequence[CustodyEntry], *, source: str) -> list[str]:
    """Every break in the chain, each naming ``source`` and the line."""
    problems = []
    previous: CustodyEntry | None = None
    for line, entry in enumerate(entries, start=1):
        where = f"{source} line {line}"
        if entry.computed_hash() != entry.hash:
            problems.append(f"{where}: entry hash does not match its content")
        expected_prev = GENESIS if previous is None else previous.hash
        if entry.prev != expected_prev:
            problems.append(f"{where}: prev hash breaks the chain (reordered/removed)")
        if previous is not None and entry.seq <= previous.seq:
            problems.append(f"{where}: sequence {entry.seq} not after {previous.seq}")
        previous = entry
    return problems


def parse_log(data: bytes, *, source: str) -> list[CustodyEntry]:
    """Parse JSON lines; raise :class:`CustodyError` naming the line on bad JSON."""
    entries = []
    for number, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise CustodyError(f"{source} line {number}: not JSON ({exc})") from exc
        if not isinstance(value, dict):
            raise CustodyError(f"{source} line {number}: not a JSON object")
        entries.append(CustodyEntry.from_dict(value, source=f"{source} line {number}"))
    return entries


def read_log(path: Path) -> list[CustodyEntry]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CustodyError(f"{path}: cannot read custody log ({exc.strerror})") from exc
    return parse_log(data, source=str(path))


def write_log(path: Path, entries: Iterable[CustodyEntry]) -> None:
    """Write a whole log (for export) atomically."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text("".join(e.to_line() + "\n" for e in entries), encoding="utf-8")
    tmp.replace(path)


def append(path: Path, entry: CustodyEntry) -> None:
    """Append one entry, refusing one that does not chain onto the current last line."""
    existing = read_log(path) if path.exists() else []
    last = existing[-1] if existing else None
    if entry.prev != (GENESIS if last is None else last.hash):
        raise CustodyError(f"{path}: entry {entry.seq} does not chain onto the last line")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(entry.to_line() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
