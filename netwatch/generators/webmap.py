"""The NOC page's map: kelurahan and kecamatan boundaries as SVG paths, shipped in the package.

Read from the offline GeoJSON (grafana/geo/, from cahyadsn/wilayah_boundaries, MIT; see
docs/data-sources.md), projected (equirectangular, x scaled by cos(latitude): at 5° south the
distortion is under 0.4 %), simplified (Douglas-Peucker, 0.6 units of a 1000-unit width:
below a pixel on the wall) and written as compact relative path data. The daemon inlines
it into the page: no tile server, no request leaving the daemon.

    python -m netwatch.generators.webmap render     # rewrite netwatch/web/static/map.json
    python -m netwatch.generators.webmap check      # exit 1 when it is stale
    python -m netwatch.generators.webmap render --kelurahan K.geojson --kecamatan C.geojson \\
        --out map.json                              # another city's boundaries
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[2]
KELURAHAN = CHECKOUT / "grafana" / "geo" / "bandarlampung_kelurahan.geojson"
KECAMATAN = CHECKOUT / "grafana" / "geo" / "bandarlampung_kecamatan.geojson"
MAP_FILE = CHECKOUT / "netwatch" / "web" / "static" / "map.json"
WIDTH = 1000.0
TOLERANCE = 0.6
Point = tuple[float, float]


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def _simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative (rings of thousands of points need no recursion)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy) or 1e-12
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            x, y = points[i]
            distance = abs(dy * (x - x1) - dx * (y - y1)) / norm if (dx or dy) else \
                math.hypot(x - x1, y - y1)
            if distance > worst:
                worst, index = distance, i
        if worst > tolerance and index > 0:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _path(rings: list[list[Point]]) -> str:
    """Relative SVG path data, one decimal: `M x y l dx dy ... z` per ring."""
    parts = []
    for ring in rings:
        pts = [(round(x, 1), round(y, 1)) for x, y in ring]
        if len(pts) < 3:
            continue
        out = [f"M{pts[0][0]:g} {pts[0][1]:g}l"]
        for (x0, y0), (x, y) in pairwise(pts):
            ddx, ddy = round(x - x0, 1), round(y - y0, 1)
            if ddx or ddy:
                out.append(f"{ddx:g} {ddy:g}")
        parts.append(" ".join(out).replace(" -", "-") + "z")
    return "".join(parts)


def build(kelurahan: dict[str, Any], kecamatan: dict[str, Any]) -> dict[str, Any]:
    every = [pt for f in kelurahan["features"] for ring in _rings(f["geometry"]) for pt in ring]
    lons, lats = [p[0] for p in every], [p[1] for p in every]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    squeeze = math.cos(math.radians((north + south) / 2))
    scale = WIDTH / ((east - west) * squeeze)
    height = round((north - south) * scale, 1)

    def project(ring: list[list[float]]) -> list[Point]:
        return [((lon - west) * squeeze * scale, (north - lat) * scale) for lon, lat, *_ in ring]

    def shape(feature: dict[str, Any]) -> tuple[str, list[float]]:
        rings = [_simplify(project(r), TOLERANCE) for r in _rings(feature["geometry"])]
        flat = [p for r in rings for p in r]
        centre = [round(sum(p[0] for p in flat) / len(flat), 1),
                  round(sum(p[1] for p in flat) / len(flat), 1)]
        return _path(rings), centre

    out: dict[str, Any] = {
        "source": "cahyadsn/wilayah_boundaries (MIT), simplified by netwatch.generators.webmap",
        "viewBox": [0, 0, WIDTH, height],
        "projection": {"west": west, "north": north, "scale": scale, "squeeze": squeeze},
        "kelurahan": {}, "kecamatan": {},
    }
    for feature in sorted(kelurahan["features"], key=lambda f: f["properties"]["kode"]):
        props = feature["properties"]
        d, centre = shape(feature)
        out["kelurahan"][props["kode"]] = {"name": props["kelurahan"],
                                          "kecamatan": props["kecamatan"], "d": d,
                                          "centre": centre}
    for feature in sorted(kecamatan["features"], key=lambda f: str(f["properties"])):
        props = feature["properties"]
        code = props.get("kode") or props.get("kode_kecamatan")
        d, centre = shape(feature)
        out["kecamatan"][code] = {"name": props.get("kecamatan") or props.get("nama", code),
                                  "d": d, "centre": centre}
    return out


def render(kelurahan: Path = KELURAHAN, kecamatan: Path = KECAMATAN) -> str:
    data = build(json.loads(kelurahan.read_text(encoding="utf-8")),
                 json.loads(kecamatan.read_text(encoding="utf-8")))
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True) + "\n"


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netwatch.generators.webmap",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("render", "check"))
    parser.add_argument("--kelurahan", type=Path, default=KELURAHAN)
    parser.add_argument("--kecamatan", type=Path, default=KECAMATAN)
    parser.add_argument("--out", type=Path, default=MAP_FILE)
    args = parser.parse_args(argv)
    text = render(args.kelurahan, args.kecamatan)
    if args.command == "render":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(args.out)
        return 0
    if not args.out.exists() or args.out.read_text(encoding="utf-8") != text:
        print(f"stale: {args.out} (run: python -m netwatch.generators.webmap render)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
