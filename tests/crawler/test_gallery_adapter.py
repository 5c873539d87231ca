"""Gallery adapters as data: the path language, validation, profiles, extraction, end of feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.exceptions import CrawlConfigError
from crawler.gallery import profiles
from crawler.gallery.adapter import GalleryAdapter, merge
from crawler.gallery.extract import build_item, record_from_selectors
from crawler.gallery.feed import Harvest
from crawler.gallery.paths import first, values_at
from crawler.items import Discovery, ImageCandidate, ModelCandidate, Placement
from evidence.models import CandidateKind

DOC = {
    "data": {
        "items": [
            {
                "id": "1",
                "name": "Kobaltron LoRA",
                "versions": [{"file": {"url": "/f/1.safetensors"}}],
            },
            {"id": "2", "title": "a post", "images": [{"url": "https://cdn.x/2.png"}]},
            {"id": "3", "name": "no versions"},
        ],
        "hasMore": False,
        "cursor": "",
    }
}

ADAPTER = {
    "listings": [{"url": "/", "placement": "home"}],
    "links": [{"kind": "model", "pattern": "/models/(?P<id>[0-9]+)$"}],
    "item_urls": {"model": "/models/{id}", "image": "/posts/{id}"},
    "json": [
        {
            "url": "/api/feed$",
            "items": {"model": "data.items[?versions]", "image": "data.items[?images]"},
            "more": "data.hasMore",
        },
        {"url": "/api/recommend$", "items": {"model": "data.models[]"}, "placement": "recommended"},
    ],
    "fields": {
        "model": {"id": "id", "title": "name", "files": "versions[].file.url"},
        "image": {"id": "id", "title": "title", "image": "images[0].url"},
    },
}


def test_paths_walk_keys_indexes_filters_and_alternatives() -> None:
    assert [i["id"] for i in values_at(DOC, "data.items[]")] == ["1", "2", "3"]
    assert [i["id"] for i in values_at(DOC, "data.items[?versions]")] == ["1"]
    assert values_at(DOC, "data.items[-1].name") == ["no versions"]
    assert values_at(DOC, "data.items[].versions[].file.url") == ["/f/1.safetensors"]
    assert first(DOC, "data.nothing|data.hasMore") is False
    assert values_at(DOC, "data.items[9].id") == []
    with pytest.raises(CrawlConfigError, match="JSON path"):
        values_at(DOC, "data..items")


def test_adapter_round_trips_and_names_the_bad_key() -> None:
    adapter = GalleryAdapter.from_mapping(ADAPTER)
    assert GalleryAdapter.from_mapping(adapter.to_mapping()) == adapter
    assert adapter.link_id("/models/42") == (CandidateKind.MODEL, "42")
    with pytest.raises(CrawlConfigError, match=r"gallery\.scroll: unknown key"):
        GalleryAdapter.from_mapping({**ADAPTER, "scroll": "#x"})
    bad_link = {**ADAPTER, "links": [{"kind": "model", "pattern": "/models/([0-9]+)"}]}
    with pytest.raises(CrawlConfigError, match=r"links\[0\]\.pattern: .*\(\?P<id>"):
        GalleryAdapter.from_mapping(bad_link)
    bad_field = {**ADAPTER, "fields": {"model": {"id": "id", "titel": "name"}}}
    with pytest.raises(CrawlConfigError, match=r"fields\.model\.titel: unknown field"):
        GalleryAdapter.from_mapping(bad_field)
    with pytest.raises(CrawlConfigError, match="placement 'front' is not one of"):
        GalleryAdapter.from_mapping({**ADAPTER, "listings": [{"url": "/", "placement": "front"}]})


def test_every_builtin_profile_loads_and_takes_overrides() -> None:
    assert set(profiles.names()) >= {"liblib", "shakker", "seaart", "tensorart", "pixiv"}
    for name in profiles.names():
        adapter = profiles.resolve(name, {}, name)
        assert adapter.links and profiles.base_url(name)
    liblib = profiles.resolve("liblib", {"fields": {"model": {"title": "title"}}})
    assert liblib.fields[CandidateKind.MODEL]["title"] == "title"
    assert liblib.fields[CandidateKind.MODEL]["id"] == "uuid"  # the rest kept
    assert liblib.link_id("/modelinfo/4abe0d99538d4867af86a59ee899b4fe") == (
        CandidateKind.MODEL,
        "4abe0d99538d4867af86a59ee899b4fe",
    )
    assert profiles.resolve("pixiv", {}).link_id("/en/artworks/123") == (CandidateKind.IMAGE, "123")
    with pytest.raises(CrawlConfigError, match="not a built-in profile"):
        profiles.resolve("nosuch", {})
    assert merge({"sections": {"home": "#a"}}, {"sections": {"recommended": "#r"}}) == {
        "sections": {"home": "#a", "recommended": "#r"}
    }


def test_harvest_ranks_per_placement_and_ends_from_data() -> None:
    adapter = GalleryAdapter.from_mapping(ADAPTER)
    harvest = Harvest(adapter, "https://x.test/", Placement.HOME, base_url="https://x.test")
    recommend = {"data": {"models": [{"id": "9", "name": "hot"}]}}
    assert harvest.add_json("https://x.test/api/recommend", recommend)
    assert harvest.ended is None  # a recommendation list says nothing about the feed's end
    page = {"data": {"items": DOC["data"]["items"], "hasMore": True}}
    assert harvest.add_json("https://x.test/api/feed", page)
    assert harvest.ended is None
    harvest.add_links([("/models/1", None), ("/models/7", None), ("https://other/models/8", None)])
    assert not harvest.add_json("https://x.test/api/unrelated", DOC)
    assert harvest.add_json("https://x.test/api/feed", {"data": {"items": [], "hasMore": False}})
    assert harvest.ended and "no next page" in harvest.ended
    shown = {(s.kind.value, s.external_id): s for s in harvest.shown()}
    assert set(shown) == {("model", "9"), ("model", "1"), ("image", "2"), ("model", "7")}
    assert (shown[("model", "9")].placement, shown[("model", "9")].rank) == (
        Placement.RECOMMENDED,
        1,
    )
    assert [shown[k].rank for k in (("model", "1"), ("image", "2"), ("model", "7"))] == [1, 2, 3]
    assert shown[("model", "7")].record is None  # seen as a card only: its page is read
    assert shown[("image", "2")].url == "https://x.test/posts/2"
    empty = Harvest(adapter, "https://x.test/", Placement.FEED)
    empty.add_json("https://x.test/api/feed", {"data": {"items": [], "hasMore": True}})
    assert empty.ended and "came back empty" in empty.ended


def test_records_become_typed_items() -> None:
    adapter = GalleryAdapter.from_mapping(ADAPTER)
    harvest = Harvest(adapter, "https://x.test/", Placement.FEED, base_url="https://x.test")
    harvest.add_json("https://x.test/api/feed", DOC)
    items = {}
    for shown in harvest.shown():
        assert shown.record is not None and shown.url is not None
        items[shown.external_id] = build_item(
            shown.record,
            platform="g",
            page_url=shown.url,
            discovery=Discovery("https://x.test/", None, shown.placement, shown.rank),
            fetched_at=datetime.now(UTC),
            warc_record_id=None,
        )
    model, image = items["1"], items["2"]
    assert isinstance(model, ModelCandidate) and model.title == "Kobaltron LoRA"
    assert model.files[0].url == "https://x.test/f/1.safetensors"
    assert model.files[0].name == "1.safetensors"
    assert isinstance(image, ImageCandidate) and image.media_urls == ("https://cdn.x/2.png",)
    assert image.discovery.placement is Placement.FEED and image.discovery.rank == 2


def test_css_selectors_are_the_last_resort() -> None:
    adapter = GalleryAdapter.from_mapping(
        {**ADAPTER, "selectors": {"title": "h1", "tags": ".tag", "image": "img::attr(src)"}}
    )
    html = "<h1> Tide  Bell </h1><span class=tag>a</span><span class=tag>b</span><img src=/i.png>"
    record = record_from_selectors(html, CandidateKind.IMAGE, "5", adapter, "https://x.test/p/5")
    assert record.text("title") == "Tide Bell"
    assert record.texts("tags") == ("a", "b")
    assert record.text("image") == "/i.png"


def test_the_documented_site_and_profile_examples_are_valid_config() -> None:
    """docs/crawler.md "Adding a gallery site in watch.toml alone" cannot drift."""
    import re
    import tomllib
    from pathlib import Path

    from rightswatch.config import PlatformConfig

    doc = (Path(__file__).resolve().parents[2] / "docs" / "crawler.md").read_text("utf-8")
    section = doc.split("### Adding a gallery site in watch.toml alone", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    for block in blocks:
        for platform in tomllib.loads(block)["platforms"]:
            adapter = PlatformConfig.model_validate(platform).adapter()
            assert adapter.links


def test_the_browser_gets_the_platforms_guard_user_agent_and_session() -> None:
    import asyncio
    from types import SimpleNamespace

    from crawler.browser import BrowserGate
    from crawler.plan import PlatformTarget, Politeness
    from crawler.settings import USER_AGENT, settings_for
    from evidence.models import PlatformKind

    adapter = GalleryAdapter.from_mapping(
        {**ADAPTER, "media_hosts": ["127.0.0.2:8001"], "storage_state": "/tmp/state.json"}
    )
    target = PlatformTarget(
        name="g",
        kind=PlatformKind.GALLERY,
        base_url="http://127.0.0.1:8001/gallery",
        search_terms=(),
        politeness=Politeness(delay_s=0.0),
        gallery=adapter,
    )
    settings = settings_for(target)
    gate = settings["PLAYWRIGHT_ABORT_REQUEST"]
    assert isinstance(gate, BrowserGate)
    context = settings["PLAYWRIGHT_CONTEXTS"]["default"]
    assert context["user_agent"] == settings["USER_AGENT"] == USER_AGENT
    assert context["storage_state"] == "/tmp/state.json"
    assert context["service_workers"] == "block"

    def ask(url: str, kind: str = "xhr") -> bool:
        return asyncio.run(gate(SimpleNamespace(url=url, resource_type=kind)))

    assert ask("http://127.0.0.1:8001/gallery/api/v1/feed") is False  # allowed: not aborted
    assert ask("http://127.0.0.2:8001/ssrcdn/img/1.png", "image") is False  # the media host
    assert ask("http://127.0.0.2:9999/x.png", "image") is True  # another port
    assert ask("https://tracker.example/pixel.gif", "image") is True  # not the platform's
    assert ask("file:///etc/passwd", "document") is True
    assert ask("http://127.0.0.1:8001/font.woff2", "font") is True  # never needed
    assert gate.refusal("data:image/png;base64,AAAA") is None
    assert [u for u, _ in gate.refused] == [
        "http://127.0.0.2:9999/x.png",
        "https://tracker.example/pixel.gif",
        "file:///etc/passwd",
    ]


def test_tensorart_profile_reads_the_json_its_pages_fetch() -> None:
    """Shaped as public clients show Tensor.Art's answers (docs/crawler.md): the post list's
    images with id and url, a cursor, an empty page at the end; an image's generation data."""
    adapter = profiles.resolve("tensorart", {})
    base = "https://tensor.art"
    harvest = Harvest(adapter, f"{base}/", Placement.HOME, base_url=base)
    api = "https://api.tensor.art/community-web/v1"
    image = {"id": "777000000000000001", "url": "https://image.tensorartassets.com/p/1.png"}
    posts = {"data": {"items": [{"id": "1", "images": [image]}], "cursor": "20"}}
    assert harvest.add_json(f"{api}/post/list", posts) and harvest.ended is None
    assert harvest.add_json(f"{api}/post/list", {"data": {"items": [], "cursor": "40"}})
    assert harvest.ended and "came back empty" in harvest.ended
    (shown,) = harvest.shown()
    assert shown.external_id == image["id"] and shown.record is not None
    assert shown.url == f"{base}/images/{image['id']}"
    detail = Harvest(adapter, f"{base}/images/{image['id']}", Placement.HOME, base_url=base)
    lora = {"modelId": "5", "modelFileName": "hero_v1.safetensors", "weight": 0.8}
    gen = {"prompt": "hero, 1girl", "negativePrompt": "blurry", "models": [lora]}
    answer = {"data": {"image": {**image, "generationData": {"tensorArtV1": gen}}}}
    assert detail.add_json(f"{api}/image/detail?id={image['id']}&postId=1", answer)
    record = detail.records[(CandidateKind.IMAGE, image["id"])]
    assert record.text("prompt") == "hero, 1girl"
    assert record.texts("resources") == ("hero_v1.safetensors",)
