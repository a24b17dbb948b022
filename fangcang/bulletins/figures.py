"""Images of a bulletin, drawn on the server with matplotlib: the static map and the two charts.

A fresh machine has no CJK font, so the Noto Sans CJK font shipped by the PyPI package
``cvttf-NotoSansCJK-Regular`` (a requirement) is registered with matplotlib before anything is
drawn (``use_cjk_font``); without it Chinese would come out as empty boxes. Text inside the
.docx is text (the reader's Word renders it).

Everything here draws from a bulletin's frozen content, never from live data, except
``community_geometries`` which the issuer calls once, at issue time, to draw the map that is
then stored with the bulletin.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from importlib import resources
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import font_manager, patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from shapely import unary_union
from sqlalchemy.orm import Session

from ..geo import communities_frame
from ..i18n import fmt_int, fmt_pct, t
from ..palette import LAST_YEAR, LEVEL_COLOURS, NO_DATA, SERIOUS_FIRST, THIS_YEAR

log = logging.getLogger(__name__)

FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
FONT_FILE = "NotoSansCJKtc-Regular.otf"
DPI = 150  # sharp enough for print at the sizes used in the .docx (16 cm wide)


# ---------------------------------------------------------------------------------------------
# Fonts and images
# ---------------------------------------------------------------------------------------------
def cjk_font_path() -> Path:
    """Path of the bundled CJK font (raises ``FileNotFoundError`` naming the package)."""
    try:
        path = Path(str(resources.files(FONT_PACKAGE) / FONT_FILE))
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            f"the CJK font package is missing: pip install cvttf-NotoSansCJK-Regular ({exc})"
        ) from exc
    if not path.is_file():
        raise FileNotFoundError(f"CJK font not found at {path}")
    return path


@cache
def use_cjk_font() -> str:
    """Register the CJK font with matplotlib (once) and make it the default; return its name."""
    matplotlib.use("Agg")
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font has no U+2212 glyph
    return name


def _figure(width: float, height: float):
    """A figure and its axes without pyplot (no global state, nothing to close; faster)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def community_geometries(session: Session) -> dict:
    """Community polygons and sub-district outlines (shapely) for the static map, from the one
    geometry loader (``geo.communities_frame``; unreadable polygons are logged there and left
    off the map)."""
    frame = communities_frame(session)
    frame = frame[frame.geometry.notna() & frame["sub_district"].notna()]
    communities = {
        r.community_id: {"name": r.name, "shape": r.geometry} for r in frame.itertuples(index=False)
    }
    sub_districts = {
        sd: unary_union(list(group.geometry)) for sd, group in frame.groupby("sub_district")
    }
    return {"communities": communities, "sub_districts": sub_districts}


def _polygons(shape):
    if shape.geom_type == "Polygon":
        return [shape]
    return [g for g in getattr(shape, "geoms", []) if g.geom_type == "Polygon"]


