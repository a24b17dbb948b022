"""Warning bulletins (预警通报): numbered, frozen documents issued from a stored warning run.

Modules
-------
``model``         what a bulletin says, computed once from data (``build_content``)
``requirements``  the specific requirements (具体要求) from each community's situation
``issue``         numbering and freezing (``issue_bulletin``)
``history``       reading, searching and export audit
``blocks``        one section/block model of the document
``html``          the printable HTML from the blocks (autoescaped Jinja2 templates in
                  ``templates/``)
``word``          the Word document from the same blocks (python-docx)
``figures``       the map and charts (matplotlib)
``work``          work done in red and yellow communities (the presentation slide)
``demo``          a year of demo bulletins

Personal data
-------------
A bulletin names communities, sub-districts, stations and community officers (officers' names
are not residents' personal data; their phones are left out). It holds no resident-level data:
reasons are aggregate sentences from the warning explanation. Every text is HTML-escaped (the
Jinja2 environment autoescapes).

The public names below are what callers import (``from fangcang import bulletins``).
"""

from .demo import demo_bulletins, named_changed
from .figures import chart_pngs, cjk_font_path, community_geometries, map_png, use_cjk_font
from .history import (
    BulletinSummary,
    bulletins_for_period,
    content,
    get_bulletin,
    record_export,
    search_bulletins,
)
from .html import embed_font, font_face_css, render_html, to_html
from .issue import ISSUER_ROLES, can_issue, doc_number, issuable_periods, issue_bulletin
from .model import (
    CONTENT_VERSION,
    LEVEL_ORDER,
    NAMED_LEVELS,
    build_content,
    bulletin_label,
    period_label,
    previous_bulletin,
)
from .requirements import Situation, requirements
from .word import column_widths, render_docx, to_docx, write

__all__ = [
    "BulletinSummary",
    "CONTENT_VERSION",
    "ISSUER_ROLES",
    "LEVEL_ORDER",
    "NAMED_LEVELS",
    "Situation",
    "build_content",
    "bulletin_label",
    "bulletins_for_period",
    "can_issue",
    "chart_pngs",
    "cjk_font_path",
    "column_widths",
    "community_geometries",
    "content",
    "demo_bulletins",
    "doc_number",
    "embed_font",
    "font_face_css",
    "get_bulletin",
    "issuable_periods",
    "issue_bulletin",
    "map_png",
    "named_changed",
    "period_label",
    "previous_bulletin",
    "record_export",
    "render_docx",
    "render_html",
    "requirements",
    "search_bulletins",
    "to_docx",
    "to_html",
    "use_cjk_font",
    "write",
]
