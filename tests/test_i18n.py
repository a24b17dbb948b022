"""Every catalogue: both languages present and non-empty, no key defined twice, the same
placeholders in both languages, and every literal key the code asks for exists."""

from __future__ import annotations

import importlib
import re
import string
from pathlib import Path

import pytest

from fangcang import i18n

ROOT = Path(__file__).resolve().parent.parent


def _modules():
    return [
        (name, importlib.import_module(f"fangcang.i18n.{name}").STRINGS) for name in i18n._MODULES
    ]


def _fields(text: str) -> set[str]:
    text = i18n.PLURAL.sub(lambda m: "{" + m[1] + "}", text)  # {rows|row|rows} names rows
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_entry_has_both_languages():
    for name, strings in _modules():
        for key, pair in strings.items():
            assert isinstance(pair, tuple) and len(pair) == 2, (
                f"{name}: {key} is not a (zh, en) pair"
            )
            zh, en = pair
            assert isinstance(zh, str) and zh.strip(), f"{name}: {key} has no Chinese text"
            assert isinstance(en, str) and en.strip(), f"{name}: {key} has no English text"


def test_no_key_defined_twice():
    seen: dict[str, str] = {}
    for name, strings in _modules():
        for key in strings:
            assert key not in seen, f"{key} defined in {seen[key]} and {name}"
            seen[key] = name
    i18n.catalogue.cache_clear()
    assert len(i18n.catalogue()) == len(seen)


def test_no_duplicate_keys_inside_a_module_source():
    # a dict literal silently keeps the last of two equal keys: read the sources
    for name in i18n._MODULES:
        src = (ROOT / "fangcang" / "i18n" / f"{name}.py").read_text(encoding="utf-8")
        keys = re.findall(r'^\s*"([a-z0-9_.]+)":\s*\(', src, re.M)
        dupes = {k for k in keys if keys.count(k) > 1}
        assert not dupes, f"{name}: {sorted(dupes)} written twice"


def test_same_placeholders_in_both_languages():
    for key, (zh, en) in i18n.catalogue().items():
        assert _fields(zh) == _fields(en), f"{key}: {_fields(zh)} vs {_fields(en)}"


def test_literal_keys_used_by_the_dashboard_exist():
    # Every module that can put a label on a screen: the whole core, the UI glue and the pages
    # (a file list here went stale when modules became packages).
    files = sorted((ROOT / "fangcang").rglob("*.py"))
    files += sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "ui").glob("*.py"))
    files.append(ROOT / "app.py")
    cat = i18n.catalogue()
    missing = []
    for path in files:
        for key in re.findall(r'\bt\(\s*"([a-z0-9_.]+)"\s*[,)]', path.read_text(encoding="utf-8")):
            if key not in cat:
                missing.append(f"{path.name}: {key}")
    assert not missing, missing


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_enum_labels_exist(lang):
    from fangcang.models import FactorKind, IncidentCategory, ResidenceType, WarningLevel

    for enum in (FactorKind, IncidentCategory, ResidenceType, WarningLevel):
        for member in enum:
            assert i18n.enum_label(member, lang)


def test_counts_take_the_right_english_noun():
    plural = i18n.plural
    assert plural(1, "row") == "1 row" and plural(0, "row") == "0 rows"
    assert plural(2000, "entry", "entries") == "2,000 entries"
    assert i18n.t("datahub.report_ok", "en", rows="1") == "Check passed: 1 row ready to import."
    assert i18n.t("datahub.report_ok", "en", rows="1,200").startswith("Check passed: 1,200 rows ")
    assert i18n.t("datahub.report_errors", "en", n="1", rows="1").startswith("1 error in 1 row.")
    assert i18n.t("datahub.report_errors", "en", n="3", rows="2").startswith("3 errors in 2 rows.")
    assert i18n.t("datahub.report_ok", "zh", rows="1") == "校验通过：1 行数据，可以导入。"


def test_no_label_counts_with_a_fixed_plural_for_rows_or_errors():
    """'1 rows': a count of rows or errors in English goes through {n|one|many}."""
    bad = [
        k
        for k, (_, en) in i18n.catalogue().items()
        if re.search(r"\{(\w+)(:[^}]*)?\} (rows|errors)\b", en)
    ]
    assert bad == []


def test_every_multiselect_names_its_empty_state_in_the_users_language():
    """Streamlit's own placeholder of an empty multi-choice box is English ("Choose options"):
    every multiselect in ui/ and pages/ passes ``placeholder=`` (a catalogue text)."""
    import ast

    missing = []
    for path in sorted([*ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "multiselect"
                and not any(k.arg == "placeholder" for k in node.keywords)
            ):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert missing == []
