"""WACZ packaging of capture WARCs, so ReplayWeb.page can replay a capture.

Layout per the WACZ spec (research/evidence.md §2.1), version 1.1.1 as written and checked
by py-wacz (``wacz validate``) and read by ReplayWeb.page::

    archive/<capture>.warc.gz     STORED (no re-compression), so HTTP range reads work
    indexes/index.cdx             CDXJ: SURT key, 14-digit timestamp, JSON
    pages/pages.jsonl             header line + one line per captured page
    datapackage.json              every other file with "sha256:<hex>" and its size
    datapackage-digest.json       SHA-256 of datapackage.json

Signing and timestamping are done on the enclosing bundle (manifest.json), not with WACZ
``signedData``, whose schema forbids the extra fields we need (§4.6).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from warcio.archiveiterator import ArchiveIterator

from evidence.exceptions import BundleError

WACZ_VERSION = "1.1.1"
INDEXED_TYPES = frozenset({"response", "resource", "revisit"})


@dataclass(frozen=True)
class WaczPage:
    """A page to list in pages.jsonl."""

    url: str
    ts: datetime
    title: str
    id: str


def surt(url: str) -> str:
    """Sort-friendly URI Reordering Transform (host reversed, www. dropped, query sorted).

    Matches the keys of the ``surt`` package used by pywb and cdxj-indexer for the URLs we
    capture, so ReplayWeb.page finds the records.
    """
    parts = urlsplit(url)
    labels = (parts.hostname or "").lower().split(".")
    if labels and labels[0] == "www":
        labels = labels[1:]
    key_host = ",".join(reversed(labels))  # IPs are reversed too, as the surt package does
    if parts.port and parts.port not in (80, 443):
        key_host += f":{parts.port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    path = (parts.path or "/").lower()
    return f"{key_host}){path}" + (f"?{query.lower()}" if query else "")


def cdxj_lines(warc: Path, filename: str) -> list[str]:
    """CDXJ index lines for every response/resource/revisit record of ``warc``."""
    lines = []
    with warc.open("rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            if record.rec_type not in INDEXED_TYPES:
                continue
            headers = record.rec_headers
            url = headers.get_header("WARC-Target-URI") or ""
            date = headers.get_header("WARC-Date") or ""
            offset = iterator.get_record_offset()
            iterator.read_to_end(record)
            entry: dict[str, object] = {
                "url": url,
                "digest": headers.get_header("WARC-Payload-Digest")
                or headers.get_header("WARC-Block-Digest"),
                "offset": offset,
                "length": iterator.get_record_length(),
                "filename": filename,
            }
            if record.http_headers is not None and record.rec_type == "response":
                entry["status"] = int(record.http_headers.get_statuscode() or 0)
                entry["mime"] = (record.http_headers.get_header("Content-Type") or "").split(";")[0]
            else:
                entry["mime"] = headers.get_header("Content-Type") or ""
            stamp = "".join(ch for ch in date if ch.isdigit())[:14]
            lines.append(f"{surt(url)} {stamp} {json.dumps(entry, sort_keys=True)}")
    return sorted(lines)


def write_wacz(
    out: Path, warcs: Sequence[tuple[str, Path]], pages: Sequence[WaczPage], *, title: str
) -> Path:
    """Package ``(name, path)`` WARCs and the page list as a WACZ at ``out`` (atomically)."""
    if not warcs:
        raise BundleError(f"{out}: no WARC to package")
    names = [f"archive/{name}" for name, _ in warcs]
    if len(set(names)) != len(names):
        raise BundleError(f"{out}: two WARCs share a file name")
    index = "".join(line + "\n" for name, path in warcs for line in cdxj_lines(path, name))
    header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    page_lines = [json.dumps(header)] + [
        json.dumps(
            {"id": p.id, "url": p.url, "ts": p.ts.astimezone(UTC).isoformat(), "title": p.title}
        )
        for p in pages
    ]
    members: list[tuple[str, bytes | Path]] = [
        *zip(names, [path for _, path in warcs], strict=True),
        ("indexes/index.cdx", "".join(sorted(index.splitlines(keepends=True))).encode()),
        ("pages/pages.jsonl", ("\n".join(page_lines) + "\n").encode()),
    ]
    tmp = out.with_name(f".{out.name}.part")
    resources = []
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, content in members:
            compress = zipfile.ZIP_STORED if name.startswith("archive/") else zipfile.ZIP_DEFLATED
            data = content.read_bytes() if isinstance(content, Path) else content
            archive.writestr(name, data, compress_type=compress)
            resources.append(
                {
                    "name": Path(name).name.lower(),
                    "path": name,
                    "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
                    "bytes": len(data),
                }
            )
        package = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": title,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "software": "rightswatch",
            "resources": resources,
        }
        if pages:
            package["mainPageURL"] = pages[0].url
            package["mainPageDate"] = pages[0].ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        package_bytes = json.dumps(package, indent=2).encode()
        archive.writestr("datapackage.json", package_bytes)
        digest = {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
        }
        archive.writestr("datapackage-digest.json", json.dumps(digest, indent=2))
    tmp.replace(out)
    return out


def wacz_problems(path: Path) -> list[str]:
    """Every structural or integrity problem of a WACZ (empty when valid)."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"not a readable zip ({exc})"]
    problems = []
    with archive:
        names = set(archive.namelist())
        for required in ("datapackage.json", "pages/pages.jsonl"):
            if required not in names:
                problems.append(f"{required} missing")
        if not any(n.startswith("archive/") and ".warc" in n for n in names):
            problems.append("no WARC under archive/")
        if not any(n.startswith("indexes/") for n in names):
            problems.append("no index under indexes/")
        if "datapackage.json" not in names:
            return problems
        package_bytes = archive.read("datapackage.json")
        try:
            package = json.loads(package_bytes)
            resources = {r["path"]: r for r in package["resources"]}
        except (ValueError, KeyError, TypeError) as exc:
            return [*problems, f"datapackage.json unreadable ({exc})"]
        for info in archive.infolist():
            name = info.filename
            if name in ("datapackage.json", "datapackage-digest.json"):
                continue
            if name.startswith("archive/") and info.compress_type != zipfile.ZIP_STORED:
                problems.append(f"{name} is compressed in the zip (must be STORED)")
            entry = resources.get(name)
            if entry is None:
                problems.append(f"{name} not listed in datapackage.json")
                continue
            try:
                data = archive.read(name)
            except (zipfile.BadZipFile, OSError) as exc:
                problems.append(f"{name} unreadable in the zip ({exc})")
                continue
            if entry.get("hash") != "sha256:" + hashlib.sha256(data).hexdigest():
                problems.append(f"{name} hash differs from datapackage.json")
            if entry.get("bytes") != len(data):
                problems.append(f"{name} size differs from datapackage.json")
        for name in resources.keys() - names:
            problems.append(f"{name} listed in datapackage.json but missing")
        if "datapackage-digest.json" in names:
            try:
                digest = json.loads(archive.read("datapackage-digest.json"))
            except ValueError:
                digest = {}
            if digest.get("hash") != "sha256:" + hashlib.sha256(package_bytes).hexdigest():
                problems.append("datapackage-digest.json does not match datapackage.json")
    return problems
