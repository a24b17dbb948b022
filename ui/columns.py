"""One column helper for ``st.dataframe``: a table is a list of ``Column(key, label, ...)``
(source column, i18n label key, value formatter, column_config), so a page states each column
once instead of writing the label twice (frame and ``column_config``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from .state import t

#: Shared column configurations.
COUNT = st.column_config.NumberColumn(format="localized")  # 12,345
DAY = st.column_config.DatetimeColumn(format="YYYY-MM-DD")
MINUTE = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
PERCENT = st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)


def counts_config(df: pd.DataFrame, **extra) -> dict:
    """``column_config`` giving every integer column of ``df`` thousands separators (``COUNT``),
    plus ``extra`` (column name -> config), which takes precedence."""
    config = {c: COUNT for c in df.columns if pd.api.types.is_integer_dtype(df[c])}
    config.update(extra)
    return config


@dataclass(frozen=True)
class Column:
    """One displayed column: ``key`` in the source frame, ``label`` an i18n key, ``fmt``
    applied to each value (optional), ``config`` an ``st.column_config`` entry (optional)."""

    key: str
    label: str
    fmt: Callable[[Any], Any] | None = None
    config: Any = None


def frame(source: pd.DataFrame, columns: Sequence[Column]) -> tuple[pd.DataFrame, dict]:
    """The display frame (labels in the user's language, formatted values) and its
    ``column_config``."""
    data = {t(c.label): (source[c.key].map(c.fmt) if c.fmt else source[c.key]) for c in columns}
    config = {t(c.label): c.config for c in columns if c.config is not None}
    return pd.DataFrame(data), config


def show(source: pd.DataFrame, columns: Sequence[Column], **kwargs) -> None:
    """``st.dataframe`` of ``frame(source, columns)`` (no index, full width)."""
    shown, config = frame(source, columns)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, **kwargs)
