"""HTTP endpoints over a fake daemon."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from netwatch.web.server import make_app


class FakeDaemon:
    def __init__(self) -> None:
        self.reload_ok = True
        self.is_ready = False

    def metric_chunks(self) -> Iterator[bytes]:
        yield b'# HELP netwatch_up Up.\n# TYPE netwatch_up gauge\n'
        for i in range(5000):  # several pieces: the response is streamed
            yield f'netwatch_up{{site="s{i}"}} 1\n'.encode()

    async def reload(self) -> tuple[bool, str]:
        return (True, "reloaded: 3 targets") if self.reload_ok else (False, "reload failed: x")

    def ready(self) -> bool:
        return self.is_ready

    def status_rows(self) -> list[tuple[str, ...]]:
        return [("18.71.01.1003", "Kedaton", "Kedaton", "down", "rtr <down>")]


async def client(daemon: FakeDaemon) -> TestClient[web.Request, web.Application]:
    c = TestClient(TestServer(make_app(daemon)))
    await c.start_server()
    return c


async def test_metrics_plain_and_gzip() -> None:
    c = await client(FakeDaemon())
    try:
        plain = await c.get("/metrics", headers={"Accept-Encoding": "identity"})
        assert plain.status == 200
        assert plain.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        body = await plain.read()
        assert body.startswith(b"# HELP netwatch_up") and body.count(b"\n") == 5002
        assert b'netwatch_up{site="s4999"} 1\n' in body
        zipped = await c.get("/metrics", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await zipped.read()) == body
    finally:
        await c.close()


async def test_health_ready_reload_and_status_page() -> None:
    daemon = FakeDaemon()
    c = await client(daemon)
    try:
        assert (await c.get("/-/healthy")).status == 200
        assert (await c.get("/-/ready")).status == 503
        daemon.is_ready = True
        assert (await c.get("/-/ready")).status == 200
        ok = await c.post("/-/reload")
        assert ok.status == 200 and "reloaded" in await ok.text()
        daemon.reload_ok = False
        bad = await c.post("/-/reload")
        assert bad.status == 400 and "reload failed" in await bad.text()
        assert (await c.get("/-/reload")).status == 405  # GET must not reload
        page = await (await c.get("/")).text()
        assert "rtr &lt;down&gt;" in page and 'class="down"' in page and "1 down" in page
    finally:
        await c.close()
