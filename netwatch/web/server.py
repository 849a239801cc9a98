"""HTTP: /metrics, /-/healthy, /-/ready, POST /-/reload; the pages (netwatch.web.pages), the
JSON API (netwatch.web.api) and the public status page (netwatch.web.public) register their
routes here.

What surrounds them (TLS, basic auth, the lifecycle flag, connection limits and timeouts) is
put around the application by netwatch.web.serve."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from aiohttp import web

from netwatch.web import api, pages, public, scrape
from netwatch.web.connections import MAX_BODY
from netwatch.web.views import Screen


class Daemon(Screen, Protocol):
    def metric_chunks(self) -> Iterator[bytes]:
        """The exposition in pieces; iterated in a worker thread."""
        ...

    async def reload(self) -> tuple[bool, str]: ...

    def ready(self) -> bool: ...


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
    api.add_routes(app, daemon)
    pages.add_routes(app)
    public.add_routes(app)
    return app
