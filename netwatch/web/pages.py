"""The operators' pages: the NOC view at `/` and a page per site at `/site/<kode>`.

Both are small HTML shells filled and kept current by their script polling the JSON API
(netwatch/web/api.py), so page and API never disagree, and a wall screen updates without a
reload or a long-lived connection. The NOC page inlines the city map (SVG drawn from
netwatch/web/static/map.json, see netwatch.generators.webmap): every monitored kelurahan is
an `<a data-site="<kode>" data-state="<state>">` around its shape, focusable and labelled for
screen readers; kelurahan without a site are drawn grey, sites without a shape but with a
location as dots. Everything the page loads comes from the daemon.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from aiohttp import web

from netwatch.web.api import SCREEN
from netwatch.web.views import Screen

STATIC = resources.files("netwatch.web").joinpath("static")
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
SERVED = ("noc.js", "site.js", "screen.css", "common.js")
CACHE = "max-age=300"


@lru_cache(maxsize=8)
def static_text(name: str) -> str:
    return STATIC.joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def city_map() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(static_text("map.json"))
    return data


def _point(lat: float, lon: float, geo: dict[str, Any]) -> tuple[float, float]:
    p = geo["projection"]
    return ((lon - p["west"]) * p["squeeze"] * p["scale"], (p["north"] - lat) * p["scale"])


def map_svg(screen: Screen) -> str:
    """The city map as inline SVG, every site's shape (or dot) tagged with its kode."""
    geo = city_map()
    sites = screen.inventory.sites
    width, height = geo["viewBox"][2], geo["viewBox"][3]
    out = [f'<svg id="map" viewBox="0 0 {width:g} {height:g}" role="group" '
           f'aria-labelledby="map-h" preserveAspectRatio="xMidYMid meet">']
    for kode, shape in geo["kelurahan"].items():
        if kode not in sites:
            out.append(f'<path class="unmonitored" d="{shape["d"]}"><title>'
                       f'{html.escape(shape["name"])}</title></path>')
    for site in sites.values():
        shape = geo["kelurahan"].get(site.id)
        label = html.escape(f"{site.name}, Kec. {site.kecamatan}")
        if shape is not None:
            body = f'<path d="{shape["d"]}"/>'
        elif site.location is not None:
            x, y = _point(site.location.lat, site.location.lon, geo)
            if not (0 <= x <= width and 0 <= y <= height):
                continue
            body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6"/>'
        else:
            continue
        out.append(f'<a class="site" href="/site/{html.escape(site.id)}" '
                   f'data-site="{html.escape(site.id)}" data-state="unknown" '
                   f'aria-label="{label}"><title>{label}</title>{body}</a>')
    for shape in geo["kecamatan"].values():
        out.append(f'<path class="kecamatan" d="{shape["d"]}"/>')
    out.append("</svg>")
    return "".join(out)


_HEAD = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="{icon}">
<title>{title}</title><link rel="stylesheet" href="/static/screen.css"></head>"""
# inline, so no browser asks for /favicon.ico
ICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
        "%3Ccircle cx='8' cy='8' r='7' fill='%232e7d32'/%3E%3C/svg%3E")

_BAR = """<header class="bar"><h1><a href="/">netwatch</a></h1>
<p id="summary" role="status" aria-live="polite"></p>
<p class="updated"><span data-i18n="updated">Diperbarui</span>
<time id="updated">–</time> <span id="stale" hidden data-i18n="stale">(data lama)</span></p>
<div class="switches"><button type="button" id="lang" lang="en">English</button>
<button type="button" id="theme" data-i18n="dark">Tema gelap</button></div></header>"""

_NOC = """<body class="noc">{bar}
<main>
<section id="problems" aria-labelledby="problems-h"><h2 id="problems-h" data-i18n="problems">
Gangguan</h2><ol id="problem-list"><li class="none" data-i18n="loading">Memuat…</li></ol>
</section>
<section id="map-box" aria-labelledby="map-h"><h2 id="map-h" data-i18n="map">Peta kelurahan
</h2>{svg}<ul class="legend" aria-hidden="true" id="legend"></ul></section>
<section id="tiles" aria-labelledby="tiles-h"><h2 id="tiles-h" data-i18n="kecamatan">Kecamatan
</h2><ul id="tile-list"></ul></section>
</main>
<script src="/static/common.js"></script><script src="/static/noc.js"></script></body></html>"""

_SITE = """<body class="site" data-site="{kode}">{bar}
<main>
<nav><a href="/" data-i18n="back">← Semua site</a></nav>
<section id="head" aria-labelledby="site-h"><h2 id="site-h">{name}</h2>
<p><span id="kec">Kec. {kecamatan}</span> · <code>{kode}</code></p>
<p id="verdict" role="status" aria-live="polite"></p></section>
<section aria-labelledby="cause-h"><h3 id="cause-h" data-i18n="cause">Sebab</h3>
<div id="cause"></div></section>
<section aria-labelledby="timeline-h"><h3 id="timeline-h" data-i18n="timeline">24 jam terakhir
</h3><div id="timeline"></div></section>
<section aria-labelledby="devices-h"><h3 id="devices-h" data-i18n="devices">Perangkat</h3>
<div id="devices"></div></section>
<section aria-labelledby="neigh-h"><h3 id="neigh-h" data-i18n="neighbours">Tetangga</h3>
<ul id="neighbours"></ul><div id="neighbour-rows"></div></section>
<section aria-labelledby="if-h"><h3 id="if-h" data-i18n="interfaces">Antarmuka</h3>
<div id="interfaces"></div></section>
<section aria-labelledby="mw-h"><h3 id="mw-h" data-i18n="maintenance">Pemeliharaan</h3>
<ul id="maintenance"></ul></section>
<section aria-labelledby="ev-h"><h3 id="ev-h" data-i18n="events">Perubahan status</h3>
<ol id="events"></ol></section>
</main>
<script src="/static/common.js"></script><script src="/static/site.js"></script></body></html>"""


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


async def noc(request: web.Request) -> web.Response:
    screen = request.app[SCREEN]
    return _html(_HEAD.format(title="netwatch — NOC", icon=ICON)
                 + _NOC.format(bar=_BAR, svg=map_svg(screen)))


async def site(request: web.Request) -> web.Response:
    kode = request.match_info["kode"]
    found = request.app[SCREEN].inventory.sites.get(kode)
    if found is None:
        raise web.HTTPNotFound(text=f"no site {kode}\n")
    return _html(_HEAD.format(title=html.escape(f"{found.name} — netwatch"), icon=ICON)
                 + _SITE.format(bar=_BAR, kode=html.escape(kode), name=html.escape(found.name),
                                kecamatan=html.escape(found.kecamatan)))


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in SERVED:
        raise web.HTTPNotFound()
    kind = TYPES[name[name.rindex("."):]]
    return web.Response(text=static_text(name), content_type=kind, charset="utf-8",
                        headers={"Cache-Control": CACHE})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", noc)
    app.router.add_get("/site/{kode}", site)
    app.router.add_get("/static/{name}", static)
