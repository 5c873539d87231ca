"""How LoRA models name themselves: titles, tags, trigger words and training metadata.

A character model carries one *primary signal* (the ``how`` of the ground truth), written
``<where>:<language>``: ``name:zh`` (the title uses the Chinese alias), ``tag:ja``,
``trigger:pinyin``, ``metadata:en`` (only the safetensors header names the character),
``name:misspelling`` (an alias broken with separators, as ``ultra-man``). Innocent models are
``innocent``, or ``innocent:near-name`` when their title shares a word with an alias.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.characters import Character

SIGNALS = (
    "name:en",
    "name:zh",
    "name:ja",
    "name:pinyin",
    "name:hepburn",
    "name:misspelling",
    "tag:en",
    "tag:zh",
    "tag:ja",
    "trigger:en",
    "trigger:pinyin",
    "trigger:ja",
    "metadata:en",
    "metadata:zh",
    "metadata:hepburn",
)
# Hugging Face repo ids are ASCII: titles there cannot carry 汉字 or katakana.
ASCII_NAME_SIGNALS = tuple(s for s in SIGNALS if s not in ("name:zh", "name:ja"))
INNOCENT_TITLES = (
    "Watercolor Style",
    "Detail Tweaker",
    "Film Grain Photo",
    "Pixel Art Style",
    "Cyberpunk City Backgrounds",
    "Cute Animals",
    "Ink Wash Landscape",
    "Isometric Rooms",
    "Paper Cutout Style",
    "Neon Glow Effect",
    "Flat Vector Icons",
    "水墨风格",
    "アニメ背景スタイル",
)
NEAR_NAME_TITLES = (
    "Cobalt Armor Style",
    "Tide Pool Photography",
    "Bell Tower Scenery",
    "Pipe Organ Concept Art",
    "Robot Tron Mecha Lines",
    "Jellyfish Aquarium Light",
)
GENERIC_TITLES = (
    "Mascot Character",
    "my_lora_v3",
    "test lora",
    "OC helper",
    "角色模型",
    "キャラLoRA",
)
STYLE_TAGS = ("style", "background", "concept", "photography", "anime", "scenery", "tool")
CHARACTER_TAGS = ("character", "mascot", "cartoon", "anime", "cute")
USERNAMES = (
    "pixelforge",
    "lora_lab",
    "neonbrush",
    "ai_anime_hub",
    "mochi_maker",
    "xiaoming_ai",
    "takumi_art",
    "dreamweaver42",
    "sakura_gen",
    "blue_panda_ai",
    "kite_studio",
    "hanabi_works",
)


@dataclass(frozen=True)
class Naming:
    """The text a model shows: title, tags, trigger words and what its file header says."""

    how: str
    title: str
    tags: tuple[str, ...]
    trigger: str
    output_name: str
    dataset_dir: str
    caption_tags: tuple[str, ...]
    comment: str


def _alias(who: Character, language: str) -> str:
    return who.aliases[language][0]


def misspell(name: str, rng: random.Random) -> str:
    """An alias broken the way uploaders dodge keyword filters (``ultra-man``, ``K0baltron``)."""
    cut = rng.randint(2, max(2, len(name) - 2))
    style = rng.randrange(5)
    if style == 0:
        return f"{name[:cut]}-{name[cut:]}".lower()
    if style == 1:
        return f"{name[:cut]}_{name[cut:]}"
    if style == 2:
        return f"{name[:cut]}.{name[cut:]}".lower()
    if style == 3:
        return " ".join(name.upper())
    return name.replace("o", "0").replace("i", "1").replace("e", "3")


def character_naming(who: Character, signal: str, rng: random.Random) -> Naming:
    """Title, tags and trigger of a model about ``who`` whose primary signal is ``signal``."""
    where, language = signal.split(":")
    if where == "name":
        shown = misspell(who.name, rng) if language == "misspelling" else _alias(who, language)
        word = shown.lower().replace(" ", "")
        suffix = rng.choice((" LoRA", " | character LoRA", " (OC) v2", " lora", "_v1"))
        if language == "zh":
            suffix = rng.choice(("角色LoRA", " 人物模型", "｜动漫角色"))
        elif language == "ja":
            suffix = rng.choice((" キャラクターLoRA", "【LoRA】"))
        return Naming(
            how=signal,
            title=f"{shown}{suffix}",
            tags=tuple(dict.fromkeys((*rng.sample(CHARACTER_TAGS, 2), "character"))),
            trigger=word,
            output_name=f"{word}_v1",
            dataset_dir=f"10_{word}",
            caption_tags=("solo", "simple background", "full body"),
            comment=f"trigger: {word}",
        )
    generic = rng.choice(GENERIC_TITLES)
    alias = _alias(who, language)
    tags = (*rng.sample(CHARACTER_TAGS, 2),)
    trigger = f"ohwx_{rng.randint(10, 99)}"
    output_name, dataset_dir = f"lora_{rng.randint(100, 999)}", f"10_{trigger}"
    comment = ""
    if where == "tag":
        tags = (*tags, alias)
    elif where == "trigger":
        trigger = alias if language != "en" else alias.lower()
    else:
        output_name, dataset_dir = f"{alias}_v1", f"10_{alias}"
        comment = f"{alias} dataset"
    return Naming(
        how=signal,
        title=generic,
        tags=tags,
        trigger=trigger,
        output_name=output_name,
        dataset_dir=dataset_dir,
        caption_tags=("solo", "1other", "looking at viewer"),
        comment=comment,
    )


def innocent_naming(rng: random.Random, near_name: bool) -> Naming:
    """A model about no character; ``near_name`` titles share a word with an alias."""
    title = rng.choice(NEAR_NAME_TITLES if near_name else INNOCENT_TITLES)
    ascii_title = "".join(ch for ch in title.lower() if ch.isascii() and ch.isalnum())
    stem = ascii_title[:16] or f"style{rng.randint(10, 99)}"
    trigger = f"{stem[:8]}style"
    return Naming(
        how="innocent:near-name" if near_name else "innocent",
        title=title,
        tags=tuple(rng.sample(STYLE_TAGS, 3)),
        trigger=trigger,
        output_name=f"{stem}_v1",
        dataset_dir=f"5_{stem}",
        caption_tags=("scenery", "no humans", "detailed"),
        comment="",
    )


def slugify(text: str) -> str:
    """Civitai-style slug: lower-case ASCII words joined by hyphens (``model`` if empty)."""
    words, current = [], []
    for ch in text.lower():
        if ch.isascii() and ch.isalnum():
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return "-".join(words) or "model"
