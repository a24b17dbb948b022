"""fangcang.config: every whole-number variable names itself when its value is bad; the log level."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fangcang import config

SOURCE = Path(config.__file__).read_text(encoding="utf-8")
INT_VARIABLES = re.findall(r'_int\(\s*"(FANGCANG_[A-Z_]+)"', SOURCE)


def _read_all() -> None:
    config.get_settings()
    config.get_import_limits()


def test_every_number_goes_through_the_checked_reader():
    # Whole numbers are read in one place (_int); no bare int()/float() of a variable elsewhere.
    assert len(INT_VARIABLES) >= 20
    body = SOURCE.split("def _int(", 1)[1].split("\ndef ", 1)[1]  # everything after _int
    assert not re.search(r"\b(int|float)\(\s*_env", SOURCE)
    assert not re.search(r"\b(int|float)\(", body)


@pytest.mark.parametrize("name", INT_VARIABLES)
@pytest.mark.parametrize("bad", ["12x", "1.5", " "])
def test_a_bad_whole_number_names_its_variable(monkeypatch, name, bad):
    monkeypatch.setenv(name, bad)
    if not bad.strip():  # blank means "use the default"
        _read_all()
        return
    with pytest.raises(
        ValueError, match=rf"^{name} must be a whole number, got '{re.escape(bad)}'"
    ):
        _read_all()


@pytest.mark.parametrize("name", INT_VARIABLES)
def test_a_number_below_its_minimum_names_its_variable(monkeypatch, name):
    monkeypatch.setenv(name, "-1")
    with pytest.raises(ValueError, match=rf"^{name} must be at least \d+, got -1"):
        _read_all()


def test_good_numbers_are_read(monkeypatch):
    monkeypatch.setenv("FANGCANG_LOCKOUT_ATTEMPTS", " 7 ")
    monkeypatch.setenv("FANGCANG_IMPORT_MAX_ROWS", "1000")
    assert config.get_settings().lockout_attempts == 7
    assert config.get_import_limits().max_rows == 1000


def test_log_level(monkeypatch):
    monkeypatch.delenv("FANGCANG_LOG_LEVEL", raising=False)
    assert config.log_level() == "INFO"
    monkeypatch.setenv("FANGCANG_LOG_LEVEL", "debug")
    assert config.log_level() == "DEBUG"
    monkeypatch.setenv("FANGCANG_LOG_LEVEL", "verbose")
    with pytest.raises(
        ValueError, match="^FANGCANG_LOG_LEVEL must be one of DEBUG, INFO.*'verbose'"
    ):
        config.log_level()


def test_demo_scale(monkeypatch):
    from fangcang.demo.story import SCALES

    assert set(config.DEMO_SCALES) == set(SCALES)
    monkeypatch.delenv("FANGCANG_DEMO_SCALE", raising=False)
    assert config.demo_scale() == "full"
    monkeypatch.setenv("FANGCANG_DEMO_SCALE", " Small ")
    assert config.demo_scale() == "small"
    monkeypatch.setenv("FANGCANG_DEMO_SCALE", "tiny")
    with pytest.raises(ValueError, match="^FANGCANG_DEMO_SCALE must be one of small, medium, full"):
        config.demo_scale()
