"""The printable HTML of a bulletin, rendered from its blocks (``blocks.document``) through an
autoescaped Jinja2 template shipped in this package (``templates/bulletin.html.j2``).

The HTML is self-contained: images are embedded as data URLs and nothing is linked from the
network. It is stored with the bulletin when issued; ``to_html`` adds a subset of the CJK font
(``embed_font``) so it prints correctly on a machine without Chinese fonts.
"""

from __future__ import annotations

import base64
import io
import re

from fontTools import subset
from fontTools.ttLib import TTFont
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..models import Bulletin
from ..palette import LEVEL_COLOURS, NO_DATA
from . import blocks
from .figures import cjk_font_path

_ENV = Environment(
    loader=PackageLoader("fangcang.bulletins", "templates"),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _data_url(png: bytes | None) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode() if png else ""


def render_html(content: dict, map_png: bytes | None, charts: dict[str, bytes]) -> str:
    """The printable HTML of a bulletin (self-contained: images embedded, no external links).

    Parameters
    ----------
    content : dict
        The frozen content (``content.build_content`` plus number fields).
    map_png : bytes or None
        The stored map image.
    charts : dict
        ``yoy`` and ``trend`` PNGs (``figures.chart_pngs``).
    """
    doc = blocks.document(content, has_map=bool(map_png))
    images = {k: _data_url(v) for k, v in {**charts, "map": map_png}.items()}
    return _ENV.get_template("bulletin.html.j2").render(
        doc=doc,
        images=images,
        colours=LEVEL_COLOURS,
        no_data=NO_DATA,
    )


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule embedding the bundled CJK font, cut down to the characters of
    ``text`` (a few hundred glyphs, ~150 KB), so the HTML renders its Chinese on any machine,
    including one without CJK fonts. Noto Sans CJK is under the SIL Open Font License, which
    allows embedding it in documents."""
    options = subset.Options()
    options.flavor = "woff"
    options.notdef_outline = True
    font = TTFont(str(cjk_font_path()), lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text))))
    subsetter.subset(font)
    font.flavor = "woff"
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode()
    return (
        "@font-face { font-family: 'FangcangCJK'; "
        f"src: url(data:font/woff;base64,{data}) format('woff'); }}"
    )


def embed_font(page: str) -> str:
    """The HTML with the CJK font embedded (see ``font_face_css``); the content is unchanged."""
    visible = re.sub(r"data:[^\"')]+", "", page)  # characters of the text, not of the images
    return page.replace("</head>", f"<style>{font_face_css(visible)}</style></head>", 1)


def to_html(bulletin: Bulletin, embed: bool = True) -> str:
    """The printable HTML stored when the bulletin was issued; with ``embed`` (default) the
    CJK font is embedded so it prints correctly on any machine."""
    return embed_font(bulletin.html) if embed else bulletin.html
