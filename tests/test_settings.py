"""One settings tree: defaults < TOML file < environment < flags, for top-level, quality and training
settings alike, and a key that names no setting is an error that names it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shelfwise.engine import Engine
from shelfwise.settings import CONFIG_FILE_ENV, Settings

CONFIG = """
data_dir = "{data}"
[quality]
min_title_words = 3
stale_days = 12.0
[training.recommend.trending]
half_life_days = 3.0
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (
        "SHELFWISE_QUALITY__MIN_TITLE_WORDS",
        "SHELFWISE_TRAINING__RECOMMEND__TRENDING__HALF_LIFE_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "shop.toml"
    path.write_text(CONFIG.format(data=tmp_path / "from-file"), encoding="utf-8")
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    return path


def trending(settings: Settings) -> float:
    return settings.training.recommend.trending.half_life_days


def test_defaults_need_nothing_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(tmp_path / "absent.toml"))
    settings = Settings()
    assert settings.online_url == "memory://" and settings.database_url is None
    assert settings.quality.min_title_words == 2
    assert trending(settings) == 7.0
    assert settings.embedding_cache_dir == settings.data_dir / "embeddings"


def test_a_file_sets_quality_and_training_settings_and_leaves_the_rest(config_file: Path) -> None:
    settings = Settings()
    assert settings.data_dir == config_file.parent / "from-file"
    assert (settings.quality.min_title_words, settings.quality.stale_days) == (3, 12.0)
    assert trending(settings) == 3.0
    assert settings.quality.outlier_mad == 5.0, "keys the file does not name keep their defaults"


def test_the_environment_beats_the_file_key_by_key(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELFWISE_QUALITY__MIN_TITLE_WORDS", "4")
    monkeypatch.setenv("SHELFWISE_TRAINING__RECOMMEND__TRENDING__HALF_LIFE_DAYS", "2.5")
    settings = Settings()
    assert settings.quality.min_title_words == 4
    assert settings.quality.stale_days == 12.0, "the file's other quality keys still apply"
    assert trending(settings) == 2.5


def test_flags_beat_the_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFWISE_QUALITY__MIN_TITLE_WORDS", "4")
    monkeypatch.setenv("SHELFWISE_TRAINING__RECOMMEND__TRENDING__HALF_LIFE_DAYS", "2.5")
    settings = Settings.load(
        quality={"min_title_words": 5},
        training={"recommend": {"trending": {"half_life_days": 1.5}}},
        port=None,  # an unset flag changes nothing
    )
    assert settings.quality.min_title_words == 5 and trending(settings) == 1.5
    assert settings.quality.stale_days == 12.0 and settings.port == 8000


def test_an_explicit_config_file_wins_over_the_environment_variable(
    config_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[quality]\nmin_title_words = 6\n", encoding="utf-8")
    assert Settings.load(other).quality.min_title_words == 6
    assert Settings().quality.min_title_words == 3, "the explicit file applied to that load only"
    with pytest.raises(ValueError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml")


def test_a_typo_in_the_file_is_an_error_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("[quality]\nmin_title_wrds = 4\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="min_title_wrds"):
        Settings.load(path)
    path.write_text("[training.recommend.trending]\nhalf_life = 4\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="half_life"):
        Settings.load(path)


def test_a_typo_in_the_environment_is_an_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(tmp_path / "absent.toml"))
    monkeypatch.setenv("SHELFWISE_DATA_DIRR", "x")
    with pytest.raises(ValueError, match="SHELFWISE_DATA_DIRR"):
        Settings()
    monkeypatch.delenv("SHELFWISE_DATA_DIRR")
    monkeypatch.setenv("SHELFWISE_QUALITY__STALE_DAY", "3")
    with pytest.raises(ValidationError, match="stale_day"):
        Settings()


def test_the_engine_gates_with_the_quality_settings(tmp_path: Path) -> None:
    strict = Settings(data_dir=tmp_path / "strict", quality={"min_title_words": 3})
    lenient = Settings(data_dir=tmp_path / "lenient")
    rows = [{"product_id": "a", "title": "Oak table", "price": 10}]
    with Engine(strict) as engine:
        assert engine.ingest_products(rows).reasons_by_check == {"product.title_too_short": 1}
    with Engine(lenient) as engine:
        assert engine.ingest_products(rows).reasons_by_check == {}
