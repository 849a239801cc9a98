"""Quiet logs for what clients do: a malformed request or a hang-up is theirs, not ours.

aiohttp and asyncio log a client's broken request, a reset connection or a failed accept at
error level with a traceback, once per occurrence: a scanner or a flood turned that into
hundreds of megabytes a minute. This filter, on the loggers of aiohttp and asyncio, drops
the traceback of client-side errors (connection resets, broken pipes, bad HTTP) and lets
each kind of line through at most BURST times per WINDOW, then says how many it held back.

    quiet.install()        # idempotent
"""

from __future__ import annotations

import logging
import time

WINDOW = 60.0
BURST = 5
LOGGERS = ("aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.internal", "asyncio")
# errors a client causes: no traceback, they say nothing about netwatch
CLIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)


def _client_error(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    if isinstance(exc, CLIENT_ERRORS):
        return True
    from aiohttp import http_exceptions

    return isinstance(exc, http_exceptions.HttpProcessingError)


class RateLimit(logging.Filter):
    """At most BURST lines of one kind (logger, message template) per WINDOW seconds."""

    def __init__(self, burst: int = BURST, window: float = WINDOW) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # kind -> (since, count)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if _client_error(exc):
            record.exc_info = None  # the line stays, the traceback goes
            record.exc_text = None
            if record.levelno > logging.INFO:
                record.levelno, record.levelname = logging.INFO, "INFO"
        kind = (record.name, str(record.msg))
        now = time.monotonic()
        since, count = self._seen.get(kind, (now, 0))
        if now - since >= self.window:
            if count > self.burst:
                record.msg = f"{record.msg} ({count - self.burst} similar lines held back)"
            since, count = now, 0
        count += 1
        if len(self._seen) > 1000:  # bounded: kinds are few, but messages may vary
            self._seen.clear()
        self._seen[kind] = (since, count)
        return count <= self.burst


_installed = RateLimit()


def install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _installed not in logger.filters:
            logger.addFilter(_installed)


__all__ = ["RateLimit", "install"]
