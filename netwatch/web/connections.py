"""The listening side of the HTTP server: how many connections, how long they may dawdle.

aiohttp bounds request lines, header fields and bodies and closes idle keep-alive
connections, but has no cap on connections and no limit on how long a request head may take
to arrive. Without them, 20,000 idle connections took every file descriptor (then /metrics was
unreachable and asyncio wrote 283 MB of "accept failed" tracebacks in a minute), and a client
trickling a header a byte at a time held its connection for as long as it liked. So each
connection goes through a small protocol in front of aiohttp's own:

- at `max_connections` open ones, a new connection replaces an idle one (no request in
  progress, open for more than a second): one that never sent a byte first, else the
  longest idle. A flood of idle connections cannot lock Prometheus out. When none is idle,
  the new one is closed as soon as it is accepted (its descriptor is back
  at once; nothing piles up). Both are counted and logged at most once a minute; the cap
  never exceeds what the process's descriptor limit leaves (RESERVED_FDS stay for polling);
- a request head must arrive within `header_timeout` of its first byte (or of the connect),
  else the connection is closed; a TLS handshake must end within `header_timeout` too;
  idle keep-alive connections close after `idle_timeout` (aiohttp's keep-alive timer).

    gate = Gate(Limits(max_connections=512))
    app.middlewares.append(gate.middleware)          # marks request heads as complete
    runner = web.AppRunner(app, **gate.limits.handler_args(), access_log=None)
    await runner.setup()
    await GuardedSite(runner, host, port, gate, ssl_context=None).start()
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

log = structlog.get_logger("netwatch.web.connections")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 64 << 10  # request bodies: netwatch's endpoints take none
RESERVED_FDS = 256  # descriptors kept for polling sockets, the reload child, logs, history
EVICT_GRACE = 1.0  # seconds a new connection is safe from being closed to make room


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 512
    header_timeout: float = 10.0  # seconds from a request's first byte to its full head
    idle_timeout: float = 60.0  # keep-alive: an idle connection closes after this
    max_line: int = 8190  # request line and each header field, bytes
    max_headers: int = 64

    def handler_args(self) -> dict[str, Any]:
        """aiohttp's own limits, for web.AppRunner(...)."""
        return {"keepalive_timeout": self.idle_timeout, "max_line_size": self.max_line,
                "max_field_size": self.max_line, "max_headers": self.max_headers}


def descriptor_room() -> int:
    """Raise the soft descriptor limit to the hard one (as Go programs do at start) and
    return how many connections it leaves room for."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(16, soft - RESERVED_FDS)


class Gate:
    """Counts open connections and refuses those over the cap."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cap = min(limits.max_connections, descriptor_room())
        self.open = 0
        self.refused = 0
        self.evicted = 0
        self.timed_out = 0
        self._guards: dict[object, _Guarded] = {}  # transport -> its guard
        self._warned_at = -1e9

    def admit(self) -> bool:
        if self.open >= self.cap:
            victim = self._victim(time.monotonic())
            if victim is not None:
                self.evicted += 1
                victim.drop()
            else:
                self.refused += 1
            self._warn()
        return self.open < self.cap

    def _victim(self, now: float) -> _Guarded | None:
        """The connection to close for a new one: idle (no request in progress) and older
        than EVICT_GRACE (a client just accepted has not been read yet), silent ones (never
        sent a byte) first, then the longest idle."""
        idle = None
        for guard in self._guards.values():  # longest idle first
            if guard.busy or now - guard.since < EVICT_GRACE:
                continue
            if not guard.spoke:
                return guard
            idle = idle or guard
        return idle

    def touch(self, guard: _Guarded) -> None:
        """`guard` was active: the longest-idle connections stay first in line."""
        transport = guard.transport
        if transport is not None and transport in self._guards:
            self._guards[transport] = self._guards.pop(transport)

    def _warn(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("http_connection_limit", open=self.open, cap=self.cap,
                        idle_closed=self.evicted, refused=self.refused)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        guard = self._guards.get(request.transport)
        if guard is not None:
            guard.busy += 1
            guard.disarm()
        try:
            return await handler(request)
        finally:
            if guard is not None:
                guard.busy -= 1


class _Guarded(asyncio.Protocol):
    """aiohttp's request handler behind the gate: admitted or closed, head read in time."""

    def __init__(self, gate: Gate, inner: asyncio.Protocol) -> None:
        self.gate = gate
        self.inner: asyncio.Protocol | None = inner
        self.transport: asyncio.BaseTransport | None = None
        self.busy = 0  # requests being handled
        self.spoke = False  # sent at least one byte
        self.since = time.monotonic()  # accepted, or last active
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.gate.admit():
            self.inner = None
            transport.abort()  # type: ignore[attr-defined]
            return
        self.gate.open += 1
        self.transport = transport
        self.gate._guards[transport] = self
        assert self.inner is not None
        self.inner.connection_made(transport)
        self._arm()  # the first request's head is due

    def _arm(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.gate.limits.header_timeout, self._too_slow)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self.busy == 0 and self.transport is not None:
            self.gate.timed_out += 1
            self.drop()

    def drop(self) -> None:
        """Close now, and count as closed now (the transport reports it a little later)."""
        transport = self.transport
        if transport is None or self.inner is None:
            return
        self.gate.open -= 1
        self.gate._guards.pop(transport, None)
        self.transport = None
        transport.abort()  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        if self.busy == 0:
            self._arm()  # a new request head begins: it must be complete in time
        self.spoke = True
        self.since = time.monotonic()
        self.gate.touch(self)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        if self.inner is None:
            return
        if self.transport is not None:  # not dropped by us: count it closed now
            self.gate.open -= 1
            self.gate._guards.pop(self.transport, None)
            self.transport = None
        inner, self.inner = self.inner, None
        inner.connection_lost(exc)


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections go through the gate."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, gate: Gate,
                 **kwargs: Any) -> None:
        super().__init__(runner, host, port, **kwargs)
        self.gate = gate

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        gate = self.gate
        loop = asyncio.get_running_loop()
        # a TLS connection reaches the gate once its handshake is done: until then asyncio's
        # handshake timeout (60 s by default) is all that bounds it, so it is the head's
        handshake = gate.limits.header_timeout if self._ssl_context is not None else None
        self._server = await loop.create_server(
            lambda: _Guarded(gate, server()), self._host, self._port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=self._reuse_address,
            reuse_port=self._reuse_port, ssl_handshake_timeout=handshake)


__all__ = ["MAX_BODY", "Gate", "GuardedSite", "Limits", "descriptor_room"]
