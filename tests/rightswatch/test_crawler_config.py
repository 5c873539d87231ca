"""The crawler's keys in watch.toml: api_access, contact, model types, page caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.plan import DEFAULT_MODEL_TYPES, ApiAccess
from rightswatch.config import load_config
from rightswatch.crawling import plan_from_config
from rightswatch.errors import ConfigError

BASE = """
[client]
name = "c"
[[characters]]
name = "Hero"
[crawler]
contact = "ops@example.com"
[[platforms]]
name = "civitai"
kind = "civitai"
base_url = "http://127.0.0.1:9"
"""


def _load(tmp_path: Path, extra: str) -> object:
    path = tmp_path / "watch.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_config(path)


def test_defaults_per_kind_and_overrides(tmp_path: Path) -> None:
    config = _load(tmp_path, '[[platforms]]\nname = "g"\nkind = "gallery"\nprofile = "pixiv"\n')
    civitai, gallery = plan_from_config(config, "sqlite://").targets  # type: ignore[arg-type]
    assert civitai.api_access is ApiAccess.API_TERMS and gallery.api_access is ApiAccess.ROBOTS
    assert civitai.model_types == DEFAULT_MODEL_TYPES and civitai.browsing_level == 31
    assert civitai.politeness.max_retry_after_s == 600
    config = _load(
        tmp_path,
        'model_types = ["LORA"]\nbrowsing_level = 1\n'
        '[platforms.politeness]\napi_access = "robots"\nmax_pause_seconds = 30\n',
    )
    (target,) = plan_from_config(config, "sqlite://").targets  # type: ignore[arg-type]
    assert target.api_access is ApiAccess.ROBOTS and target.model_types == ("LORA",)
    assert target.browsing_level == 1 and target.politeness.max_retry_after_s == 30


def test_a_bad_api_access_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"platforms\[0\]\.politeness\.api_access"):
        _load(tmp_path, '[platforms.politeness]\napi_access = "ignore"\n')
