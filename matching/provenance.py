"""Generation provenance: which LoRAs (and which prompt) an image says it was made with.

Most AI images carry their recipe:

* AUTOMATIC1111 writes a PNG text chunk ``parameters`` (in JPEG/WebP: the EXIF ``UserComment``;
  some tools use the JPEG comment segment):
  the prompt with ``<lora:name:0.8>`` (or ``<lyco:…>``) tags, ``Negative prompt: …``, then one
  settings line ``Steps: 20, …, Lora hashes: "name: 0123456789ab, …", Hashes: {…}``;
* ComfyUI writes PNG text chunks ``prompt`` (the API graph: ``{"id": {"class_type",
  "inputs"}}``) and ``workflow`` (the editor graph: ``{"nodes": [{"type",
  "widgets_values"}]}``); LoRA loader nodes name the file;
* Civitai's image API returns ``meta`` with ``prompt``, ``resources`` (name, type, weight,
  hash), ``civitaiResources`` (modelVersionId, type, weight) and ``hashes``
  (``{"lora:name": "hash"}``).

Everything here is hostile input: each text is cut at :data:`MAX_TEXT` characters, JSON at
:data:`MAX_JSON` bytes, graphs are walked for at most :data:`MAX_NODES` nodes, at most
:data:`MAX_LORAS` LoRAs are kept, and malformed pieces are skipped with a note in
``Provenance.problems``: reading provenance never raises.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 64 * 1024
"""Characters of one A1111 parameters text read (real ones are a few kB)."""
MAX_JSON = 4 * 1024 * 1024
"""Bytes of one ComfyUI JSON chunk parsed (real workflows are tens to hundreds of kB)."""
MAX_NODES = 5000
"""Graph nodes walked in one ComfyUI chunk."""
MAX_LORAS = 64
"""LoRAs kept per image."""
MAX_NAME = 200
"""Characters of one LoRA name kept."""
MIN_HASH = 8
"""Hex digits a hash needs before it links an image to a LoRA (shorter ones collide)."""

_LORA_TAG = re.compile(r"<(lora|lyco|lycoris):([^:>]{1,400})(?::([^>]{0,100}))?>", re.IGNORECASE)
# AUTOMATIC1111's own settings-line pattern (modules/infotext_utils.py ``re_param_code``)
# (keys bounded to 60 characters so that a long line without a colon stays linear)
_PARAM = re.compile(r'\s*(\w[\w \-/]{0,60}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_BARE_HASHES = re.compile(r"Hashes:\s*(\{[^{}]{0,16000}\})")
_HEX = re.compile(r"^[0-9a-f]+$")
_WEIGHTS = re.compile(r"^-?\d+(?:\.\d+)?")
_USER_COMMENT_PREFIXES = {
    b"ASCII\x00\x00\x00": "ascii",
    b"UNICODE\x00": "unicode",
    b"JIS\x00\x00\x00\x00\x00": "shift_jis",
    b"\x00\x00\x00\x00\x00\x00\x00\x00": "undefined",
}
_MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")


class ProvenanceSource(enum.Enum):
    """Where a piece of provenance was read."""

    A1111 = "A1111 parameters"
    EXIF_USER_COMMENT = "EXIF UserComment"
    JPEG_COMMENT = "JPEG comment"
    COMFYUI_PROMPT = "ComfyUI prompt graph"
    COMFYUI_WORKFLOW = "ComfyUI workflow"
    CIVITAI_META = "Civitai image metadata"


@dataclass(frozen=True)
class LoraUse:
    """One LoRA an image says it was generated with."""

    source: ProvenanceSource
    name: str | None = None
    weight: float | None = None
    hash: str | None = None
    """Lower-case hex as written (A1111: 12 digits of the AutoV3 hash; Civitai: AutoV2…)."""
    model_version_id: int | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.model_version_id is not None:
            return f"model version {self.model_version_id}"
        return f"hash {self.hash}"


@dataclass(frozen=True)
class Provenance:
    """What an image's generation metadata says; empty when it says nothing."""

    prompt: str = ""
    loras: tuple[LoraUse, ...] = ()
    sources: tuple[ProvenanceSource, ...] = ()
    problems: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.prompt or self.loras)

    def merged(self, other: Provenance) -> Provenance:
        prompt = self.prompt if self.prompt else other.prompt
        return Provenance(
            prompt=prompt,
            loras=_dedupe((*self.loras, *other.loras)),
            sources=tuple(dict.fromkeys((*self.sources, *other.sources))),
            problems=(*self.problems, *other.problems),
        )


