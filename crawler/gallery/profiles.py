"""Built-in gallery profiles: one TOML file per site in ``crawler/gallery/profiles/``.

A profile file has the site's default ``base_url`` and a ``[gallery]`` table in the
watch.toml shape (:mod:`crawler.gallery.adapter`). A platform writes ``profile = "liblib"``
and overrides any key under ``[platforms.gallery]``; :func:`resolve` merges the two and
validates the result. Each profile cites the public sources it was written from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from crawler.exceptions import CrawlConfigError
from crawler.gallery.adapter import GalleryAdapter, merge


def names() -> tuple[str, ...]:
    """The built-in profile names."""
    folder = resources.files("crawler.gallery").joinpath("profiles")
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


@lru_cache(maxsize=16)
def _load(name: str) -> dict[str, Any]:
    if name not in names():
        known = ", ".join(names())
        raise CrawlConfigError(f"profile {name!r} is not a built-in profile (known: {known})")
    text = (
        resources.files("crawler.gallery").joinpath("profiles", f"{name}.toml").read_text("utf-8")
    )
    return tomllib.loads(text)


def base_url(name: str) -> str | None:
    """The site's usual base URL, as the profile states it."""
    value = _load(name).get("base_url")
    return str(value) if value else None


def profile_mapping(name: str) -> dict[str, Any]:
    """The profile's ``[gallery]`` table (a copy)."""
    return dict(_load(name).get("gallery", {}))


def resolve(
    profile: str | None, overrides: Mapping[str, Any], where: str = "gallery"
) -> GalleryAdapter:
    """The adapter for a platform: its profile (if any) with ``overrides`` on top."""
    base = profile_mapping(profile) if profile else {}
    return GalleryAdapter.from_mapping(merge(base, overrides), where)
