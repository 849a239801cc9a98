"""The JSON API, version 1: the one source the pages use, and what a city portal may read.

    GET /api/v1/sites                 every site: state, cause, since, markers
    GET /api/v1/sites/<kode>          one site: devices, neighbours, series, events
    GET /api/v1/events?since=&until=&site=&limit=
                                      transitions, oldest first (since: ISO 8601 or Unix time)

Schemas: docs/api/*.schema.json. Every answer carries `Server-Timing: app;dur=<ms>` (the
time spent building it), which bench/screen.py reads. /api/v1/sites is kept built between
changes (netwatch.web.sitelist).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from netwatch.web import views
from netwatch.web.sitelist import SiteList
from netwatch.web.views import Screen

SCREEN = web.AppKey("screen", Screen)
SITE_LIST = web.AppKey("site_list", SiteList)
MAX_EVENTS = 5000


def _headers(started: float) -> dict[str, str]:
    took = (time.perf_counter() - started) * 1000
    return {"Server-Timing": f"app;dur={took:.2f}", "Cache-Control": "no-store"}


def answer(payload: Any, started: float, status: int = 200) -> web.Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return web.Response(text=body, status=status, content_type="application/json",
                        headers=_headers(started))


def _problem(message: str, status: int, started: float) -> web.Response:
    return answer({"error": message}, started, status)


async def sites(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = request.app[SITE_LIST].answer(request.app[SCREEN], time.time())
    return web.Response(body=body, content_type="application/json", charset="utf-8",
                        headers=_headers(started))


async def site(request: web.Request) -> web.Response:
    started = time.perf_counter()
    payload = views.site_payload(request.app[SCREEN], request.match_info["kode"])
    if payload is None:
        return _problem(f"no site {request.match_info['kode']!r}", 404, started)
    return answer(payload, started)


def parse_time(text: str) -> float:
    """ISO 8601 (with an offset; none means UTC) or Unix seconds."""
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()


async def events(request: web.Request) -> web.Response:
    started = time.perf_counter()
    query = request.query
    try:
        since = parse_time(query["since"]) if "since" in query else time.time() - 86400
        until = parse_time(query["until"]) if "until" in query else None
        limit = min(MAX_EVENTS, max(1, int(query.get("limit", "1000"))))
    except ValueError as exc:
        return _problem(f"bad query: {exc}", 400, started)
    screen = request.app[SCREEN]
    found = await screen.history.events(since, until, query.get("site"), limit)
    return answer({"version": views.API_VERSION, "generated": views.iso(time.time()),
                   "events": [e.as_json() | {"at": views.iso(e.at)} for e in found]}, started)


ROUTES: list[tuple[str, Callable[[web.Request], Any]]] = [
    ("/api/v1/sites", sites),
    ("/api/v1/sites/{kode}", site),
    ("/api/v1/events", events),
]


def add_routes(app: web.Application, screen: Screen) -> None:
    app[SCREEN] = screen
    app[SITE_LIST] = SiteList()
    for path, handler in ROUTES:
        app.router.add_get(path, handler)
