"""watch.toml: the example loads, and every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.kinds import PlatformKind
from rightswatch.commands.init import example_config
from rightswatch.config import load_config
from rightswatch.errors import ConfigError

MINIMAL = """
[client]
name = "Acme"

[[characters]]
name = "Hero"
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "watch.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_example_config_loads(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, example_config()))
    assert config.client.name == "Example Rights Co."
    assert config.characters[0].aliases["zh"] == ["英雄", "yingxiong"]
    assert [p.kind for p in config.platforms] == [PlatformKind.CIVITAI, PlatformKind.HUGGINGFACE]
    assert config.platforms[0].url == "https://civitai.com"
    assert {s.job for s in config.schedules} == {"monitor", "recheck"}
    assert config.resolve(config.characters[0].references[0]) == tmp_path / "references/hero"


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.thresholds.flag == 0.8
    assert config.platforms == []
    assert config.characters[0].all_aliases() == ["Hero"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (MINIMAL + "\n[thresholds]\nflagg = 0.9\n", "thresholds.flagg: unknown key"),
        (MINIMAL.replace('name = "Acme"', 'nam = "Acme"'), "client.nam: unknown key"),
        (MINIMAL + "\n[thresholds]\nflag = 1.5\n", "thresholds.flag: Input should be less"),
        (MINIMAL + "\n[thresholds]\nflag = 0.4\nreview = 0.6\n", "review (0.6) must not exceed"),
        (
            MINIMAL + '\n[[platforms]]\nname = "x"\nkind = "myspace"\n',
            "platforms[0].kind: Input should be",
        ),
        (
            MINIMAL + '\n[[schedules]]\nname = "n"\ncron = "0 3 * *"\n',
            "must have five fields",
        ),
        (MINIMAL + '\n[[characters]]\nname = "Hero"\n', "characters: duplicate name 'Hero'"),
        ('[client]\nname = "Acme"\n', "characters: required key is missing"),
        ("[client\n", "not valid TOML"),
        (MINIMAL + "\nroot = '/'\n", "root: unknown key"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file.*rightswatch init"):
        load_config(tmp_path / "absent.toml")


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL))
    with pytest.raises(ValueError, match="frozen"):
        config.client.name = "other"  # type: ignore[misc]
