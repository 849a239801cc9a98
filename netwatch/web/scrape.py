"""GET /metrics: the exposition rendered and gzipped off the loop, streamed, and let go of
when the client stops reading.

Rendering runs in a pool of its own (RENDER_WORKERS threads), never in the default executor
the reload uses: twelve clients that stopped reading once held every default worker for a
minute, and with them every other scrape and the reload. A piece that cannot be sent within
SEND_TIMEOUT (a client that stopped reading; Prometheus' own scrape timeout is at most its
interval) ends the scrape: the connection is closed and the renderer stops at its next
piece. At most MAX_SCRAPES run at once; more get 503, as promhttp answers beyond its
in-flight limit. A client hanging up is not an error: logged at debug.

    app[scrape.SOURCE] = daemon                    # anything with metric_chunks()
    app.router.add_get("/metrics", scrape.metrics)
    app.cleanup_ctx.append(scrape.render_pool)     # the pool lives with the application
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol

import structlog
from aiohttp import web

from netwatch.base import memory
from netwatch.base.exposition import CONTENT_TYPE

log = structlog.get_logger("netwatch.web.scrape")
STREAM_DEPTH = 4  # chunks rendered ahead of the socket
RENDER_WORKERS = 2  # threads rendering (and gzipping) scrapes
MAX_SCRAPES = 8  # scrapes at once; more are answered 503
SEND_TIMEOUT = 10.0  # seconds a piece may wait for the client to take it
_POLL = 0.2  # how often a waiting renderer looks whether its scrape was given up


class Exposition(Protocol):
    def metric_chunks(self) -> Iterator[bytes]:
        """The exposition in pieces; iterated in a worker thread."""
        ...


class _Pool:
    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(RENDER_WORKERS, thread_name_prefix="render")
        self.slots = asyncio.Semaphore(MAX_SCRAPES)
        self.send_timeout = SEND_TIMEOUT


POOL = web.AppKey("render_pool", _Pool)
SOURCE = web.AppKey("exposition", Exposition)


async def render_pool(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the render threads start and stop with the application."""
    pool = app[POOL] = _Pool()
    yield
    pool.executor.shutdown(wait=False, cancel_futures=True)


class _Abandoned(Exception):
    """Nobody takes the pieces any more (the scrape ended early)."""


def _gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """gzip level 1, one chunk behind the render: zlib releases the GIL, so on a second core
    chunk N compresses while chunk N+1 renders. In sequence the two add up: 10,000 devices
    (194 MB) took 0.53 s, overlapped 0.43 s (bench/exposition.py)."""
    gz = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: gzip framing
    with ThreadPoolExecutor(1, thread_name_prefix="gzip") as pool:
        pending: Future[bytes] | None = None
        for chunk in chunks:
            compressing = pool.submit(gz.compress, chunk)
            if pending is not None:
                yield pending.result()
            pending = compressing
        if pending is not None:
            yield pending.result()
    yield gz.flush()


def _produce(source: Exposition, compress: bool, put: Callable[[bytes | None], None]) -> None:
    """Render (and gzip) in a worker thread, handing pieces to the loop as they come."""
    try:
        chunks = source.metric_chunks()
        for data in _gzipped(chunks) if compress else chunks:
            if data:
                put(data)
        put(None)
    except _Abandoned:
        pass
    finally:
        memory.trim()  # the render's temporaries are freed: give their pages back


def _putter(pieces: asyncio.Queue[bytes | None], loop: asyncio.AbstractEventLoop,
            gone: threading.Event) -> Callable[[bytes | None], None]:
    def put(piece: bytes | None) -> None:
        if gone.is_set():
            raise _Abandoned
        try:
            future = asyncio.run_coroutine_threadsafe(pieces.put(piece), loop)
        except RuntimeError:  # the loop is closed
            raise _Abandoned from None
        while True:  # wait for room, but notice a scrape given up within _POLL
            try:
                future.result(_POLL)
                return
            except FutureTimeout:
                if gone.is_set():
                    future.cancel()
                    raise _Abandoned from None
            except Exception:  # cancelled with its loop
                raise _Abandoned from None

    return put


async def metrics(request: web.Request) -> web.StreamResponse:
    """Streamed: the exposition is rendered and compressed off the loop, piece by piece, so
    neither a 100 MB body in memory nor a long render holds up timers and timestamps."""
    pool = request.app[POOL]
    if pool.slots.locked():
        return web.Response(status=503, text=f"too many scrapes at once (at most "
                            f"{MAX_SCRAPES})\n")
    async with pool.slots:
        return await _stream(request, request.app[SOURCE], pool)


async def _stream(request: web.Request, source: Exposition, pool: _Pool) -> web.StreamResponse:
    compress = "gzip" in request.headers.get("Accept-Encoding", "")
    response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE})
    if compress:
        response.headers["Content-Encoding"] = "gzip"
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[bytes | None] = asyncio.Queue(STREAM_DEPTH)
    gone = threading.Event()
    producer = loop.run_in_executor(pool.executor, _produce, source, compress,
                                    _putter(pieces, loop, gone))
    try:
        await response.prepare(request)
        while (piece := await pieces.get()) is not None:
            async with asyncio.timeout(pool.send_timeout):
                await response.write(piece)
        await producer
        await response.write_eof()
    except (TimeoutError, ConnectionError) as exc:
        # the client stopped reading or hung up: let the scrape go, quietly
        log.debug("scrape_abandoned", peer=request.remote, reason=type(exc).__name__)
        gone.set()
        if request.transport is not None:
            request.transport.abort()
    finally:
        gone.set()  # a renderer still waiting for room stops at its next look
    return response


__all__ = ["MAX_SCRAPES", "POOL", "SEND_TIMEOUT", "SOURCE", "metrics", "render_pool"]