NO_PROVENANCE = Provenance()


def lora_stem(name: str) -> str:
    """A LoRA file or tag name without folders and extension (``loras/hero.safetensors``)."""
    stem = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    lowered = stem.lower()
    for suffix in _MODEL_SUFFIXES:
        if lowered.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem.strip()[:MAX_NAME]


def _hash(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if len(text) < MIN_HASH or len(text) > 128 or not _HEX.match(text):
        return None
    return text


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _WEIGHTS.match(value.strip())
        return float(m.group()) if m else None
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()[:18])
    return None


def _dedupe(loras: Iterable[LoraUse]) -> tuple[LoraUse, ...]:
    """One entry per LoRA: name (folded), hash and version id merged, first source kept."""
    merged: dict[str, LoraUse] = {}
    order: list[str] = []
    for use in loras:
        key = (use.name or "").casefold() or use.hash or str(use.model_version_id)
        if key in merged:
            old = merged[key]
            merged[key] = LoraUse(
                old.source,
                old.name or use.name,
                old.weight if old.weight is not None else use.weight,
                old.hash or use.hash,
                old.model_version_id if old.model_version_id is not None else use.model_version_id,
            )
        else:
            merged[key] = use
            order.append(key)
        if len(order) >= MAX_LORAS:
            break
    return tuple(merged[k] for k in order)


def prompt_loras(prompt: str, source: ProvenanceSource) -> list[LoraUse]:
    """``<lora:name:weight>`` and ``<lyco:…>`` tags in a prompt."""
    out = []
    for m in _LORA_TAG.finditer(prompt[:MAX_TEXT]):
        name = lora_stem(m.group(2))
        if name:
            out.append(LoraUse(source, name, _float(m.group(3) or "")))
        if len(out) >= MAX_LORAS:
            break
    return out


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            loaded = json.loads(value)
        except ValueError:
            return value[1:-1]
        return loaded if isinstance(loaded, str) else value[1:-1]
    return value


def parse_a1111(text: str, source: ProvenanceSource = ProvenanceSource.A1111) -> Provenance:
    """An AUTOMATIC1111 ``parameters`` text (also what Forge and SD.Next write)."""
    problems: tuple[str, ...] = ()
    if len(text) > MAX_TEXT:
        problems = (f"{source.value}: {len(text):,} characters, only the first {MAX_TEXT:,} read",)
        text = text[:MAX_TEXT]
    lines = text.strip().splitlines()
    settings: dict[str, str] = {}
    if lines and len(_PARAM.findall(lines[-1])) >= 2:
        line = lines.pop()
        settings = {k.strip(): _unquote(v) for k, v in _PARAM.findall(line)}
        # extensions write the table as bare JSON (commas inside), A1111 itself quotes it
        bare = _BARE_HASHES.search(line)
        if bare:
            settings["Hashes"] = bare.group(1)
    prompt_lines: list[str] = []
    for line in lines:
        if line.startswith("Negative prompt:"):
            break
        prompt_lines.append(line)
    prompt = "\n".join(prompt_lines).strip()
    loras = prompt_loras(prompt, source)
    for part in settings.get("Lora hashes", "").split(","):
        name, _, digest = part.rpartition(":")
        if name.strip() and _hash(digest):
            loras.append(LoraUse(source, lora_stem(name), None, _hash(digest)))
    hashes_json = settings.get("Hashes", "")
    if hashes_json.startswith("{"):
        try:
            table = json.loads(hashes_json)
        except (ValueError, RecursionError):
            table = None
        if isinstance(table, Mapping):
            loras += _hash_table(table, source)
    return Provenance(prompt, _dedupe(loras), (source,), problems)


