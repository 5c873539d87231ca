"""LoRA forensics from the safetensors header: the one parser, with one policy.

A ``.safetensors`` file starts with an 8-byte little-endian header length N, then N bytes of
JSON: tensor descriptions (``dtype``, ``shape``, ``data_offsets``) plus an optional
``__metadata__`` object of string → string (platforms.md §3.1). Trainers (kohya-ss
sd-scripts) record there what the model was trained on: ``ss_tag_frequency`` (per dataset
folder, how many captions carry each tag), ``ss_dataset_dirs`` (folder names and image
counts), ``ss_output_name``, ``ss_training_comment``, and the ``modelspec.*`` keys.

The policy, for local files and remote headers alike: N at most :data:`DEFAULT_MAX_HEADER`
(8 MiB; real LoRA headers are a few hundred kB, the reference implementation allows 100 MB and
that much JSON is a memory and CPU hazard), at least 2; UTF-8 JSON; an object; nesting at
most :data:`MAX_DEPTH` levels (a tensor entry needs 3); ``__metadata__`` a string-to-string
map; every tensor entry with a string ``dtype``, a ``shape`` of non-negative integers and
ordered ``data_offsets``. Every refusal is a :class:`SafetensorsHeaderError` naming the file.

The crawler only fetches bytes (an HTTP Range read of the first bytes of a remote file): it
calls :func:`header_length` on the first 8 bytes and :func:`parse_safetensors_header` on the
header bytes. :func:`read_safetensors_header` does both on a local file.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from matching.exceptions import SafetensorsHeaderError
from matching.text import AliasMatcher, TextField, fold

DEFAULT_MAX_HEADER = 8 * 1024 * 1024
"""Largest header accepted (8 MiB); real LoRA headers are a few hundred kB."""

MIN_HEADER = 2  # "{}"
MAX_DEPTH = 8
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class SafetensorsHeader:
    """The parsed header: its length, the ``__metadata__`` strings, the tensor count and the
    SHA-256 of the raw header bytes (kept as evidence of what was read)."""

    label: str
    header_length: int
    metadata: Mapping[str, str]
    tensor_count: int
    sha256: str = ""


def header_length(prefix: bytes, *, label: str, max_header: int = DEFAULT_MAX_HEADER) -> int:
    """Length of the JSON header announced by the first 8 bytes; absurd lengths are refused."""
    if len(prefix) < PREFIX_LENGTH:
        raise SafetensorsHeaderError(
            f"file too short for a safetensors header ({len(prefix)} of 8 length bytes)",
            label=label,
        )
    (length,) = struct.unpack("<Q", prefix[:PREFIX_LENGTH])
    if length < MIN_HEADER:
        raise SafetensorsHeaderError(f"header length {length} is too small", label=label)
    if length > max_header:
        raise SafetensorsHeaderError(
            f"header length {length:,} bytes exceeds the limit of {max_header:,}", label=label
        )
    return int(length)


def _depth(document: object) -> int:
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return deepest


def _tensor_ok(spec: object) -> bool:
    if not isinstance(spec, Mapping):
        return False
    shape, offsets = spec.get("shape"), spec.get("data_offsets")
    return (
        isinstance(spec.get("dtype"), str)
        and isinstance(shape, list)
        and all(isinstance(d, int) and d >= 0 for d in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) and o >= 0 for o in offsets)
        and offsets[0] <= offsets[1]
    )


def parse_safetensors_header(
    prefix: bytes, header: bytes, *, label: str, max_header: int = DEFAULT_MAX_HEADER
) -> SafetensorsHeader:
    """Parse a header given the first 8 bytes and the header bytes that follow them."""
    length = header_length(prefix, label=label, max_header=max_header)
    if len(header) < length:
        raise SafetensorsHeaderError(
            f"header truncated: {len(header):,} of {length:,} bytes", label=label
        )
    raw = header[:length]
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsHeaderError(f"header is not valid UTF-8 JSON: {exc}", label=label) from exc
    except RecursionError as exc:
        raise SafetensorsHeaderError(
            f"header JSON is nested too deeply (limit {MAX_DEPTH} levels)", label=label
        ) from exc
    if not isinstance(document, dict):
        raise SafetensorsHeaderError("header JSON is not an object", label=label)
    if _depth(document) > MAX_DEPTH:
        raise SafetensorsHeaderError(
            f"header JSON is nested too deeply (limit {MAX_DEPTH} levels)", label=label
        )
    metadata = document.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsHeaderError("__metadata__ is not a string-to-string map", label=label)
    tensors = 0
    for name, spec in document.items():
        if name == "__metadata__":
            continue
        if not _tensor_ok(spec):
            raise SafetensorsHeaderError(
                f"tensor {name[:80]!r} has no valid dtype/shape/data_offsets", label=label
            )
        tensors += 1
    digest = hashlib.sha256(raw).hexdigest()
    return SafetensorsHeader(label, length, dict(metadata), tensors, digest)


def read_safetensors_header(
    source: bytes | BinaryIO | str | os.PathLike[str],
    *,
    label: str | None = None,
    max_header: int = DEFAULT_MAX_HEADER,
) -> SafetensorsHeader:
    """Read and parse the header from bytes, an open binary file or a path."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        with path.open("rb") as handle:
            return read_safetensors_header(handle, label=label or str(path), max_header=max_header)
    name = label or ("<bytes>" if isinstance(source, bytes) else str(getattr(source, "name", "")))
    if isinstance(source, bytes):
        length = header_length(source[:PREFIX_LENGTH], label=name, max_header=max_header)
        body = source[PREFIX_LENGTH : PREFIX_LENGTH + length]
        return parse_safetensors_header(
            source[:PREFIX_LENGTH], body, label=name, max_header=max_header
        )
    prefix = source.read(PREFIX_LENGTH)
    length = header_length(prefix, label=name, max_header=max_header)
    return parse_safetensors_header(prefix, source.read(length), label=name, max_header=max_header)


