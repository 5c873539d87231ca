"""Hugging Face Hub API documents to items (platforms.md §2.1-2.3).

- ``GET /api/models?search=&filter=lora``: a JSON array; the next page is the ``Link`` header's
  ``rel="next"`` URL, treated as opaque (§2.1).
- ``GET /api/models/{repo}?blobs=true``: model info with ``siblings`` (``rfilename``, ``size``,
  ``lfs.sha256``) and ``cardData`` (``license``, ``instance_prompt``, ``base_model``) (§2.2).
- Files: ``/{repo}/resolve/{sha or main}/{path}`` (§2.3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from crawler.exceptions import ParseError
from crawler.items import LicenceFlags, ModelCandidate, ModelFile
from crawler.parsers import (
    ParseContext,
    as_list,
    as_mapping,
    numeric_stats,
    opt_int,
    opt_str,
    parse_time,
    str_tuple,
)

_LINK = re.compile(r"<([^>]*)>\s*;\s*([^,]*)")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# Properties asked with expand[] so that a listing carries what a per-repo call would
# (real-platforms.md, Hugging Face 3; huggingface_hub ExpandModelProperty_T).
EXPAND = (
    "author",
    "cardData",
    "createdAt",
    "disabled",
    "downloads",
    "gated",
    "lastModified",
    "library_name",
    "likes",
    "pipeline_tag",
    "sha",
    "siblings",
    "tags",
)
IMAGE_PIPELINES = ("text-to-image", "image-to-image", "unconditional-image-generation")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_TRIGGER_LINE = re.compile(r"(?im)^.*\b(?:trigger|instance|activation)\b.*$")
_BACKTICKED = re.compile(r"`([^`\n]{1,80})`")
_YAML_PROMPT = re.compile(r"(?m)^\s*(?:instance_prompt|trigger_words?)\s*:\s*(.+)$")
CARD_TEXT_MAX = 4000


def is_llm_adapter(entry: Mapping[str, Any]) -> bool:
    """A PEFT adapter of a language model (tagged ``lora`` on the Hub, never an image LoRA):
    its pipeline is not an image one and its library is ``peft`` or its tags say text."""
    pipeline = entry.get("pipeline_tag")
    tags = str_tuple(entry.get("tags"))
    if pipeline in IMAGE_PIPELINES or "diffusers" in tags or "text-to-image" in tags:
        return False
    return entry.get("library_name") == "peft" or pipeline == "text-generation"


def card_triggers(text: str) -> tuple[tuple[str, ...], str]:
    """Trigger words from a model card (README.md) and the card text (capped): YAML
    ``instance_prompt``/``trigger_words``, and back-ticked words on a line about triggers."""
    words: list[str] = []
    front = _FRONT_MATTER.match(text)
    if front:
        for value in _YAML_PROMPT.findall(front.group(1)):
            word = value.strip().strip("'\"")
            if word and word not in words:
                words.append(word)
    body = text[front.end() :] if front else text
    for line in _TRIGGER_LINE.findall(body):
        for word in _BACKTICKED.findall(line):
            if word.strip() and word.strip() not in words:
                words.append(word.strip())
    return tuple(words), body.strip()[:CARD_TEXT_MAX]


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of a GitHub-style ``Link`` header."""
    if not header:
        return None
    for target, params in _LINK.findall(header):
        if re.search(r'rel\s*=\s*"?next"?', params):
            return str(target)
    return None


def parse_search_page(data: object, ctx: ParseContext) -> tuple[list[str], list[str]]:
    """Repo ids from a ``/api/models`` page, and reasons for entries that were unusable."""
    entries = as_list(data, ctx.url, "response")
    repos: list[str] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        repo = opt_str(entry.get("id") or entry.get("modelId")) if isinstance(entry, dict) else None
        if repo is None or "/" not in repo:
            skipped.append(f"entry {index} has no repo id")
        else:
            repos.append(repo)
    return repos, skipped


def created_times(data: object) -> list[str]:
    """``createdAt`` values of a search page, in order (checks that sort is honoured)."""
    if not isinstance(data, list):
        return []
    return [str(e["createdAt"]) for e in data if isinstance(e, dict) and e.get("createdAt")]


def resolve_url(base_url: str, repo: str, revision: str, path: str) -> str:
    return f"{base_url}/{repo}/resolve/{quote(revision, safe='')}/{quote(path)}"


def parse_model_info(data: object, ctx: ParseContext, index: int = 0) -> ModelCandidate:
    info = as_mapping(data, ctx.url, "model info")
    repo = opt_str(info.get("id") or info.get("modelId"))
    if repo is None:
        raise ParseError(ctx.url, "model info has no id")
    revision = opt_str(info.get("sha")) or "main"
    card_raw = info.get("cardData")
    card: Mapping[str, Any] = card_raw if isinstance(card_raw, Mapping) else {}
    files: list[ModelFile] = []
    media: list[str] = []
    for sibling in info.get("siblings") or []:
        if not isinstance(sibling, Mapping) or not isinstance(sibling.get("rfilename"), str):
            continue
        name = sibling["rfilename"]
        url = resolve_url(ctx.base_url, repo, revision, name)
        if name.lower().endswith(IMAGE_SUFFIXES):
            media.append(url)
        if name.lower().endswith(".safetensors"):
            lfs_raw = sibling.get("lfs")
            lfs: Mapping[str, Any] = lfs_raw if isinstance(lfs_raw, Mapping) else {}
            sha = opt_str(lfs.get("sha256"))
            files.append(
                ModelFile(
                    name=name,
                    url=url,
                    size_bytes=opt_int(sibling.get("size")) or opt_int(lfs.get("size")),
                    sha256=sha.lower() if sha else None,
                    hashes={"SHA256": sha.upper()} if sha else {},
                    primary=not files,
                )
            )
    instance = card.get("instance_prompt")
    trigger = (instance,) if isinstance(instance, str) and instance else str_tuple(instance)
    tags = tuple(dict.fromkeys((*str_tuple(info.get("tags")), *str_tuple(card.get("tags")))))
    base = card.get("base_model")
    licence = opt_str(card.get("license")) or next(
        (t.split(":", 1)[1] for t in tags if t.startswith("license:")), None
    )
    gated = info.get("gated")
    return ModelCandidate(
        platform=ctx.platform,
        external_id=repo,
        page_url=f"{ctx.base_url}/{repo}",
        media_urls=tuple(media),
        title=repo.split("/", 1)[1],
        description=opt_str(card.get("description")),
        tags=tags,
        creator=opt_str(info.get("author")) or repo.split("/", 1)[0],
        created_at=parse_time(info.get("createdAt")),
        stats=numeric_stats({k: info.get(k) for k in ("downloads", "likes", "downloadsAllTime")}),
        licence=LicenceFlags(
            licence=licence,
            mode="disabled"
            if info.get("disabled") is True
            else (f"gated:{gated}" if isinstance(gated, str) else None),
        ),
        raw=dict(info),
        fetched_at=ctx.fetched_at,
        warc_record_id=ctx.warc_record_id,
        discovery=ctx.discovery(index),
        trigger_words=trigger,
        instance_prompt=instance if isinstance(instance, str) and instance else None,
        version_ids=(revision,),
        base_model=base if isinstance(base, str) else next(iter(str_tuple(base)), None),
        files=tuple(files),
    )
