"""Alias matching: folding, CJK, separators, misspellings, romanisations, allowlist."""

from __future__ import annotations

import pytest

from matching import CandidateEvidence, CharacterProfile, Decision, Engine, fold
from matching.text import AliasMatcher, MatchVariant, TextField

ALIASES = {
    "Ultraman": {"zh": ["奥特曼"], "zh-Latn-pinyin": ["aoteman"], "ja": ["ウルトラマン"],
                 "ja-Latn-hepburn": ["Urutoraman"]},
    "Hero": {"en": ["Hero"]},
}  # fmt: skip


@pytest.fixture(scope="module")
def matcher() -> AliasMatcher:
    return AliasMatcher(ALIASES)


def _find(matcher: AliasMatcher, text: str, field: TextField = TextField.TITLE) -> dict[str, str]:
    return {h.character: h.variant.value for h in matcher.find(text, field)}


def test_fold_handles_width_case_and_diacritics() -> None:
    assert fold("ＵＬＴＲＡＭＡＮ") == "ultraman"
    assert fold("Urutōraman") == "urutoraman"
    assert fold("ｳﾙﾄﾗﾏﾝ") == "ウルトラマン"
    assert fold("UltraMan2") == "ultra man 2"


@pytest.mark.parametrize("text", ["ultra-man fan art", "ULTRA_MAN", "ultra man", "Ultra.Man"])
def test_separator_variants_match(matcher: AliasMatcher, text: str) -> None:
    assert _find(matcher, text) == {"Ultraman": MatchVariant.SEPARATOR.value}


def test_full_width_title_matches_exactly(matcher: AliasMatcher) -> None:
    assert _find(matcher, "ＵＬＴＲＡＭＡＮ") == {"Ultraman": MatchVariant.EXACT.value}


def test_cjk_matches_without_word_boundaries(matcher: AliasMatcher) -> None:
    assert _find(matcher, "我画的奥特曼同人图") == {"Ultraman": MatchVariant.SUBSTRING.value}
    assert _find(matcher, "ｳﾙﾄﾗﾏﾝのイラスト") == {"Ultraman": MatchVariant.SUBSTRING.value}
    assert _find(matcher, "奥 特 曼") == {"Ultraman": MatchVariant.EXACT.value}


def test_latin_needs_word_boundaries(matcher: AliasMatcher) -> None:
    assert _find(matcher, "superheroes everywhere") == {}
    assert _find(matcher, "a hero rises") == {"Hero": MatchVariant.SUBSTRING.value}
    assert _find(matcher, "multramanx") == {}


def test_one_letter_misspelling_only_for_long_aliases(matcher: AliasMatcher) -> None:
    assert _find(matcher, "ultramam lora") == {"Ultraman": MatchVariant.MISSPELLING.value}
    assert _find(matcher, "urutoramen") == {"Ultraman": MatchVariant.MISSPELLING.value}
    assert _find(matcher, "hera") == {}  # "hero" is too short for fuzzy matching


def test_romanisation_reason_names_the_language(matcher: AliasMatcher) -> None:
    (hit,) = matcher.find("aoteman", TextField.TAG)
    assert hit.sentence == "tag 'aoteman' is the pinyin alias of Ultraman"
    (hit,) = matcher.find("Urutoraman", TextField.TRIGGER_WORD)
    assert hit.sentence == "trigger word 'urutoraman' is the Hepburn alias of Ultraman"


def test_text_only_verdicts_and_allowlist() -> None:
    profiles = [
        CharacterProfile(
            "Ultraman", ALIASES["Ultraman"], allowlisted_creators=("@TsuburayaOfficial",)
        ),
        CharacterProfile("Hero"),
    ]
    engine = Engine(profiles, [])
    one_field = engine.judge(CandidateEvidence(title="ultraman pose study"))
    assert [(v.character, v.decision) for v in one_field] == [("Ultraman", Decision.REVIEW)]
    two_fields = engine.judge(
        CandidateEvidence(title="ultraman pose study", tags=("aoteman", "aoteman"))
    )
    assert two_fields[0].decision is Decision.FLAG
    assert any("pinyin alias" in r.sentence for r in two_fields[0].reasons)
    licensed = engine.judge(
        CandidateEvidence(title="ultraman", tags=("aoteman",), creator="tsuburayaofficial")
    )
    assert licensed[0].decision is Decision.IGNORE
    assert "allowlist" in licensed[0].reasons[-1].sentence
    assert engine.judge(CandidateEvidence(title="a landscape at dusk")) == []
    assert all("infring" not in r.sentence for r in two_fields[0].reasons)


def test_aliases_written_with_digits_for_letters_match() -> None:
    matcher = AliasMatcher({"Tidebell": {"en": ["Tide Bell"]}, "Kobaltron": {}})
    (hit,) = matcher.find("T1d3b3ll_v1", TextField.TITLE)
    assert (hit.character, hit.variant) == ("Tidebell", MatchVariant.LEETSPEAK)
    assert hit.sentence == (
        "title contains 't1d3b3ll', the English alias 'Tidebell' of Tidebell written with "
        "digits for letters"
    )
    assert [h.character for h in matcher.find("K0baltr0n style", TextField.TAG)] == ["Kobaltron"]
    for innocent in ("2024 art", "v1.5 lora", "sdxl 1.0", "4k 8bit"):
        assert matcher.find(innocent, TextField.TITLE) == []