@dataclass(frozen=True)
class CaptionEvidence:
    """How many training captions carry a tag naming a character."""

    character: str
    tag: str
    captions: int
    total: int | None

    @property
    def ratio(self) -> float | None:
        return self.captions / self.total if self.total else None

    @property
    def sentence(self) -> str:
        of = f"{self.captions} of {self.total}" if self.total else f"{self.captions}"
        return f"'{self.tag}' in {of} training captions (ss_tag_frequency) names {self.character}"


def _json_object(metadata: Mapping[str, str], key: str) -> dict[str, object]:
    try:
        value = json.loads(metadata.get(key, "") or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _folder_name(folder: str) -> str:
    """kohya folder names start with the repeat count: ``10_aoteman`` → ``aoteman``."""
    head, sep, tail = folder.partition("_")
    return tail if sep and head.isdigit() else folder


def lora_text_fields(metadata: Mapping[str, str]) -> list[tuple[TextField, str]]:
    """The metadata values that may name a character, each with its field."""
    fields: list[tuple[TextField, str]] = []
    simple = {
        "ss_output_name": TextField.LORA_OUTPUT_NAME,
        "ss_training_comment": TextField.LORA_TRAINING_COMMENT,
        "modelspec.title": TextField.LORA_TITLE,
        "modelspec.trigger_phrase": TextField.LORA_TRIGGER_PHRASE,
    }
    for key, field in simple.items():
        value = metadata.get(key)
        if value and value != "None":
            fields.append((field, value))
    folders = set(_json_object(metadata, "ss_dataset_dirs")) | set(
        _json_object(metadata, "ss_tag_frequency")
    )
    fields.extend((TextField.LORA_DATASET_DIR, _folder_name(f)) for f in sorted(folders))
    return fields


def caption_evidence(metadata: Mapping[str, str], matcher: AliasMatcher) -> list[CaptionEvidence]:
    """Per character, the tag naming it in most training captions (summed over folders)."""
    frequency = _json_object(metadata, "ss_tag_frequency")
    per_character: dict[str, tuple[str, int]] = {}
    for tags in frequency.values():
        if not isinstance(tags, dict):
            continue
        best_in_folder: dict[str, tuple[str, int]] = {}
        for tag, count in tags.items():
            if not isinstance(count, int) or count <= 0:
                continue
            for hit in matcher.find(str(tag), TextField.TAG):
                if hit.character not in best_in_folder or count > best_in_folder[hit.character][1]:
                    best_in_folder[hit.character] = (fold(str(tag)).strip(), count)
        for character, (tag, count) in best_in_folder.items():
            previous = per_character.get(character, (tag, 0))
            per_character[character] = (previous[0], previous[1] + count)
    total = _caption_total(metadata)
    return [
        CaptionEvidence(character, tag, count, total)
        for character, (tag, count) in sorted(per_character.items())
    ]


def _caption_total(metadata: Mapping[str, str]) -> int | None:
    dirs = _json_object(metadata, "ss_dataset_dirs")
    counts = [
        d.get("img_count")
        for d in dirs.values()
        if isinstance(d, dict) and isinstance(d.get("img_count"), int)
    ]
    if counts:
        return sum(int(c) for c in counts if isinstance(c, int)) or None
    images = metadata.get("ss_num_train_images", "")
    return int(images) if images.isdigit() and int(images) > 0 else None