def _hash_table(table: Mapping[str, Any], source: ProvenanceSource) -> list[LoraUse]:
    """``{"lora:name": "hash", "model": "hash"}`` (A1111 ``Hashes``, Civitai ``meta.hashes``)."""
    out = []
    for key, value in list(table.items())[:MAX_LORAS]:
        kind, _, name = str(key).partition(":")
        if kind.lower() in ("lora", "lyco", "lycoris") and name and _hash(value):
            out.append(LoraUse(source, lora_stem(name), None, _hash(value)))
    return out


def _load_json(raw: str | bytes, source: ProvenanceSource) -> tuple[Any, str | None]:
    if len(raw) > MAX_JSON:
        return None, f"{source.value}: {len(raw):,} bytes, above the {MAX_JSON:,}-byte limit"
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError) as exc:
        return None, f"{source.value}: not JSON ({type(exc).__name__})"


def _model_names(value: object) -> Iterator[str]:
    """Strings that look like model file names, one level into lists and dicts."""
    items = value.values() if isinstance(value, Mapping) else value
    if isinstance(value, str):
        items = [value]
    if not isinstance(items, Iterable):
        return
    for item in list(items)[:64]:
        if isinstance(item, Mapping):
            item = item.get("lora") or item.get("lora_name") or item.get("name")
        if isinstance(item, str) and item.lower().endswith(_MODEL_SUFFIXES):
            yield item


def _comfy_node_loras(kind: str, values: object, source: ProvenanceSource) -> list[LoraUse]:
    if "lora" not in kind.lower() and "lyco" not in kind.lower():
        return []
    out = []
    weight = None
    if isinstance(values, Mapping):
        weight = _float(values.get("strength_model", values.get("strength")))
        name = values.get("lora_name")
        candidates = [name] if isinstance(name, str) else list(_model_names(values))
    else:
        candidates = list(_model_names(values))
        if isinstance(values, list):
            weight = next((_float(v) for v in values[1:3] if _float(v) is not None), None)
    for name in candidates:
        if isinstance(name, str) and lora_stem(name):
            out.append(LoraUse(source, lora_stem(name), weight))
    return out


def parse_comfyui(raw: str | bytes, source: ProvenanceSource) -> Provenance:
    """A ComfyUI ``prompt`` (API graph) or ``workflow`` (editor graph) JSON chunk."""
    doc, problem = _load_json(raw, source)
    if problem:
        return Provenance(sources=(source,), problems=(problem,))
    nodes: list[tuple[str, object]] = []
    if isinstance(doc, Mapping) and isinstance(doc.get("nodes"), list):
        for node in doc["nodes"][:MAX_NODES]:
            if isinstance(node, Mapping):
                nodes.append((str(node.get("type", "")), node.get("widgets_values")))
    elif isinstance(doc, Mapping):
        for node in list(doc.values())[:MAX_NODES]:
            if isinstance(node, Mapping):
                nodes.append((str(node.get("class_type", "")), node.get("inputs")))
    else:
        return Provenance(sources=(source,), problems=(f"{source.value}: not a graph",))
    loras: list[LoraUse] = []
    texts: list[str] = []
    for kind, values in nodes:
        loras += _comfy_node_loras(kind, values, source)
        if "textencode" in kind.lower().replace(" ", ""):
            if isinstance(values, Mapping):
                texts += [v for k, v in values.items() if isinstance(v, str) and "text" in k]
            elif isinstance(values, list):
                texts += [v for v in values[:4] if isinstance(v, str)]
    prompt = "\n".join(t.strip() for t in texts if t.strip())[:MAX_TEXT]
    loras += prompt_loras(prompt, source)
    return Provenance(prompt, _dedupe(loras), (source,))


