"""Generation signals: an image linked to the LoRAs its provenance names.

The caller hands the engine the LoRAs it already knows about (:class:`KnownLora`: in the product,
model candidates with a flagged finding, with their file hashes, version ids and names); the
engine links every LoRA an image names (:class:`~matching.provenance.LoraUse`) to them:

* by Civitai model version id;
* by hash: a named hash of at least :data:`~matching.provenance.MIN_HASH` hex digits that is a
  prefix of one of the known hashes (A1111 writes 12 digits of the AutoV3 hash, Civitai's AutoV2
  is the first 10 digits of the file's SHA-256; a full SHA-256 matches itself);
* by name (folded file stem, model or version name; weaker: names are not unique).

Independently, a named LoRA whose name matches a character alias is a reason of its own
("generated with LoRA 'yingxiong_v1': its name contains the pinyin alias of Hero"), and so is
a linked LoRA whose trigger words match an alias.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from matching.provenance import LoraUse, Provenance, lora_stem
from matching.text import AliasMatcher, TextField, fold, language_name
from matching.verdict import Reason, SignalKind

LINKED_BY_ID_WEIGHT = 0.96
"""Image names a flagged LoRA by hash or model version id."""
LINKED_BY_NAME_WEIGHT = 0.75
"""Image names a flagged LoRA by name only (a review: names are not unique)."""
ALIAS_NAME_WEIGHT = 0.88
"""A LoRA the image was generated with is named after a character (flags on its own)."""
ALIAS_TRIGGER_WEIGHT = 0.88
"""A linked LoRA's trigger word is a character alias."""
MIN_NAME = 4
"""Folded characters a LoRA name needs before it links by name."""


@dataclass(frozen=True)
class KnownLora:
    """A LoRA the caller already judged, e.g. a model with a flagged finding."""

    character: str
    """The character its finding resembles."""
    label: str
    """How to name it in a reason, e.g. ``civitai model 4242 'Hero LoRA'``."""
    names: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()
    """Hex digests of its files, any kind (SHA-256, AutoV2, AutoV3, BLAKE3…)."""
    model_version_ids: tuple[int, ...] = ()
    trigger_words: tuple[str, ...] = ()
    finding: str = ""
    """What the finding says, e.g. ``flagged, score 0.97`` (optional)."""


def _name_key(name: str) -> str:
    return "".join(ch for ch in fold(lora_stem(name)) if ch.isalnum())


class LoraLinker:
    """Links named LoRAs to known ones; built once per engine."""

    def __init__(self, known: Iterable[KnownLora], aliases: AliasMatcher) -> None:
        self.known = tuple(known)
        self.aliases = aliases
        self._by_version = {v: k for k in self.known for v in k.model_version_ids}
        self._hashes = [(h.lower(), k) for k in self.known for h in k.hashes if h]
        self._by_name = {
            key: k for k in self.known for n in k.names if len(key := _name_key(n)) >= MIN_NAME
        }

    def link(self, use: LoraUse) -> tuple[KnownLora, str] | None:
        """The known LoRA ``use`` names, and how it was linked."""
        if use.model_version_id is not None and use.model_version_id in self._by_version:
            return self._by_version[use.model_version_id], (
                f"Civitai model version {use.model_version_id}"
            )
        if use.hash:
            for digest, known in self._hashes:
                if digest.startswith(use.hash) or (
                    len(digest) >= 8 and use.hash.startswith(digest)
                ):
                    return known, f"hash {use.hash}"
        if use.name and len(key := _name_key(use.name)) >= MIN_NAME and key in self._by_name:
            return self._by_name[key], "name"
        return None

    def reasons(self, provenance: Provenance, prefix: str = "") -> dict[str, list[Reason]]:
        """Reasons per character for every LoRA ``provenance`` names."""
        found: dict[str, list[Reason]] = {}
        for use in provenance.loras:
            where = use.source.value
            linked = self.link(use)
            if linked is not None:
                known, how = linked
                by_id = how != "name"
                finding = f" ({known.finding})" if known.finding else ""
                sentence = (
                    f"{prefix}generated with LoRA '{use.label}' ({where}), which is {known.label}"
                    f" by {how}, flagged as resembling {known.character}{finding}"
                )
                weight = LINKED_BY_ID_WEIGHT if by_id else LINKED_BY_NAME_WEIGHT
                found.setdefault(known.character, []).append(
                    Reason(SignalKind.GENERATION, 1.0 if by_id else 0.5, sentence, None, weight)
                )
                self._trigger_reasons(use, known, found, prefix)
            if use.name:
                for hit in self.aliases.find(use.name, TextField.GENERATION_LORA):
                    sentence = (
                        f"{prefix}generated with LoRA '{use.name}' ({where}): its name "
                        f"{_alias_words(hit.variant.value, hit.language, hit.alias)} "
                        f"of {hit.character}"
                    )
                    found.setdefault(hit.character, []).append(
                        Reason(SignalKind.GENERATION, 1.0, sentence, None, ALIAS_NAME_WEIGHT)
                    )
        return found

    def _trigger_reasons(
        self, use: LoraUse, known: KnownLora, found: dict[str, list[Reason]], prefix: str
    ) -> None:
        for word in known.trigger_words[:32]:
            for hit in self.aliases.find(word, TextField.TRIGGER_WORD):
                sentence = (
                    f"{prefix}generated with LoRA '{use.label}' ({known.label}), whose trigger "
                    f"word '{word}' {_alias_words(hit.variant.value, hit.language, hit.alias)} "
                    f"of {hit.character}"
                )
                found.setdefault(hit.character, []).append(
                    Reason(SignalKind.GENERATION, 1.0, sentence, None, ALIAS_TRIGGER_WEIGHT)
                )


def _alias_words(variant: str, language: str, alias: str) -> str:
    lang = language_name(language)
    if variant == "exact":
        return f"is the {lang} alias '{alias}'"
    if variant == "one letter off":
        return f"is one letter away from the {lang} alias '{alias}'"
    return f"contains the {lang} alias '{alias}'"
