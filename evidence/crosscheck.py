"""Checks across the sealed folders of a bundle: one key, anchored tokens, times, links.

Each sealed folder can be perfectly self-consistent and the bundle still be a forgery. These
checks compare the folders with each other and with what the verifier trusts:

    key       every sealed folder carries the bundle root's key; with a published
              fingerprint, that key is the published one (``anchor``)
    anchor    each token verifies against a TSA root from the verifier's own trust store
    time      a capture's recorded start and end lie within the tolerance of its TSA time
    link      a capture's manifest SHA-256 is the one finding.json and the custody ``sealed``
              entry name; reference files match finding.json; the capture's custody head is
              in the chain
    custody   every ``anchored`` entry's tokens cover its ``prev`` and were issued close to the
              entry's own time; times never go backwards; a bundle's chain ends with its
              export anchor

A check that could not be anchored (no fingerprint, no trusted CA given) passes with the words
"self-consistent only", and the report says the result is not anchored.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rfc3161_client import decode_timestamp_response

from evidence.anchors import head_data
from evidence.custody import CUSTODY_LOG, GENESIS, CustodyAction, CustodyEntry, parse_log
from evidence.exceptions import CustodyError, SigningError, TimestampError
from evidence.seal import MANIFEST, PUBLIC_KEY, TIMESTAMPS
from evidence.signing import fingerprint
from evidence.timestamp import accuracy_seconds, tsa_label, verify_anchored, verify_token
from evidence.trust import TrustAnchors, describe_gap, within

METADATA = "metadata.json"
FINDING = "finding.json"
SELF_ONLY = "self-consistent only"


@dataclass(frozen=True)
class Check:
    """One verification step and its outcome."""

    name: str
    file: str
    ok: bool
    detail: str


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def key_checks(root: Path, sealed: Sequence[Path], trust: TrustAnchors) -> list[Check]:
    """Every sealed folder carries one and the same key; with trust, the published one."""
    prints: dict[Path, str] = {}
    for directory in sealed:
        try:
            prints[directory] = fingerprint((directory / PUBLIC_KEY).read_bytes())
        except (OSError, SigningError):
            continue  # the folder's own signature check names the problem
    if not prints:
        return []
    reference = prints.get(root) or next(iter(prints.values()))
    checks = []
    for directory, actual in prints.items():
        if actual != reference:
            checks.append(Check(
                "key", _rel(root, directory / PUBLIC_KEY), False,
                f"signed by key {actual}, the bundle root by {reference}: every sealed folder "
                "of a bundle must carry the same key",
            ))  # fmt: skip
    keys = sorted(set(prints.values()))
    if trust.key_fingerprint is None:
        detail = (f"{SELF_ONLY}: no published key fingerprint given (--key-fingerprint); "
                  f"bundle key {', '.join(keys)}")  # fmt: skip
        checks.append(Check("anchor", PUBLIC_KEY, True, detail))
    else:
        wrong = [k for k in keys if k != trust.key_fingerprint]
        detail = (
            f"bundle signed by {', '.join(wrong)}, not the published key {trust.key_fingerprint}"
            if wrong
            else f"every folder signed by the published key {trust.key_fingerprint}"
        )
        checks.append(Check("anchor", PUBLIC_KEY, not wrong, detail))
    return checks


def token_anchor_checks(root: Path, sealed: Sequence[Path], trust: TrustAnchors) -> list[Check]:
    """Each sealed folder's tokens against the verifier's own TSA roots."""
    if not trust.tsa_ca_pems:
        detail = (
            f"{SELF_ONLY}: tokens were checked against the TSA CA certificates shipped in "
            "the bundle; give the TSAs' published roots (--tsa-ca) to anchor them"
        )
        return [Check("anchor", TIMESTAMPS, True, detail)]
    checks = []
    for directory in sealed:
        try:
            data = (directory / MANIFEST).read_bytes()
        except OSError:
            continue
        for token in sorted((directory / TIMESTAMPS).glob("*.tsr")):
            rel = _rel(root, token)
            try:
                decoded, index = verify_anchored(
                    token.read_bytes(), data, trust.tsa_ca_pems, source=rel
                )
            except (OSError, TimestampError) as exc:
                checks.append(Check("anchor", rel, False, str(exc).removeprefix(f"{rel}: ")))
                continue
            when = decoded.tst_info.gen_time.isoformat()
            checks.append(Check("anchor", rel, True, f"anchored to trusted TSA root #{index + 1}"
                                                     f" ({when})"))  # fmt: skip
    return checks


def _times(directory: Path) -> list[tuple[str, datetime, float]]:
    """(token file, genTime, accuracy) of each decodable token in a sealed folder."""
    found = []
    for token in sorted((directory / TIMESTAMPS).glob("*.tsr")):
        try:
            decoded = decode_timestamp_response(token.read_bytes())
        except (OSError, ValueError):
            continue  # the timestamp check names it
        found.append((token.name, decoded.tst_info.gen_time, accuracy_seconds(decoded) or 0.0))
    return found


def time_checks(
    root: Path, sealed: Sequence[Path], trust: TrustAnchors, *, legacy: bool = False
) -> list[Check]:
    """A capture's recorded start and end against the TSA time of its seal."""
    checks = []
    for directory in sealed:
        meta_path = directory / METADATA
        if not meta_path.is_file():
            continue
        rel = _rel(root, meta_path)
        try:
            meta = json.loads(meta_path.read_bytes())
            started = datetime.fromisoformat(meta["started_utc"])
            ended = datetime.fromisoformat(meta["ended_utc"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if legacy:
                checks.append(Check("time", rel, True, f"format 1: no start/end recorded ({exc})"))
            else:
                checks.append(Check("time", rel, False, f"no readable start/end time ({exc})"))
            continue
        problems = [] if started <= ended else ["recorded end precedes the start"]
        for name, tsa_time, accuracy in _times(directory):
            for label, moment in (("start", started), ("end", ended)):
                if not within(moment, tsa_time, accuracy, trust.tolerance_s):
                    problems.append(
                        f"recorded {label} {moment.isoformat()} is "
                        f"{describe_gap(moment, tsa_time)} TSA time {tsa_time.isoformat()} "
                        f"({name}; tolerance {trust.tolerance_s:g} s ± accuracy {accuracy:g} s)"
                    )
        detail = "; ".join(problems) or (
            f"start and end within {trust.tolerance_s:g} s of every TSA time"
        )
        checks.append(Check("time", rel, not problems, detail))
    return checks


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _entries(path: Path) -> list[CustodyEntry]:
    try:
        return parse_log(path.read_bytes(), source=path.name)
    except (OSError, CustodyError):  # the custody check reports an unreadable log
        return []


def link_checks(root: Path) -> list[Check]:
    """Within each ``findings/<id>/``: manifests, finding.json, custody and references agree."""
    checks = []
    for facts_path in sorted(root.glob("findings/*/" + FINDING)):
        base = facts_path.parent
        facts = _read_json(facts_path)
        if not isinstance(facts, dict):
            continue  # the sha256 check names a damaged finding.json
        entries = _entries(base / CUSTODY_LOG)
        hashes = {e.hash for e in entries} | {GENESIS}
        sealed_by_capture = {
            str(e.details.get("capture_id")): e.details.get("manifest_sha256")
            for e in entries
            if e.action is CustodyAction.SEALED
        }
        named = {str(c.get("capture_id")): c.get("manifest_sha256") for c in facts["captures"]}
        for directory in sorted(p for p in (base / "captures").glob("*") if p.is_dir()):
            checks.append(_capture_link(root, directory, named, sealed_by_capture, hashes))
        checks.extend(_reference_links(root, base, facts))
    return checks


def _capture_link(
    root: Path,
    directory: Path,
    named: dict[str, Any],
    sealed: dict[str, Any],
    chain_hashes: set[str],
) -> Check:
    rel = _rel(root, directory / MANIFEST)
    actual = _sha256(directory / MANIFEST)
    problems = []
    if named.get(directory.name) != actual:
        problems.append(f"finding.json names manifest {named.get(directory.name)}")
    if sealed.get(directory.name) != actual:
        problems.append(f"the custody 'sealed' entry names {sealed.get(directory.name)}")
    manifest = _read_json(directory / MANIFEST)
    head = manifest.get("subject", {}).get("custody_head") if isinstance(manifest, dict) else None
    if head is not None and head not in chain_hashes:
        problems.append(f"its custody head {head} is not in custody.jsonl (entries removed)")
    detail = (
        (f"manifest sha256 {actual}, but " + "; ".join(problems))
        if problems
        else (f"manifest sha256 {actual} is the one finding.json and custody name")
    )
    return Check("link", rel, not problems, detail)


def _reference_links(root: Path, base: Path, facts: dict[str, Any]) -> list[Check]:
    expected = {r.get("id"): r.get("sha256") for r in facts.get("references", [])}
    checks = []
    for ref in facts.get("references_in_bundle", []):
        if "file" not in ref:
            continue
        path = base / str(ref["file"])
        actual = _sha256(path)
        want = expected.get(ref.get("id"))
        ok = actual is not None and actual == want == ref.get("sha256")
        detail = f"sha256 {actual}" + ("" if ok else f", finding.json names {want}")
        checks.append(Check("link", _rel(root, path), ok, detail))
    return checks


def _ca_for(root: Path, tsa_url: str) -> bytes | None:
    path = root / TIMESTAMPS / f"{tsa_label(tsa_url)}.ca.pem"
    return path.read_bytes() if path.is_file() else None


def anchor_problems(
    root: Path, entries: Sequence[CustodyEntry], trust: TrustAnchors, *, bundle: bool
) -> list[str]:
    """Problems with a chain's anchors and times (see the module docstring)."""
    problems = []
    slack = timedelta(seconds=trust.tolerance_s)  # several machines' clocks may differ a little
    for line, (before, entry) in enumerate(itertools.pairwise(entries), start=2):
        if _when(entry.at) < _when(before.at) - slack:
            problems.append(f"line {line}: time {entry.at} goes back before {before.at}")
    for line, entry in enumerate(entries, start=1):
        if entry.action is CustodyAction.ANCHORED:
            problems.extend(f"line {line}: {p}" for p in _anchor(root, entry, trust))
    if bundle:
        last = entries[-1] if entries else None
        if (
            last is None
            or last.action is not CustodyAction.ANCHORED
            or (last.details.get("purpose") != "export")
        ):
            problems.append("the chain does not end with the export anchor (entries added or "
                            "removed after export)")  # fmt: skip
    return problems


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _anchor(root: Path, entry: CustodyEntry, trust: TrustAnchors) -> list[str]:
    head = str(entry.details.get("head"))
    problems = []
    if head != entry.prev:
        problems.append(f"anchor names head {head} but follows {entry.prev}")
    tokens = entry.details.get("tokens") or []
    if not tokens:
        problems.append("anchor without a token")
    for token in tokens:
        tsa = str(token.get("tsa"))
        try:
            der = base64.b64decode(str(token.get("tsr")), validate=True)
            if trust.tsa_ca_pems:
                decoded, _ = verify_anchored(der, head_data(head), trust.tsa_ca_pems, source=tsa)
            else:
                ca = _ca_for(root, tsa)
                if ca is None:
                    problems.append(f"{tsa}: no CA for this TSA in the bundle")
                    continue
                decoded = verify_token(der, head_data(head), ca, source=tsa)
        except (ValueError, TimestampError) as exc:
            problems.append(f"anchor token does not cover the head ({exc})")
            continue
        tsa_time = decoded.tst_info.gen_time
        accuracy = accuracy_seconds(decoded) or 0.0
        moment = _when(entry.at)
        if not within(moment, tsa_time, accuracy, trust.tolerance_s):
            problems.append(
                f"anchor recorded at {entry.at} but its token from {tsa} is dated "
                f"{tsa_time.isoformat()} ({describe_gap(moment, tsa_time)}; tolerance "
                f"{trust.tolerance_s:g} s): the chain was re-anchored later"
            )
    return problems
