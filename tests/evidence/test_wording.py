"""Reports and notices state reasons and placement as bilingual sentences, never as raw JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from crawler.items import Discovery, ImageCandidate, LicenceFlags, Placement
from crawler.pipelines.record import crawl_facts
from evidence.facts import finding_facts
from evidence.lifecycle import Cause, change_status
from evidence.models import Capture, CaptureStatus, Finding, FindingStatus
from evidence.notice import draft_notice
from evidence.placement import ItemPlacement
from evidence.settings import EvidenceSettings
from evidence.signing import Signer
from evidence.wording import reason_sentence
from tests.support.casefile import seed_finding

# what the likeness engine stores (matching.verdict.Reason.to_json)
ENGINE_REASONS = [
    {
        "kind": "alias",
        "value": 0.0,
        "sentence": "title 'Moonfox LoRA' is the English alias of Moonfox",
        "reference": None,
        "weight": 0.6,
    },
    {
        "kind": "pdq",
        "value": 12.0,
        "sentence": "PDQ distance 12 of 256 to moonfox-front.png",
        "reference": "moonfox-front.png",
        "weight": 0.93,
    },
    {
        "kind": "lora_captions",
        "value": 40.0,
        "sentence": "'moonfox' in 40 of 52 training captions (ss_tag_frequency) names Moonfox",
        "reference": None,
        "weight": 0.8,
    },
]
RAW = re.compile(r"[{}]|'kind'|value 0\.0|'value'")
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_engine_reasons_become_sentences_in_both_languages():
    for reason in ENGINE_REASONS:
        s = reason_sentence(reason)
        assert s.en.endswith(".") and s.en[0].isupper()
        assert HAN.search(s.zh) and not RAW.search(s.en + s.zh)
    assert (
        "PDQ" in reason_sentence(ENGINE_REASONS[1]).zh
        and "12" in reason_sentence(ENGINE_REASONS[1]).zh
    )


def test_placement_written_by_the_record_pipeline_is_read_by_the_report():
    item = ImageCandidate(
        platform="gallery", external_id="7", page_url="http://127.0.0.1/item/7",
        media_urls=(), title="t", description=None, tags=(), creator=None, created_at=None,
        stats={}, licence=LicenceFlags(), raw={}, fetched_at=datetime.now(UTC),
        warc_record_id=None,
        discovery=Discovery(listing_url="http://127.0.0.1/", placement=Placement.RECOMMENDED,
                            rank=2),
    )  # fmt: skip
    placement = ItemPlacement.from_raw({"crawl": crawl_facts(item)})
    assert placement == ItemPlacement("recommended", 2, "http://127.0.0.1/", None)
    sentence = placement.sentence()
    assert "recommended section at position 2" in sentence.en
    assert "推荐栏目" in sentence.zh and "第 2 位" in sentence.zh


def test_notice_for_a_confirmed_finding_reads_as_sentences(store, tmp_path, keypair):
    fid = seed_finding(store, "http://127.0.0.1:1", "notice1", tmp_path / "refs")
    with store.session() as s:
        row = s.get(Finding, fid)
        assert row is not None
        row.reasons = ENGINE_REASONS
        s.add(Capture(finding_id=fid, url="http://127.0.0.1:1/item/notice1",
                      status=CaptureStatus.SEALED, http_status=200, manifest_sha256="ab" * 32,
                      timestamps=[{"tsa": "http://tsa", "gen_time": "2026-12-01T10:00:00+00:00",
                                   "serial": "255"}],
                      meta={"capture_id": "20261201T100000Z-1"}))  # fmt: skip
        change_status(s, fid, FindingStatus.CONFIRMED, cause=Cause.REVIEW, actor="Jane Doe",
                      reason="same face")  # fmt: skip
    settings = EvidenceSettings(folder=tmp_path / "evidence", signing_key=keypair[0],
                                tsa_urls=("http://tsa",), operator="Jane Doe")  # fmt: skip
    fingerprint = Signer.from_file(keypair[0]).fingerprint
    for template in ("civil-code-1195", "dmca"):
        text = draft_notice(store, fid, template, settings).text
        assert not RAW.search(text), text
        for reason in ENGINE_REASONS:
            s = reason_sentence(reason)
            assert s.en in text and s.zh in text
        assert "home page at position 3" in text and "平台首页" in text
        assert fingerprint in text and "0xff" in text
        with store.session() as s:
            assert finding_facts(s, fid)["finding"]["status"] == "noticed"


def test_commercial_features_are_quoted_from_the_page():
    from evidence.pagefacts import commercial_features

    html = """<nav><a href="/">Home</a><a href="/pricing">Buy Buzz ⚡</a></nav>
    <button>Download (144 MB)</button><div role="button">在线生成</div><p>Generate art</p>"""
    found = {f.kind: f.shown_as for f in commercial_features(html)}
    assert found == {"download": "Download (144 MB)", "paid": "Buy Buzz ⚡", "generate": "在线生成"}


def test_a_model_capture_fetches_samples_and_a_small_model_file():
    from evidence.casefile import finding_media
    from evidence.models import Candidate, CandidateKind

    crawl = {"media_urls": ["http://p/s1.png", "http://p/s2.png"],
             "files": [{"url": "http://p/small.safetensors", "size_bytes": 4000},
                       {"url": "http://p/huge.safetensors", "size_bytes": 9 * 2**30},
                       {"url": "http://p/unknown.safetensors", "size_bytes": None}]}  # fmt: skip
    model = Candidate(kind=CandidateKind.MODEL, media_url="http://p/s1.png", raw={"crawl": crawl})
    assert finding_media(model, 2**20) == (
        "http://p/s1.png", "http://p/s2.png", "http://p/small.safetensors"
    )  # fmt: skip
    image = Candidate(kind=CandidateKind.IMAGE, media_url="http://p/i.png", raw={"crawl": crawl})
    assert finding_media(image, 2**20) == ("http://p/i.png",)


def test_dissemination_is_kept_across_observations():
    from datetime import timedelta

    from evidence.dissemination import MAX_OBSERVATIONS, history, observe

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    seen = observe(None, {"downloads": 10, "likes": 2}, t0)
    seen = observe(seen, {"downloads": 10, "likes": 2}, t0 + timedelta(days=1))  # unchanged
    seen = observe(seen, {"downloads": 250, "likes": 31}, t0 + timedelta(days=9))
    assert [o["counts"]["downloads"] for o in seen] == [10, 250]
    assert history({"dissemination": seen}) == seen and history(None) == []
    for day in range(MAX_OBSERVATIONS + 5):
        seen = observe(seen, {"downloads": 300 + day}, t0 + timedelta(days=10 + day))
    assert len(seen) == MAX_OBSERVATIONS and seen[0]["counts"]["downloads"] == 10


def test_redrawn_figures_and_scope_notes_have_their_own_chinese_sentences() -> None:
    redrawn = reason_sentence(
        {
            "kind": "local_features",
            "value": 41,
            "reference": "pipera-02.png",
            "sentence": "a figure covering about 30 % of the image resembles pipera-02.png drawn "
            "anew, not copied: 41 geometrically consistent ORB keypoints",
        }
    )
    assert "重新绘制而非复制" in redrawn.zh and "41" in redrawn.zh
    scope = reason_sentence(
        {"kind": "scope", "value": 0, "sentence": "only the model's showcase pictures point to X"}
    )
    assert scope.en.startswith("Only the model's showcase pictures")
    assert scope.zh.startswith("说明（非相似证据）")
