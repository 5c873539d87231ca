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


def test_captures_run_with_each_platform_session_and_robots_policy(tmp_path: Path) -> None:
    """The evidence capture gets the same login session file and page robots policy as the
    crawl of each platform; a missing session fails that platform's captures, not the config."""
    from evidence.capture.sites import site_for
    from evidence.robots import PageRobots
    from rightswatch.evidence_settings import evidence_settings

    (tmp_path / "state.json").write_text('{"cookies": [], "origins": []}', encoding="utf-8")
    config = _load(
        tmp_path,
        "[platforms.politeness]\nobey_robots_txt = false\n"
        '[[platforms]]\nname = "walled"\nkind = "gallery"\nprofile = "pixiv"\n'
        'base_url = "http://127.0.0.1:9/walled"\n'
        '[platforms.gallery]\nstorage_state = "state.json"\n',
    )
    sites = evidence_settings(config).capture_sites  # type: ignore[arg-type]
    civitai, walled = sites
    assert civitai.robots is PageRobots.IGNORE and civitai.storage_state is None
    assert walled.robots is PageRobots.OBEY
    assert walled.storage_state == tmp_path / "state.json"
    assert site_for(sites, "http://127.0.0.1:9/walled/artworks/1") is walled
    assert site_for(sites, "http://127.0.0.1:9/models/1") is civitai
    assert site_for(sites, "http://127.0.0.1:9/models/1", {"platform": "walled"}) is walled
    assert site_for(sites, "http://example.org/x").name == ""
