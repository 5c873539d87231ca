"""PNG text chunks (``tEXt``, ``zTXt``, ``iTXt``) read without decoding any pixel.

Generators keep their recipe in text chunks (A1111 ``parameters``, ComfyUI ``prompt`` and
``workflow``). This walk is bounded: each chunk inflates to at most :data:`MAX_CHUNK` bytes (a
zTXt bomb is skipped), and chunks larger than :data:`HIDE_FROM_DECODER` are removed from the
bytes handed to Pillow, whose own text limit (1 MiB) would otherwise fail the whole image.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_CHUNK = 4 * 1024 * 1024
"""Bytes one PNG text chunk may inflate to; larger chunks are skipped (and hidden from Pillow)."""
HIDE_FROM_DECODER = 512 * 1024
"""Text chunks larger than this are removed from the bytes Pillow sees (it refuses >1 MiB)."""
MAX_TEXT_CHUNKS = 32

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


@dataclass(frozen=True)
class PngText:
    """The text chunks of a PNG, and the bytes with oversized text chunks removed."""

    texts: Mapping[str, bytes] = field(default_factory=dict)
    cleaned: bytes | None = None
    """The PNG without its oversized text chunks (None when nothing was removed)."""
    problems: tuple[str, ...] = ()


def png_text(data: bytes) -> PngText:
    """Walk a PNG's chunks (never its pixels): text chunks inflated up to :data:`MAX_CHUNK`.

    Oversized or broken text chunks are left out of ``cleaned`` so that the image decoder never
    inflates them either; the pixels are unaffected (text chunks are ancillary).
    """
    if not data.startswith(_PNG_SIGNATURE):
        return PngText()
    texts: dict[str, bytes] = {}
    problems: list[str] = []
    dropped: list[tuple[int, int]] = []
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if kind in _TEXT_CHUNKS:
            body = data[pos + 8 : min(end - 4, len(data))]
            key, text, problem = _text_chunk(kind, body)
            if problem:
                problems.append(problem)
            elif key and len(texts) < MAX_TEXT_CHUNKS:
                texts.setdefault(key, text)
            if problem or length > HIDE_FROM_DECODER or len(text) > HIDE_FROM_DECODER:
                dropped.append((pos, min(end, len(data))))
        if kind == b"IEND" or end > len(data):
            break
        pos = end
    cleaned = None
    if dropped:
        parts, last = [], 0
        for start, stop in dropped:
            parts.append(data[last:start])
            last = stop
        parts.append(data[last:])
        cleaned = b"".join(parts)
    return PngText(texts, cleaned, tuple(problems))


def _text_chunk(kind: bytes, body: bytes) -> tuple[str, bytes, str | None]:
    key, sep, rest = body.partition(b"\x00")
    name = key[:79].decode("latin-1")
    if not sep:
        return name, b"", f"PNG {kind.decode()} chunk '{name}' is malformed"
    if kind == b"tEXt":
        if len(rest) > MAX_CHUNK:
            return name, b"", f"PNG tEXt chunk '{name}': {len(rest):,} bytes, above the limit"
        return name, rest, None
    if kind == b"zTXt":
        return (name, *_inflate(name, rest[1:]))
    # iTXt: compression flag, method, language\0, translated keyword\0, text
    if len(rest) < 2:
        return name, b"", f"PNG iTXt chunk '{name}' is malformed"
    compressed = rest[0] == 1
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) < 3:
        return name, b"", f"PNG iTXt chunk '{name}' is malformed"
    text = parts[2]
    if compressed:
        return (name, *_inflate(name, text))
    if len(text) > MAX_CHUNK:
        return name, b"", f"PNG iTXt chunk '{name}': {len(text):,} bytes, above the limit"
    return name, text, None


def _inflate(name: str, raw: bytes) -> tuple[bytes, str | None]:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_CHUNK + 1)
    except zlib.error:
        return b"", f"PNG text chunk '{name}' does not inflate"
    if len(out) > MAX_CHUNK or inflater.unconsumed_tail:
        return b"", f"PNG text chunk '{name}' inflates past {MAX_CHUNK:,} bytes; skipped"
    return out, None