def parse_civitai_meta(meta: object) -> Provenance:
    """Civitai's image ``meta``: prompt, ``resources``, ``civitaiResources`` and ``hashes``."""
    source = ProvenanceSource.CIVITAI_META
    if not isinstance(meta, Mapping):
        return NO_PROVENANCE
    prompt = meta.get("prompt")
    prompt = prompt[:MAX_TEXT] if isinstance(prompt, str) else ""
    loras = prompt_loras(prompt, source)
    for res in _list(meta.get("resources")):
        if isinstance(res, Mapping) and str(res.get("type", "")).lower() in ("lora", "lycoris"):
            name = res.get("name")
            loras.append(
                LoraUse(
                    source,
                    lora_stem(name) if isinstance(name, str) else None,
                    _float(res.get("weight")),
                    _hash(res.get("hash")),
                )
            )
    for res in _list(meta.get("civitaiResources")):
        if isinstance(res, Mapping) and str(res.get("type", "")).lower() in ("lora", "lycoris"):
            name = res.get("modelVersionName") or res.get("modelName")
            version = _int(res.get("modelVersionId"))
            if version is not None:
                loras.append(
                    LoraUse(
                        source,
                        lora_stem(name) if isinstance(name, str) else None,
                        _float(res.get("weight")),
                        None,
                        version,
                    )
                )
    hashes = meta.get("hashes")
    if isinstance(hashes, Mapping):
        loras += _hash_table(hashes, source)
    lora_hashes = meta.get("Lora hashes")
    if isinstance(lora_hashes, str):
        loras += parse_a1111(f'x\nSteps: 1, Seed: 1, Lora hashes: "{lora_hashes}"', source).loras
    return Provenance(prompt, _dedupe(loras), (source,))


def _list(value: object) -> list[Any]:
    return value[:MAX_LORAS] if isinstance(value, list) else []


def user_comment_text(raw: bytes | str) -> str:
    """An EXIF ``UserComment`` value as text (8-byte charset prefix, UTF-16 for UNICODE)."""
    if isinstance(raw, str):
        return raw
    prefix, body = raw[:8], raw[8 : 8 + 2 * MAX_TEXT]
    charset = _USER_COMMENT_PREFIXES.get(prefix)
    if charset is None:
        body = raw[: 2 * MAX_TEXT]
        charset = "undefined"
    if charset == "unicode":
        # piexif (which A1111 uses) writes UTF-16BE; a few writers use little-endian
        big = body[0::2].count(0) >= body[1::2].count(0)
        return body.decode("utf-16-be" if big else "utf-16-le", errors="replace").strip("\x00")
    if charset == "shift_jis":
        return body.decode("shift_jis", errors="replace").strip("\x00")
    return body.decode("utf-8", errors="replace").strip("\x00")


def from_texts(
    texts: Mapping[str, str | bytes],
    user_comment: bytes | str | None,
    jpeg_comment: bytes | str | None = None,
) -> Provenance:
    """Provenance from an image's text chunks (key → text), EXIF UserComment and JPEG comment."""
    found = NO_PROVENANCE
    for key, value in texts.items():
        lowered = key.lower()
        if lowered == "parameters":
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            found = found.merged(parse_a1111(text))
        elif lowered == "prompt":
            found = found.merged(parse_comfyui(value, ProvenanceSource.COMFYUI_PROMPT))
        elif lowered == "workflow":
            found = found.merged(parse_comfyui(value, ProvenanceSource.COMFYUI_WORKFLOW))
    if user_comment:
        text = user_comment_text(user_comment)
        if text.lstrip().startswith("{"):
            found = found.merged(parse_comfyui(text, ProvenanceSource.EXIF_USER_COMMENT))
        elif text.strip():
            found = found.merged(parse_a1111(text, ProvenanceSource.EXIF_USER_COMMENT))
    if jpeg_comment:
        raw = jpeg_comment[: 4 * MAX_TEXT]
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if text.lstrip().startswith("{"):
            found = found.merged(parse_comfyui(text, ProvenanceSource.JPEG_COMMENT))
        elif text.strip():
            found = found.merged(parse_a1111(text, ProvenanceSource.JPEG_COMMENT))
    return found
