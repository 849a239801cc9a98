"""The daemon's HTTP server put together: the application's routes inside TLS, basic auth,
the request rules and the connection limits (each its own module), on one listen address.

    options = WebOptions(settings=read_web_config(path), lifecycle=True)
    runner = await serve(make_app(daemon), "127.0.0.1", 9430, options)   # OSError if taken
    ...
    await runner.cleanup()         # stops listening; scrapes in flight get SHUTDOWN_TIMEOUT

Every route the application has, now or later, inherits all of it: the middlewares wrap the
router, the limits wrap each connection. The web config's settings stay live (app[LIVE_WEB],
netwatch.web.live): a reload applies a renewed certificate, users and headers. A public
listener of its own (the status page for citizens) is another application and stays outside
the basic auth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

from netwatch.web import policy, quiet
from netwatch.web.auth import BasicAuth
from netwatch.web.connections import Gate, GuardedSite, Limits
from netwatch.web.live import LIVE_WEB, LiveWeb
from netwatch.web.webconfig import WebSettings

SHUTDOWN_TIMEOUT = 2.0  # seconds in-flight requests get when the daemon stops


@dataclass(frozen=True)
class WebOptions:
    settings: WebSettings = field(default_factory=WebSettings)
    lifecycle: bool = False  # POST/PUT /-/reload allowed (--web.enable-lifecycle)
    limits: Limits = field(default_factory=Limits)


async def serve(app: web.Application, host: str, port: int,
                options: WebOptions | None = None) -> web.AppRunner:
    """Start serving `app` with the options around it; the runner to clean up later."""
    options = options or WebOptions()
    live = app[LIVE_WEB] = LiveWeb(options.settings)  # a reload applies the web config here
    gate = Gate(options.limits)
    auth = BasicAuth(live.users)

    async def close_auth(_: web.Application) -> None:
        auth.close()

    app.on_cleanup.append(close_auth)
    # outermost: a head has arrived; then the login (none while there are no users)
    wrappers: list[Middleware] = [gate.middleware, auth.middleware]
    wrappers.extend(policy.middlewares(options.lifecycle))
    app.middlewares[:0] = wrappers
    app.on_response_prepare.append(policy.add_headers(live.headers))
    quiet.install()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT,
                           handle_signals=False, **options.limits.handler_args())
    await runner.setup()
    try:
        await GuardedSite(runner, host, port, gate, ssl_context=live.listening).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


__all__ = ["SHUTDOWN_TIMEOUT", "WebOptions", "serve"]
