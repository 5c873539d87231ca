"""Safetensors headers fetched over HTTP Range, parsed by the one parser in :mod:`matching.lora`.

The crawler only fetches bytes (platforms.md §3.2): the first read asks for
:data:`FIRST_READ` bytes, which holds the 8 length bytes and, for a LoRA, the whole header; a
second read is made only when the header is longer. Parsing and its policy (8 MiB cap, nesting
limit, string-to-string ``__metadata__``, valid tensor entries) live in :mod:`matching.lora`;
this module turns its result and errors into the crawler's item and exception, naming the URL.
"""

from __future__ import annotations

from crawler.exceptions import SafetensorsHeaderError
from crawler.items import SafetensorsHeader
from matching import lora
from matching.exceptions import SafetensorsHeaderError as HeaderRefused

MAX_HEADER_BYTES = lora.DEFAULT_MAX_HEADER
PREFIX_BYTES = lora.PREFIX_LENGTH
FIRST_READ = 64 * 1024  # one Range read usually holds a LoRA's whole header


def header_length(url: str, prefix: bytes) -> int:
    """``N`` from the first 8 bytes; an absurd length is refused with the reason."""
    try:
        return lora.header_length(prefix, label=url)
    except HeaderRefused as exc:
        raise SafetensorsHeaderError(url, exc.message) from exc


def parse_header(url: str, length: int, raw: bytes) -> SafetensorsHeader:
    """Validate and parse exactly ``length`` header bytes."""
    if len(raw) != length:
        raise SafetensorsHeaderError(url, f"expected {length} header bytes, got {len(raw)}")
    try:
        parsed = lora.parse_safetensors_header(length.to_bytes(8, "little"), raw, label=url)
    except HeaderRefused as exc:
        raise SafetensorsHeaderError(url, exc.message) from exc
    return SafetensorsHeader(
        file_url=url,
        header_length=parsed.header_length,
        header_sha256=parsed.sha256,
        metadata=parsed.metadata,
        tensor_count=parsed.tensor_count,
    )
