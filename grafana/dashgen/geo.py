"""The city map: offline boundary layers from grafana/geo/, sites as markers coloured by state.

Grafana serves the GeoJSON files itself from its static `public/` directory: the files of
grafana/geo/ are installed as `public/maps/netwatch/` (docs/grafana.md), and a geojson layer's
`src` is a path relative to Grafana's root URL, so the map needs no internet. The base layer
is the kecamatan boundaries; an online tile basemap (OpenStreetMap, CARTO) is optional and
only written when the generator is asked for it (`generate.py --basemap osm`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import geomap
from grafana_foundation_sdk.models.common import FrameGeometrySourceMode
from grafana_foundation_sdk.models.geomap import TooltipMode

from .common import (
    DS,
    data_link,
    named,
    query,
    state_code,
    state_mappings,
    state_thresholds,
    transform,
)

GEO_DIR = Path(__file__).resolve().parent.parent / "geo"
PUBLIC_PATH = "public/maps/netwatch"  # where Grafana serves grafana/geo/
KELURAHAN_FILE = "bandarlampung_kelurahan.geojson"
KECAMATAN_FILE = "bandarlampung_kecamatan.geojson"
CENTRE = (-5.42, 105.265)  # Kota Bandar Lampung
ZOOM = 12
BASEMAPS = ("offline", "osm", "carto")


def _style(color: str, opacity: float, line_width: int) -> dict[str, Any]:
    return {"color": {"fixed": color}, "opacity": opacity, "lineWidth": line_width,
            "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
            "size": {"fixed": 5, "min": 2, "max": 15}}


def boundaries(name: str, file: str, color: str, opacity: float,
               line_width: int) -> gc.MapLayerOptions:
    return (gc.MapLayerOptions().type("geojson").name(name).tooltip(True)
            .config({"src": f"{PUBLIC_PATH}/{file}", "rules": [],
                     "style": _style(color, opacity, line_width)}))


def basemap(kind: str) -> gc.MapLayerOptions:
    if kind == "offline":
        return boundaries("Kecamatan (offline)", KECAMATAN_FILE, "#5a5a5a", 0.08, 2)
    if kind == "osm":
        return gc.MapLayerOptions().type("osm-standard").name("OpenStreetMap (online)")
    if kind == "carto":
        return (gc.MapLayerOptions().type("carto").name("CARTO (online)")
                .config({"theme": "auto", "showLabels": True}))
    raise ValueError(f"unknown basemap {kind!r} (known: {', '.join(BASEMAPS)})")


def site_markers() -> gc.MapLayerOptions:
    return (gc.MapLayerOptions().type("markers").name("Sites").tooltip(True)
            .location(gc.FrameGeometrySource().mode(FrameGeometrySourceMode.COORDS)
                      .latitude("latitude").longitude("longitude"))
            .filter_data({"id": "byRefId", "options": "A"})
            .config({"showLegend": True, "style": {
                "color": {"field": "Value", "fixed": "dark-green"},
                "opacity": 0.9,
                "size": {"fixed": 9, "min": 4, "max": 15},
                "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                "symbolAlign": {"horizontal": "center", "vertical": "center"},
                "rotation": {"fixed": 0, "min": -360, "max": 360, "mode": "mod"},
                "textConfig": {"fontSize": 10, "offsetX": 0, "offsetY": -12,
                               "textAlign": "center", "textBaseline": "bottom"}}}))


def city_map(kind: str = "offline") -> geomap.Panel:
    """Every kelurahan: boundaries (offline) and a marker at netwatch_site_info's coordinates,
    coloured by the site's state; a click on a marker links to the site."""
    expr = named(state_code(), labels="kelurahan, latitude, longitude, isp")
    view = geomap.MapViewConfig().id("coords").zoom(ZOOM)
    view = view.lat(CENTRE[0]).lon(CENTRE[1])  # type: ignore[arg-type]  # any number works
    panel = (geomap.Panel().title("Kelurahan map").datasource(DS)
             .description("Every monitored kelurahan at its coordinates (netwatch_site_info), "
                          "coloured by netwatch_site_state; kelurahan and kecamatan boundaries "
                          "are served by Grafana from grafana/geo (no internet needed). "
                          "Click a marker for its site dashboard.")
             .with_target(query(expr, instant=True, table=True))
             .unit("none").thresholds(state_thresholds()).mappings(state_mappings())
             .view(view)
             .controls(geomap.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True)
                       .show_attribution(True).show_scale(True))
             .tooltip(geomap.TooltipOptions().mode(TooltipMode.DETAILS))
             .basemap(basemap(kind))
             .layers([boundaries("Kelurahan", KELURAHAN_FILE, "#8ab8ff", 0.12, 1),
                      site_markers()])
             .data_links([_site_link()])
             .with_transformation(_numeric_coordinates()))
    return panel


def _site_link() -> Any:
    return data_link("${__data.fields.kelurahan}: site dashboard", "site",
                     kecamatan="${__data.fields.kecamatan}", site="${__data.fields.site}")


def _numeric_coordinates() -> Any:
    """Labels are strings; the marker layer needs numbers."""
    return transform("convertFieldType", fields={}, conversions=[
        {"targetField": "latitude", "destinationType": "number"},
        {"targetField": "longitude", "destinationType": "number"}])