def map_png(geo: dict, levels: dict[str, str]) -> bytes | None:
    """The district's communities coloured by warning level, sub-districts outlined and
    named, red communities numbered with a key (names would overlap in the dense east).
    None when there are no polygons."""
    if not geo["communities"]:
        return None
    use_cjk_font()
    bounds = unary_union([c["shape"] for c in geo["communities"].values()]).bounds
    x0, y0, x1, y1 = bounds
    aspect = 1 / 0.88  # ~1/cos(28 deg): keeps Wenzhou's shapes undistorted
    width = 8.0
    height = max(3.0, min(8.0, width * (y1 - y0) * aspect / max(x1 - x0, 1e-9) + 0.6))
    fig, ax = _figure(width, height)
    # One collection for all polygons: far faster to draw than a patch per community.
    verts, colours = [], []
    for cid, c in geo["communities"].items():
        colour = LEVEL_COLOURS.get(levels.get(cid, ""), NO_DATA)
        for poly in _polygons(c["shape"]):
            verts.append(np.asarray(poly.exterior.coords)[:, :2])
            colours.append(colour)
    ax.add_collection(
        PolyCollection(verts, facecolors=colours, edgecolors="white", linewidths=0.4, alpha=0.9)
    )
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    outlines = [
        np.asarray(poly.exterior.coords)[:, :2]
        for shape in geo["sub_districts"].values()
        for poly in _polygons(shape)
    ]
    ax.add_collection(
        PolyCollection(outlines, facecolors="none", edgecolors="#1d2733", linewidths=0.9)
    )
    for sd, shape in geo["sub_districts"].items():
        p = shape.representative_point()
        ax.text(
            p.x,
            p.y,
            sd,
            fontsize=6.5,
            color="#1d2733",
            ha="center",
            va="center",
            path_effects=halo,
            zorder=3,
            alpha=0.85,
        )
    red = sorted(
        (cid for cid in geo["communities"] if levels.get(cid) == "red"),
        key=lambda cid: (-geo["communities"][cid]["shape"].representative_point().y, cid),
    )
    key_lines = []
    for i, cid in enumerate(red, start=1):
        c = geo["communities"][cid]
        p = c["shape"].representative_point()
        ax.plot(
            p.x,
            p.y,
            "o",
            markersize=9,
            color="#7a0010",
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=5,
        )
        ax.text(p.x, p.y, str(i), fontsize=6, color="white", ha="center", va="center", zorder=6)
        key_lines.append(f"{i}  {c['name']}")
    ax.set_xlim(x0 - (x1 - x0) * 0.02, x1 + (x1 - x0) * 0.02)
    ax.set_ylim(y0 - (y1 - y0) * 0.04, y1 + (y1 - y0) * 0.04)
    ax.set_aspect(aspect)
    ax.set_axis_off()
    counts = {lv: sum(1 for v in levels.values() if v == lv) for lv in SERIOUS_FIRST}
    handles = [
        Patch(facecolor=LEVEL_COLOURS[lv], label=f"{t(f'bulletin.level.{lv}')} {counts[lv]}")
        for lv in SERIOUS_FIRST
    ]
    legend = ax.legend(
        handles=handles,
        loc="lower left",
        fontsize=8,
        frameon=True,
        title="预警等级",
        title_fontsize=8,
    )
    ax.add_artist(legend)
    if key_lines:
        ax.text(
            0.99,
            0.99,
            "红色预警社区\n" + "\n".join(key_lines),
            transform=ax.transAxes,
            ha="right",
            va="top",
            multialignment="left",
            fontsize=7.5,
            color="#1d2733",
            linespacing=1.5,
            zorder=7,
            bbox={"boxstyle": "round,pad=0.5", "fc": "white", "ec": "#9aa5b1", "lw": 0.6},
        )
    return _png(fig)


def chart_pngs(content: dict) -> dict[str, bytes]:
    """The bulletin's two charts from its frozen content: ``yoy`` (year-to-date change of the
    headline figures) and ``trend`` (criminal and public-order incidents by month)."""
    use_cjk_font()
    out = {}
    rows = content["summary"]["headline"]
    fig, ax = _figure(7.0, 2.9)
    labels = [r["label"] for r in rows][::-1]
    pcts = [r["ytd_pct"] for r in rows][::-1]
    vals = [p if p is not None else 0.0 for p in pcts]
    colours = ["#2e9e44" if v < 0 else "#d7263d" for v in vals]
    bars = ax.barh(labels, vals, color=colours, height=0.55)
    span = max([abs(v) for v in vals] + [1.0])
    for bar, p, r in zip(bars, pcts, rows[::-1], strict=True):
        text = fmt_pct(p) if p is not None else t("effect.zero_last_year")
        text += f"（{fmt_int(r['ytd_now'])} / {fmt_int(r['ytd_ly'])}）"
        v = bar.get_width()
        ax.text(
            v + (span * 0.03 if v >= 0 else -span * 0.03),
            bar.get_y() + bar.get_height() / 2,
            text,
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=8,
        )
    ax.axvline(0, color="#5b6470", linewidth=0.8)
    ax.set_xlim(-span * 1.9, span * 1.9)
    ax.set_xlabel("同比变化（%）  括号内：本年累计 / 去年同期", fontsize=8)
    ax.set_title(t("bulletin.chart.yoy") + f"（{content['period_label']}）", fontsize=10)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    out["yoy"] = _png(fig)

    trend = content["trend"]
    fig, ax = _figure(7.0, 2.7)
    xs = [m["month"][2:] for m in trend]
    ax.plot(
        xs,
        [m["crime_ly"] for m in trend],
        color=LAST_YEAR,
        marker="o",
        markersize=3,
        linewidth=1.4,
        label=t("bulletin.chart.last_year"),
    )
    ax.plot(
        xs,
        [m["crime"] for m in trend],
        color=THIS_YEAR,
        marker="o",
        markersize=3,
        linewidth=2.0,
        label=t("bulletin.chart.this_year"),
    )
    ax.set_title(t("bulletin.chart.trend"), fontsize=10)
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.grid(axis="y", color="#e3e6ea", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    out["trend"] = _png(fig)
    return out
