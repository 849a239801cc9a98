"""Request rules around every endpoint of the daemon's HTTP server (not the public listener):

- the lifecycle endpoint (`POST/PUT /-/reload`) answers 403 unless `--web.enable-lifecycle`
  is given, as in Prometheus (SIGHUP, the unit's ExecReload, always works);
- a request that changes something (any method but GET, HEAD, OPTIONS) from another origin is
  refused: a browser on the operator's desk must not be made to reload the daemon by a web
  page (a cross-origin `text/plain` POST needs no CORS preflight; browsers mark it with
  `Origin` and `Sec-Fetch-Site`, curl and Prometheus send neither);
- a failed reload tells an unauthenticated client only that it failed (the errors name files
  and lines of the config; they are in the daemon's log);
- the web config's `http_server_config.headers` go on every response.

    app.middlewares.extend(policy.middlewares(lifecycle=True))
    app.on_response_prepare.append(policy.add_headers(settings.headers))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from netwatch.web.auth import AUTHENTICATED

LIFECYCLE_PATHS = frozenset({"/-/reload"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RELOAD_FAILED = ("reload failed, keeping the previous config (the errors are in the daemon's "
                 "log)\n")


def _cross_origin(request: web.Request) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site", "")
    if fetch_site in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    parts = urlsplit(origin)
    return origin == "null" or not parts.netloc or parts.netloc.lower() != request.host.lower()


def middlewares(lifecycle: bool) -> list[Middleware]:
    @web.middleware
    async def rules(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in LIFECYCLE_PATHS and not lifecycle:
            return web.Response(status=403, text="Lifecycle API is not enabled "
                                "(--web.enable-lifecycle; SIGHUP reloads)\n")
        if request.method not in SAFE_METHODS and _cross_origin(request):
            return web.Response(status=403, text="cross-origin request refused\n")
        response = await handler(request)
        if (request.path in LIFECYCLE_PATHS and response.status >= 400
                and AUTHENTICATED not in request):
            return web.Response(status=response.status, text=RELOAD_FAILED)
        return response

    return [rules]


def add_headers(headers: dict[str, str]
                ) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    async def prepare(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    return prepare


__all__ = ["LIFECYCLE_PATHS", "RELOAD_FAILED", "add_headers", "middlewares"]
