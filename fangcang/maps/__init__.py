"""The one map (一图): community polygons coloured by level, score, an indicator, task
completion, visit coverage or emerging hot-spot category, with sub-district boundaries and
toggleable layers.

Two steps so each can be tested on its own:

- ``map_data(session, scope, period, ...)`` gathers plain DataFrames from the database;
- ``build_map(data, ...)`` turns them into a ``folium.Map`` (no database access).

``map_view`` does both and is what the map page calls. Community geometry comes from the one
loader, ``fangcang.geo.communities_frame`` (a GeoDataFrame), simplified here for display.

What the polygons can be coloured by is a registry of small pieces (``COLOUR_MODES``): each
``ColourMode`` says where its value comes from, how a value reads and how values become fills
and a legend. Adding a mode is adding one ``register_colour_mode(ColourMode(...))`` (and
its ``map.colour_by.<key>`` label in ``fangcang.i18n``). Colours are computed in Python from
``fangcang.palette`` and the legend is plain HTML/CSS: a branca colormap would make
streamlit-folium load d3 from the internet. Leaflet is served locally (``fangcang.offline``);
tiles come from ``FANGCANG_TILE_URL`` (none by default: a plain background).

Modules: ``data`` (frames from the database), ``colours`` (the colour-mode registry),
``render`` (the ``folium.Map``), ``areas`` (the city view: sub-districts aggregated inside
their districts, for an area that spans several districts: ``fangcang.divisions``). This package re-exports their public names.
"""

from __future__ import annotations

from .. import palette
from ..divisions import spans_districts
from .areas import (
    AREA_LEVELS,
    AreaData,
    AreaView,
    area_data,
    area_view,
    build_area_map,
    share_fills,
)
from .colours import (
    COLOUR_MODES,
    ColourMode,
    colour_mode,
    colour_values,
    hotspot_values,
    register_colour_mode,
)
from .data import (
    HEAT_GRID_DEG,
    INCIDENT_MODES,
    LAYERS,
    PRECISION_DEG,
    SIMPLIFY_DEG,
    MapData,
    community_shapes,
    heat_cells,
    incident_points,
    map_data,
    station_points,
    sub_district_shapes,
)
from .render import (
    LABEL_ZOOM,
    MapView,
    build_map,
    heat_gradient,
    map_html,
    map_view,
    view_of,
)

__all__ = [
    "AREA_LEVELS",
    "AreaData",
    "AreaView",
    "area_data",
    "area_view",
    "build_area_map",
    "share_fills",
    "spans_districts",
    "COLOUR_MODES",
    "HEAT_GRID_DEG",
    "INCIDENT_MODES",
    "LABEL_ZOOM",
    "LAYERS",
    "PRECISION_DEG",
    "SIMPLIFY_DEG",
    "ColourMode",
    "MapData",
    "MapView",
    "build_map",
    "colour_mode",
    "colour_values",
    "community_shapes",
    "heat_cells",
    "heat_gradient",
    "hotspot_values",
    "incident_points",
    "map_data",
    "map_html",
    "map_view",
    "palette",
    "register_colour_mode",
    "station_points",
    "sub_district_shapes",
    "view_of",
]


def __getattr__(name: str):
    # COLOUR_BY: the registered modes' keys (computed, so a mode registered later is in it).
    if name == "COLOUR_BY":
        return tuple(COLOUR_MODES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
