"""Thousands separators for counts in st.dataframe (charts: ``ui.charts.counts_axis``; text:
``fangcang.i18n.fmt_int``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

#: A count column: 12,345 (the browser's locale separators; both zh-CN and en use ",").
COUNT = st.column_config.NumberColumn(format="localized")


def counts_config(df: pd.DataFrame, **extra) -> dict:
    """column_config giving every integer column of ``df`` thousands separators, plus ``extra``
    (column name -> config) which takes precedence."""
    config = {c: COUNT for c in df.columns if pd.api.types.is_integer_dtype(df[c])}
    config.update(extra)
    return config
