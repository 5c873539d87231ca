"""Plain bilingual sentences (English, 简体中文) for what reports and notices state.

A finding's reasons come from the likeness engine as JSON (``kind``, ``value``, ``sentence``,
``reference``). Nobody outside the team should read that JSON: the notice a platform's staff
read and the report a court reads carry one sentence per reason, in both languages, worded
"resembles" / "相似", never "infringes". The measured value is only ever shown inside a sentence
that says what it measures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sentence:
    """The same statement in English and in Simplified Chinese."""

    en: str
    zh: str


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "?"
    return str(int(number)) if number.is_integer() else f"{number:.2f}"


def _ref(reason: Mapping[str, Any]) -> tuple[str, str]:
    ref = reason.get("reference")
    return (
        (f" reference image '{ref}'", f"参考图像「{ref}」")
        if ref
        else (" a reference image", "参考图像")
    )


def _english(reason: Mapping[str, Any]) -> str:
    text = str(reason.get("sentence") or reason.get("text") or "").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _pdq(reason: Mapping[str, Any]) -> Sentence:
    en_ref, zh_ref = _ref(reason)
    d = _number(reason.get("value"))
    return Sentence(
        _english(reason) or f"The image's PDQ hash is {d} of 256 bits from{en_ref}.",
        f"该图像与{zh_ref}的 PDQ 感知哈希相差 {d} 位（共 256 位，数值越小越相似）。",
    )


def _phash(reason: Mapping[str, Any]) -> Sentence:
    en_ref, zh_ref = _ref(reason)
    d = _number(reason.get("value"))
    return Sentence(
        _english(reason) or f"The image's pHash is {d} of 64 bits from{en_ref}.",
        f"该图像与{zh_ref}的 pHash 感知哈希相差 {d} 位（共 64 位，数值越小越相似）。",
    )


def _local(reason: Mapping[str, Any]) -> Sentence:
    en_ref, zh_ref = _ref(reason)
    n = _number(reason.get("value"))
    english = _english(reason)
    if "drawn anew" in english:
        return Sentence(
            english,
            f"图像中的人物形象与{zh_ref}相似，但为重新绘制而非复制：有 {n} 个几何位置一致的 "
            f"ORB 特征点，轮廓相互吻合，像素本身不同。原文：{english}",
        )
    return Sentence(
        _english(reason) or f"A region of the image resembles{en_ref} ({n} matching keypoints).",
        f"图像中的一个区域与{zh_ref}相似：有 {n} 个几何位置一致的 ORB 特征点。",
    )


def _alias(reason: Mapping[str, Any]) -> Sentence:
    english = _english(reason) or "The item's text names the character by one of its aliases."
    return Sentence(
        english, f"条目的文字（标题、标签或说明）中出现该角色的名称或别名。原文：{english}"
    )


def _captions(reason: Mapping[str, Any]) -> Sentence:
    n = _number(reason.get("value"))
    text = str(reason.get("sentence") or "")
    if text.startswith(("'", '"')):
        reason = {**reason, "sentence": f"the tag {text}"}
    english = _english(reason) or f"{n} of the model's training captions name the character."
    return Sentence(
        english,
        f"该模型的训练标注（ss_tag_frequency）中有指向该角色的标签。原文：{english}",
    )


def _scope(reason: Mapping[str, Any]) -> Sentence:
    english = _english(reason) or "The evidence present does not reach a decision on its own."
    return Sentence(english, f"说明（非相似证据）：现有证据不足以单独得出结论。原文：{english}")


def _allowlist(reason: Mapping[str, Any]) -> Sentence:
    english = _english(reason) or "The uploader is on the client's allowlist."
    return Sentence(english, f"上传者在委托人的许可名单中。原文：{english}")


SENTENCES: dict[str, Callable[[Mapping[str, Any]], Sentence]] = {
    "pdq": _pdq,
    "phash": _phash,
    "local_features": _local,
    "alias": _alias,
    "lora_captions": _captions,
    "allowlist": _allowlist,
    "scope": _scope,
}


def reason_sentence(reason: Any) -> Sentence:
    """One reason (the engine's JSON, or older free text) as a bilingual sentence."""
    if not isinstance(reason, Mapping):
        text = str(reason).strip()
        return Sentence(text, f"相似理由（英文原文）：{text}")
    make = SENTENCES.get(str(reason.get("kind")))
    if make is not None:
        return make(reason)
    english = _english(reason) or "The item resembles the character."
    return Sentence(english, f"相似理由（英文原文）：{english}")


def reason_sentences(reasons: Any) -> list[Sentence]:
    """Every reason of a finding, in order, as sentences (an empty list for none)."""
    return [reason_sentence(r) for r in reasons or []]
