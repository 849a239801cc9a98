"""The web config in effect, read again at every reload (SIGHUP, POST /-/reload).

exporter-toolkit reads its web config file again for each request; netwatch reads it again
with its own config, so one reload answers for both, and a bad web config fails the reload
and keeps everything as it was. Applied at once, to new connections and requests: a renewed
certificate and key (the same files rewritten, or others), the basic auth users (added,
changed, removed: none left means no login), the extra response headers. Needing a restart
(logged; the TLS in effect stays): TLS switched on or off, other TLS versions, another client
certificate policy or CA file.

    live = LiveWeb(settings)             # serve() makes one per listener: app[LIVE_WEB]
    live.listening                       # the server's context: a handshake takes the current
    live.users, live.headers             # the dicts BasicAuth and the headers hook read
    live.apply(read_web_config(path))    # -> True when a TLS change waits for a restart
"""

from __future__ import annotations

import ssl
from dataclasses import replace

from aiohttp import web

from netwatch.web.webconfig import WebSettings


class LiveWeb:
    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.users: dict[str, bytes] = dict(settings.users)
        self.headers: dict[str, str] = dict(settings.headers)
        self.listening = settings.ssl_context
        if self.listening is not None:
            # every handshake begins with the listening context; the ClientHello callback
            # (called with or without SNI) moves it to the context read last
            self.listening.sni_callback = self._current_context

    def _current_context(self, connection: ssl.SSLObject, server_name: str | None,
                         context: ssl.SSLContext) -> None:
        current = self.settings.ssl_context
        if current is not None and current is not context:
            connection.context = current

    def apply(self, new: WebSettings) -> bool:
        """Take the settings read again; True when their TLS differs in a way that needs a
        restart (on or off, versions, client certificates): then the TLS in effect stays."""
        old = self.settings
        restart = (old.ssl_context is None) != (new.ssl_context is None) \
            or old.tls_policy != new.tls_policy
        if restart:
            new = replace(new, ssl_context=old.ssl_context, tls_policy=old.tls_policy)
        self.settings = new
        self.users.clear()
        self.users.update(new.users)
        self.headers.clear()
        self.headers.update(new.headers)
        return restart


LIVE_WEB = web.AppKey("netwatch_live_web", LiveWeb)

__all__ = ["LIVE_WEB", "LiveWeb"]
