"""The dashboard's pure parts: chart layout, platform facts, regions, allowlist edits."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from evidence.models import Candidate
from rightswatch.review import allowlist, chart
from rightswatch.review.errors import AllowlistError
from rightswatch.review.media import candidate_thumbnail, web_url
from rightswatch.review.pages.files import image_type
from rightswatch.review.platform_facts import platform_facts, region_of
from tests.rightswatch.review.helpers import WATCH_TOML


def test_chart_stacks_platforms_per_day() -> None:
    series = {
        "civitai": {date(2026, 11, 1): 2, date(2026, 11, 3): 4},
        "hf": {date(2026, 11, 1): 2},
    }
    laid = chart.stacked_bars(series)
    assert laid.total == 8
    assert [name for name, _ in laid.legend] == ["civitai", "hf"]
    # three days in the span (the empty 2nd included), three non-empty segments
    assert len(laid.segments) == 3
    day1 = [s for s in laid.segments if "2026-11-01" in s.label]
    assert sum(s.height for s in day1) == pytest.approx(
        sum(s.height for s in laid.segments if "11-03" in s.label)
    )
    top = min(s.y for s in laid.segments)
    assert top == pytest.approx(chart.MARGIN_TOP)
    assert chart.stacked_bars({}).segments == ()


def test_platform_facts_read_every_known_key() -> None:
    facts = platform_facts(
        {"trainedWords": ["hero", "hero_v2"], "discovery": {"placement": "home", "rank": 3}},
        {"allow_no_credit": True, "allow_commercial_use": ["Image", "Rent"], "nsfw": None},
    )
    assert facts.trigger_words == ("hero", "hero_v2")
    assert (facts.placement, facts.rank, facts.term) == ("home", "3", None)
    assert facts.licence == (("allow_commercial_use", "Image, Rent"), ("allow_no_credit", "yes"))
    assert platform_facts({"instance": 1, "triggerWord": "x"}, {}).trigger_words == ("x",)


def test_region_forms_and_refusals() -> None:
    assert region_of([{"bbox": {"x": 0.5, "y": 0.25, "width": 0.5, "height": 0.5}}]) is not None
    region = region_of([{"kind": "pdq"}, {"region": [0.1, 0.2, 0.6, 0.9]}])
    assert region is not None and (region.left, region.top, region.width, region.height) == (
        10.0,
        20.0,
        50.0,
        70.0,
    )
    for bad in ([0, 0, 2, 2], [0.5, 0.5, 0.1, 0.1], "0,0,1,1", {"x": "a"}, [1, 2, 3]):
        assert region_of([{"region": bad}]) is None


def test_web_url_keeps_only_http() -> None:
    assert web_url("https://civitai.com/models/1") == "https://civitai.com/models/1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil", "", None, "JaVaScRiPt:x"):
        assert web_url(bad) is None


def test_allowlist_add_is_idempotent_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(WATCH_TOML, encoding="utf-8")
    assert allowlist.add_creator(path, "Hero", "fan-artist") is True
    assert allowlist.add_creator(path, "Hero", "fan-artist") is False
    assert allowlist.add_creator(path, "Villain", "second") is True
    text = path.read_text(encoding="utf-8")
    assert 'allowlist = ["licensed-artist", "second"]' in text
    with pytest.raises(AllowlistError, match="no character named 'Nobody'"):
        allowlist.add_creator(path, "Nobody", "x")
    with pytest.raises(AllowlistError, match="not a creator name"):
        allowlist.add_creator(path, "Hero", "bad\nname")
    broken = tmp_path / "broken.toml"
    broken.write_text("[client\n", encoding="utf-8")
    with pytest.raises(AllowlistError, match="not valid TOML"):
        allowlist.add_creator(broken, "Hero", "x")
    assert not list(tmp_path.glob(".*review-tmp"))


def test_allowlist_refuses_an_edit_that_breaks_the_config(tmp_path: Path) -> None:
    path = tmp_path / "watch.toml"
    # valid TOML, but the config model refuses it (no characters table at all)
    path.write_text('[client]\nname = "X"\n[[characters]]\nname = "Hero"\nunknown = 1\n')
    before = path.read_text()
    with pytest.raises(AllowlistError, match="would be invalid"):
        allowlist.add_creator(path, "Hero", "someone")
    assert path.read_text() == before


def test_thumbnail_from_the_crawlers_absolute_media_path(tmp_path: Path) -> None:
    root = (tmp_path / "evidence").resolve()
    stored = root / "crawls" / "run-1" / "media" / ("ab" * 32)  # stored by SHA-256, no suffix
    stored.parent.mkdir(parents=True)
    stored.write_bytes(png_bytes())
    cand = Candidate(raw={"platform": {}, "crawl": {"media_path": str(stored)}}, media_url=None)
    assert candidate_thumbnail(cand, [], root) == f"/files/crawls/run-1/media/{'ab' * 32}"
    assert image_type(stored) == "image/png"
    outside = Candidate(raw={"crawl": {"media_path": "/etc/passwd"}}, media_url="javascript:x")
    assert candidate_thumbnail(outside, [], root) is None
    page = stored.with_name("dom.html")
    page.write_text("<script>alert(1)</script>")
    assert image_type(page) is None


def png_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    return out.getvalue()
