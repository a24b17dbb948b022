"""Intranet-first maps: serve Leaflet and its plugins from ``./static`` instead of CDNs.

Police intranets have no internet. folium's defaults load Leaflet, jQuery, Bootstrap and plugins
from CDNs, and streamlit-folium aborts the whole map when one script fails, so every asset the
maps use is copied from installed packages (``xstatic-leaflet``, ``xstatic-leaflet-markercluster``
and folium's own ``leaflet_heat.min.js``) into ``config.get_settings().static_dir`` (served by
Streamlit at ``/app/static/`` with ``enableStaticServing``), and folium is pointed at them.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from .config import get_settings

#: URL prefix under which Streamlit serves ``static_dir`` (``[server] enableStaticServing``).
STATIC_URL = "/app/static"
#: Sub-folder of the static folder that holds the map assets.
SUBDIR = "leaflet"

_IMAGEPATH_JS = "fangcang-imagepath.js"


def _sources() -> dict[str, Path]:
    """Target name -> installed source file."""
    import folium
    import xstatic.pkg.leaflet as xleaflet
    import xstatic.pkg.leaflet_markercluster as xcluster

    leaflet = Path(xleaflet.BASE_DIR)
    cluster = Path(xcluster.BASE_DIR)
    files = {
        "leaflet.js": leaflet / "leaflet.js",
        "leaflet.css": leaflet / "leaflet.css",
        "leaflet.markercluster.js": cluster / "leaflet.markercluster.js",
        "MarkerCluster.css": cluster / "MarkerCluster.css",
        "MarkerCluster.Default.css": cluster / "MarkerCluster.Default.css",
        "leaflet_heat.min.js": Path(folium.__file__).parent / "templates" / "leaflet_heat.min.js",
    }
    for image in sorted((leaflet / "images").glob("*.png")):
        files[f"images/{image.name}"] = image
    return files


def asset_url(name: str) -> str:
    """The URL the browser loads the asset ``name`` from (e.g. ``leaflet.js``)."""
    return f"{STATIC_URL}/{SUBDIR}/{name}"


def install_assets(static_dir: Path | None = None) -> Path:
    """Copy the map assets into ``static_dir/leaflet`` (default: the configured static folder).

    Idempotent and cheap when the files are already there and identical.

    Returns
    -------
    Path
        The folder the assets are in.
    """
    target = Path(static_dir or get_settings().static_dir) / SUBDIR
    (target / "images").mkdir(parents=True, exist_ok=True)
    for name, src in _sources().items():
        if not src.is_file():
            raise FileNotFoundError(f"map asset {name} is missing from its package: {src}")
        dest = target / name
        if not dest.exists() or not filecmp.cmp(src, dest, shallow=False):
            shutil.copyfile(src, dest)
    # Leaflet 1.9 guesses its image folder from the CSS link and gets it wrong under
    # /app/static; set it explicitly in a script loaded right after leaflet.js.
    imagepath = target / _IMAGEPATH_JS
    script = f'L.Icon.Default.imagePath = "{asset_url("images/")}";\n'
    if not imagepath.exists() or imagepath.read_text() != script:
        imagepath.write_text(script)
    return target


def use_local_assets() -> None:
    """Point folium (map and the plugins the dashboard uses) at the local assets.

    jQuery, Bootstrap, glyphicons and awesome-markers are dropped: the maps use none of them.
    """
    import folium
    from folium import plugins

    folium.Map.default_js = [
        ("leaflet", asset_url("leaflet.js")),
        ("fangcang_imagepath", asset_url(_IMAGEPATH_JS)),
    ]
    folium.Map.default_css = [("leaflet_css", asset_url("leaflet.css"))]
    cluster_js = [("markerclusterjs", asset_url("leaflet.markercluster.js"))]
    cluster_css = [
        ("markerclustercss", asset_url("MarkerCluster.css")),
        ("markerclusterdefaultcss", asset_url("MarkerCluster.Default.css")),
    ]
    for cls in (plugins.MarkerCluster, plugins.FastMarkerCluster):
        cls.default_js = list(cluster_js)
        cls.default_css = list(cluster_css)
    plugins.HeatMap.default_js = [("leaflet-heat.js", asset_url("leaflet_heat.min.js"))]
    plugins.HeatMap.default_css = []
