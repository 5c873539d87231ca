"""Safetensors headers read over HTTP Range, validated before use (platforms.md §3.1-3.2).

Layout: bytes 0-7 are ``N`` (unsigned 64-bit little-endian), then ``N`` bytes of UTF-8 JSON:
``{"tensor": {"dtype", "shape", "data_offsets"}, ..., "__metadata__": {str: str}}``.
The spider asks for the 8 length bytes, checks ``N`` against :data:`MAX_HEADER_BYTES` (the
reference implementation's 100 MB DoS limit), then asks for exactly bytes ``8..8+N-1``. The
weights themselves are never downloaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from crawler.exceptions import SafetensorsHeaderError
from crawler.items import SafetensorsHeader

MAX_HEADER_BYTES = 100 * 1024 * 1024
MIN_HEADER_BYTES = 2  # "{}"
PREFIX_BYTES = 8


def header_length(url: str, prefix: bytes) -> int:
    """``N`` from the first 8 bytes; an absurd length is refused with the reason."""
    if len(prefix) < PREFIX_BYTES:
        raise SafetensorsHeaderError(url, f"only {len(prefix)} of 8 length bytes received")
    length = int.from_bytes(prefix[:PREFIX_BYTES], "little")
    if length > MAX_HEADER_BYTES:
        raise SafetensorsHeaderError(
            url, f"header length {length} exceeds the {MAX_HEADER_BYTES}-byte cap"
        )
    if length < MIN_HEADER_BYTES:
        raise SafetensorsHeaderError(url, f"header length {length} is too small")
    return length


def parse_header(url: str, length: int, raw: bytes) -> SafetensorsHeader:
    """Validate and parse exactly ``length`` header bytes."""
    if len(raw) != length:
        raise SafetensorsHeaderError(url, f"expected {length} header bytes, got {len(raw)}")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsHeaderError(url, f"header is not UTF-8 JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise SafetensorsHeaderError(url, "header is not a JSON object")
    metadata = doc.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsHeaderError(url, "__metadata__ is not a string-to-string map")
    tensors = 0
    for name, spec in doc.items():
        if name == "__metadata__":
            continue
        if not _tensor_ok(spec):
            raise SafetensorsHeaderError(
                url, f"tensor {name[:80]!r} has no valid dtype/shape/data_offsets"
            )
        tensors += 1
    return SafetensorsHeader(
        file_url=url,
        header_length=length,
        header_sha256=hashlib.sha256(raw).hexdigest(),
        metadata=dict(metadata),
        tensor_count=tensors,
    )


def _tensor_ok(spec: object) -> bool:
    if not isinstance(spec, Mapping):
        return False
    shape = spec.get("shape")
    offsets = spec.get("data_offsets")
    return (
        isinstance(spec.get("dtype"), str)
        and isinstance(shape, list)
        and all(isinstance(d, int) and d >= 0 for d in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) and o >= 0 for o in offsets)
        and offsets[0] <= offsets[1]
    )
