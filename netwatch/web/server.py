"""HTTP: /metrics, /-/healthy, /-/ready, POST /-/reload, and a small status page at /.

The routes and pages live here; what surrounds them (TLS, basic auth, the lifecycle flag,
connection limits and timeouts) is put around the application by netwatch.web.serve."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Protocol

from aiohttp import web

from netwatch.web import scrape
from netwatch.web.connections import MAX_BODY


class Daemon(Protocol):
    def metric_chunks(self) -> Iterator[bytes]:
        """The exposition in pieces; iterated in a worker thread."""
        ...

    async def reload(self) -> tuple[bool, str]: ...

    def ready(self) -> bool: ...

    def status_rows(self) -> list[tuple[str, ...]]:
        """(site, kelurahan, kecamatan, state, cause) rows for the status page."""
        ...


DAEMON = web.AppKey("daemon", Daemon)


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    if request.app[DAEMON].ready():
        return web.Response(text="Ready\n")
    return web.Response(status=503, text="Not ready: first polls still running\n")


async def reload(request: web.Request) -> web.Response:
    ok, message = await request.app[DAEMON].reload()
    return web.Response(status=200 if ok else 400, text=message + "\n")


_PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="15"><title>netwatch</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}
.up{{color:#2a2}}.degraded{{color:#c80}}.down{{color:#c22;font-weight:bold}}
.unreachable{{color:#888}}.maintenance{{color:#46c}}</style></head><body>
<h1>netwatch</h1><p><a href="/metrics">/metrics</a> &middot; {summary}</p>
<table><tr><th>Site</th><th>Kelurahan</th><th>Kecamatan</th><th>State</th><th>Cause</th></tr>
{rows}</table></body></html>"""


async def status_page(request: web.Request) -> web.Response:
    rows = request.app[DAEMON].status_rows()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[3]] = counts.get(row[3], 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no sites"
    body = "\n".join(
        "<tr>" + "".join(
            f'<td class="{html.escape(row[3])}">{html.escape(cell)}</td>' if i == 3
            else f"<td>{html.escape(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return web.Response(text=_PAGE.format(summary=html.escape(summary), rows=body),
                        content_type="text/html")


def make_app(daemon: Daemon) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[DAEMON] = daemon
    app[scrape.SOURCE] = daemon
    app.cleanup_ctx.append(scrape.render_pool)
    app.router.add_get("/metrics", scrape.metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_put("/-/reload", reload)
    app.router.add_get("/", status_page)
    return app
