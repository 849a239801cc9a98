"""The daemon's HTTP surface against hostile and careless clients, over real TCP on loopback:
TLS and basic auth from a web config, client certificates, idle-connection floods, slow
request heads, scrapes whose client stops reading, malformed requests and hang-ups (quiet
logs), a stop with a scrape in flight, and a bad web config at start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import cast

import aiohttp
import bcrypt
import pytest
import pytest_asyncio
from aiohttp import web
from structlog.testing import capture_logs

from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.lab.ports import free_port
from netwatch.web import scrape, server
from netwatch.web.connections import Limits
from netwatch.web.serve import WebOptions, serve
from netwatch.web.server import make_app
from netwatch.web.webconfig import WebSettings, read_web_config
from tests.certs import make_certs
from tests.conftest import ROOT
from tests.fakes import FakeIcmp
from tests.waiting import until

pytestmark = pytest.mark.integration

CONFIG = """listen: 127.0.0.1:{port}
defaults:
  icmp: {{interval: 1s, count: 1, timeout: 0.2s}}
  snmp: {{enabled: false}}
sites:
  - {{id: "s1", name: S1, kecamatan: K, devices: [{{name: rtr, role: router, address: 127.0.0.1}}]}}
"""
PASSWORD = "scrape-pass-1"
NETWATCH = str(Path(sys.executable).with_name("netwatch"))


def _login(user: str, password: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


def _config(tmp_path: Path, port: int = 0) -> Path:
    path = tmp_path / "netwatch.yml"
    path.write_text(CONFIG.format(port=port))
    return path


@pytest_asyncio.fixture
async def tls_daemon(tmp_path: Path) -> AsyncIterator[tuple[Daemon, Path]]:
    certs = make_certs(tmp_path)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(f"tls_server_config: {{cert_file: server.crt, key_file: server.key,"
                          f" client_auth_type: VerifyClientCertIfGiven, client_ca_file: ca.crt}}"
                          f"\nbasic_auth_users: {{prometheus: '{hashed}'}}\n")
    path = _config(tmp_path)
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0",
                    web_options=WebOptions(read_web_config(web_config), lifecycle=True))
    await daemon.start()
    try:
        yield daemon, certs.ca
    finally:
        await daemon.shutdown()


async def test_tls_and_basic_auth_on_every_endpoint(tls_daemon: tuple[Daemon, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    daemon, ca = tls_daemon
    host, port = daemon.addresses[0]
    checks: list[int] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        checks.append(1)
        return bool(real(password, hashed))

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    trust = ssl.create_default_context(cafile=str(ca))
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(aiohttp.ClientError):  # plain HTTP on the TLS port
            await plain.get(f"http://{host}:{port}/metrics")
    base = f"https://{host}:{port}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as session:
        for path in ("/metrics", "/-/healthy", "/-/ready", "/"):
            async with session.get(base + path) as response:
                assert response.status == 401, path
                assert response.headers["WWW-Authenticate"].startswith("Basic ")
        wrong = _login("prometheus", "guess")
        async with session.get(base + "/metrics", headers=wrong) as response:
            assert response.status == 401
        right = _login("prometheus", PASSWORD)
        for _ in range(100):  # the page polls, Prometheus scrapes: one bcrypt for them all
            async with session.get(base + "/-/healthy", headers=right) as response:
                assert response.status == 200
        async with session.get(base + "/metrics", headers=right) as response:
            body = await response.read()
            assert response.status == 200 and b"netwatch_icmp_requests_total{" in body
        async with session.post(base + "/-/reload", headers=right) as response:
            assert response.status == 200
    assert len(checks) == 2  # the wrong password once, the right one once


async def test_the_public_listener_has_the_limits_but_no_login(tmp_path: Path) -> None:
    """`public_listen:` serves the citizens' page without the web config's basic auth (the
    city publishes it), but a slow request head is cut off there as on the operators' side."""
    path = tmp_path / "netwatch.yml"
    path.write_text(CONFIG.format(port=0) + "public_listen: 127.0.0.1:0\n")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4))
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0",
                    web_options=WebOptions(WebSettings(users={"noc": hashed}),
                                           limits=Limits(header_timeout=0.5, idle_timeout=30)))
    await daemon.start()
    try:
        host, port = daemon.addresses[0]
        public_host, public_port = daemon.public_addresses[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{host}:{port}/public") as response:
                assert response.status == 401  # the operators' listener: login first
            async with session.get(f"http://{public_host}:{public_port}/public") as response:
                assert response.status == 200 and "S1" in await response.text()
            async with session.get(f"http://{public_host}:{public_port}/metrics") as response:
                assert response.status == 404
        reader, writer = await asyncio.open_connection(public_host, public_port)
        writer.write(b"GET /public HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        started = time.monotonic()
        data = await asyncio.wait_for(reader.read(100), 10)  # never sent the blank line
        assert data == b"" and time.monotonic() - started < 5  # cut at ~0.5 s
        writer.close()
    finally:
        await daemon.shutdown()


async def _served_certificate(host: str, port: int) -> bytes:
    """The certificate (DER) a new TLS connection is given, whoever signed it."""
    look = ssl.create_default_context()
    look.check_hostname, look.verify_mode = False, ssl.CERT_NONE
    _, writer = await asyncio.open_connection(host, port, ssl=look)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()
    assert isinstance(der, bytes)
    return der


def _der(pem: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


async def test_a_reload_applies_a_renewed_certificate_users_and_headers(
        tls_daemon: tuple[Daemon, Path], tmp_path: Path) -> None:
    """As exporter-toolkit reads its web config again, a reload does: a certificate renewed
    in place, other users, other headers, for new connections and requests; a bad web
    config fails the reload and keeps all of it; a TLS version change waits for a restart."""
    daemon, ca = tls_daemon
    host, port = daemon.addresses[0]
    base = f"https://{host}:{port}"
    assert await _served_certificate(host, port) == _der(tmp_path / "server.crt")
    (tmp_path / "renewed").mkdir()
    renewed = make_certs(tmp_path / "renewed")
    for name in ("server.crt", "server.key"):  # renewed in place, as certbot's hooks do
        (tmp_path / name).write_bytes((tmp_path / "renewed" / name).read_bytes())
    web_config = tmp_path / "web.yml"
    tls = ("tls_server_config: {cert_file: server.crt, key_file: server.key,"
           " client_auth_type: VerifyClientCertIfGiven, client_ca_file: ca.crt")
    noc = bcrypt.hashpw(b"noc-pass-2", bcrypt.gensalt(10)).decode()
    web_config.write_text(f"{tls}}}\nbasic_auth_users: {{noc: '{noc}'}}\n"
                          "http_server_config: {headers: {X-Netwatch-Test: renewed}}\n")
    trust = ssl.create_default_context(cafile=str(ca))
    renewed_trust = ssl.create_default_context(cafile=str(renewed.ca))  # its own CA
    old_login, new_login = _login("prometheus", PASSWORD), _login("noc", "noc-pass-2")

    async def status(session: aiohttp.ClientSession, login: dict[str, str],
                     method: str = "GET", path: str = "/metrics") -> tuple[int, str]:
        async with session.request(method, base + path, headers=login) as response:
            await response.read()
            return response.status, response.headers.get("X-Netwatch-Test", "")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as session:
        # authorised by the users before it; answered with the headers after it
        assert await status(session, old_login, "POST", "/-/reload") == (200, "renewed")
    assert await _served_certificate(host, port) == _der(renewed.server_cert)
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=renewed_trust)) as session:
        assert await status(session, old_login) == (401, "renewed")  # prometheus: removed
        assert await status(session, new_login) == (200, "renewed")

        web_config.write_text("basic_auth_users: {noc: plain-text}\n")  # bad: all kept
        assert (await status(session, new_login, "POST", "/-/reload"))[0] == 400
        assert await status(session, new_login) == (200, "renewed")

        with capture_logs() as logs:  # TLS 1.3 only: the versions in effect stay
            web_config.write_text(f"{tls}, min_version: TLS13}}\n")
            assert await status(session, new_login, "POST", "/-/reload") == (200, "")
        assert await status(session, new_login) == (200, "")  # no users: no login
    assert "web_tls_change_needs_restart" in [e["event"] for e in logs]
    assert await _served_certificate(host, port) == _der(renewed.server_cert)
    old_tls = ssl.create_default_context(cafile=str(renewed.ca))
    old_tls.maximum_version = ssl.TLSVersion.TLSv1_2
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=old_tls)) as session:
        assert await status(session, {}) == (200, "")  # TLS 1.2 still served until a restart


async def test_client_certificates_when_required(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    web_config = tmp_path / "web.yml"
    web_config.write_text("tls_server_config: {cert_file: server.crt, key_file: server.key, "
                          "client_auth_type: RequireAndVerifyClientCert, client_ca_file: ca.crt}\n")
    path = _config(tmp_path)
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0", web_options=WebOptions(read_web_config(web_config)))
    await daemon.start()
    try:
        host, port = daemon.addresses[0]
        anonymous = ssl.create_default_context(cafile=str(certs.ca))
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=anonymous)) as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.get(f"https://{host}:{port}/metrics") as response:
                    await response.read()
        known = ssl.create_default_context(cafile=str(certs.ca))
        known.load_cert_chain(certs.client_cert, certs.client_key)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=known)) as session, \
                session.get(f"https://{host}:{port}/metrics") as response:
            assert response.status == 200
    finally:
        await daemon.shutdown()


# --- a real `netwatch run` process ---------------------------------------------------------

def _start(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    config = _config(tmp_path, port)
    log = tmp_path / "daemon.log"
    process = subprocess.Popen(
        [NETWATCH, "--log-format", "json", "run", str(config),
         *flags], stdout=subprocess.DEVNULL, stderr=log.open("wb"), cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port, log
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"netwatch run did not listen: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return time.monotonic() - started


def _get(port: int, path: str = "/metrics") -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(64)
    return int(head.split()[1])


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.fixture
def many_files() -> Iterator[None]:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_idle_connection_flood_never_locks_out_scrapes(tmp_path: Path,
                                                          many_files: None) -> None:
    process, port, log = _start(tmp_path, "--web.max-connections", "100")
    idle: list[socket.socket] = []
    try:
        for _ in range(3000):  # bounded: 30 x the cap
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            idle.append(sock)
        # The flood beyond the listen backlog (128) comes back in waves of SYN retransmissions
        # (1 s, 3 s, 7 s after the burst); each wave's connections evict the silent ones and
        # are themselves safe for EVICT_GRACE (1 s). A scrape inside that second may be
        # refused by design; 5 s is well between the second wave's grace and the third wave.
        time.sleep(5.0)
        assert _get(port) == 200  # a silent connection made room
        assert _fds(process.pid) < 100 + 150  # the cap, plus the daemon's own descriptors
        assert _get(port, "/-/healthy") == 200
    finally:
        for sock in idle:
            sock.close()
        _stop(process)
    text = log.read_text()
    assert "Traceback" not in text and len(text) < 20_000
    assert text.count("http_connection_limit") == 1  # said once, not per connection


def test_malformed_requests_and_hang_ups_are_quiet(tmp_path: Path) -> None:
    process, port, log = _start(tmp_path)
    try:
        junk = [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00",
                b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"b" * 20000 + b"\r\n\r\n"]
        for round_ in range(40):
            for payload in junk:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(payload)
                    sock.settimeout(5)
                    reply = sock.recv(64)
                    assert reply == b"" or reply[:10] in (b"HTTP/1.1 4", b"HTTP/1.0 4"), reply
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                sock.recv(16)
                # a reset mid-response (SO_LINGER 0): the client vanished
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            assert round_ >= 0
        assert _get(port) == 200
    finally:
        _stop(process)
    text = log.read_text()
    assert "Traceback" not in text
    assert '"level": "error"' not in text
    assert len(text.splitlines()) < 40  # start, stop and a few held-back lines at most


def test_a_bad_web_config_is_a_clear_error_at_start(tmp_path: Path) -> None:
    web_config = tmp_path / "web.yml"
    web_config.write_text("basic_auth_users:\n  admin: plain-text-password\n")
    result = subprocess.run(
        [NETWATCH, "--log-format", "json", "run",
         str(_config(tmp_path, free_port())), "--web.config.file", str(web_config)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 2
    (line,) = [json.loads(x) for x in result.stderr.splitlines() if "web_config_invalid" in x]
    assert line["errors"][0].startswith(f"{web_config}:2: basic_auth_users.admin: "
                                        "not a bcrypt hash")
    assert "Traceback" not in result.stderr


# --- slow and stuck clients ------------------------------------------------------------------

async def _closed_after(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        steps: int, dribble: Callable[[int], bytes] | None = None) -> int | None:
    """The step (0.1 s each, at most `steps`) at which the server closed the connection;
    `dribble(step)`: bytes the client sends at each step."""
    for step in range(steps):
        try:
            if dribble is not None:
                writer.write(dribble(step))
                await writer.drain()
            data = await asyncio.wait_for(reader.read(100), 0.1)
        except TimeoutError:
            continue
        except ConnectionError:
            data = b""
        if data == b"":
            return step
    return None


async def test_a_slow_request_head_is_cut_off(tmp_path: Path) -> None:
    path = _config(tmp_path)
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0",
                    web_options=WebOptions(limits=Limits(header_timeout=0.5, idle_timeout=30)))
    await daemon.start()
    try:
        host, port = daemon.addresses[0]
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        # a header line every 0.1 s, never the blank line
        closed_after = await _closed_after(reader, writer, 40,
                                           lambda step: f"X-Slow-{step}: y\r\n".encode())
        assert closed_after is not None and closed_after < 20  # cut at ~0.5 s, not 4 s
        writer.close()
        # an ordinary client on its own connection is unaffected
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://{host}:{port}/metrics") as response:
            assert response.status == 200
    finally:
        await daemon.shutdown()


async def test_a_tls_handshake_that_never_ends_is_cut_off(tmp_path: Path) -> None:
    """A TLS connection reaches the gate after its handshake: a client that opens one and
    stalls in the handshake is bounded by the head timeout too, not asyncio's 60 s."""
    make_certs(tmp_path)
    web_config = tmp_path / "web.yml"
    web_config.write_text("tls_server_config: {cert_file: server.crt, key_file: server.key}\n")
    path = _config(tmp_path)
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0",
                    web_options=WebOptions(read_web_config(web_config),
                                           limits=Limits(header_timeout=0.5, idle_timeout=30)))
    await daemon.start()
    try:
        host, port = daemon.addresses[0]
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello's first bytes, no more
        await writer.drain()
        closed_after = await _closed_after(reader, writer, 50)  # at most 5 s
        writer.close()
        assert closed_after is not None and closed_after < 30  # cut at ~0.5 s, not 60 s
    finally:
        await daemon.shutdown()


class _Bulky:
    """An exposition of ~40 MB (more than any socket buffer holds), counting renders."""

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0
        self.reloads = 0

    def metric_chunks(self) -> Iterator[bytes]:
        self.started += 1
        try:
            line = b"netwatch_up{site=\"x\"} 1\n" * 10_000
            for _ in range(160):
                yield line
        finally:
            self.finished += 1

    async def reload(self) -> tuple[bool, str]:
        await asyncio.to_thread(time.sleep, 0.05)  # the default executor, as the daemon's
        self.reloads += 1
        return True, "reloaded"

    def ready(self) -> bool:
        return True

    def status_rows(self) -> list[tuple[str, ...]]:
        return []

    def app(self) -> web.Application:
        """The daemon's application around this source; only /metrics and /-/reload are
        asked, so the pages' parts of the daemon (inventory, history, ...) are not needed."""
        return make_app(cast(server.Daemon, self))


def _stuck_client(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")  # and never reads
    return sock


async def test_scrapes_whose_client_stops_reading_are_abandoned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scrape, "SEND_TIMEOUT", 1.0)
    source = _Bulky()
    runner = await serve(source.app(), "127.0.0.1", 0, WebOptions(lifecycle=True))
    stuck: list[socket.socket] = []
    try:
        port = runner.addresses[0][1]
        stuck = [await asyncio.to_thread(_stuck_client, port) for _ in range(12)]
        await until(lambda: source.started >= scrape.RENDER_WORKERS, 10, "stuck renders")
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}/-/reload") as response:
                assert response.status == 200  # the reload is not stuck behind them
            statuses: set[int] = set()

            async def one_scrape() -> bool:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    statuses.add(response.status)
                    return response.status == 200 and len(await response.read()) > 10**6

            # more stuck scrapes than the limit: the rest are refused (503) until the stuck
            # ones are let go after SEND_TIMEOUT, then a real scrape gets through
            await until(one_scrape, 30, lambda: f"a scrape (statuses {statuses})")
        await until(lambda: source.finished == source.started, 15, "renderers stopping")
        assert source.reloads == 1
    finally:
        for sock in stuck:
            sock.close()
        await runner.cleanup()


async def test_stopping_with_a_scrape_in_flight_is_quick_and_quiet(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from structlog.testing import capture_logs

    source = _Bulky()
    runner = await serve(source.app(), "127.0.0.1", 0, WebOptions())
    port = runner.addresses[0][1]
    stuck = await asyncio.to_thread(_stuck_client, port)
    try:
        await until(lambda: source.started == 1, 10, "the scrape rendering")
        started = time.monotonic()
        with capture_logs() as logs:
            await runner.cleanup()
        took = time.monotonic() - started
        await until(lambda: source.finished == 1, 5, "the renderer stopping")
    finally:
        stuck.close()
    assert took < 5.0, took  # systemd's stop timeout is far away (the bound is generous)
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]
    assert not [r for r in caplog.records if r.levelno >= 40]


async def test_an_app_built_later_inherits_the_surface(tmp_path: Path) -> None:
    """Routes added to the application (the status pages of another module) get basic auth,
    the lifecycle rules and the limits without doing anything."""
    app = web.Application()

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="a page\n")

    app.router.add_get("/site/{kode}", page)
    hashed = bcrypt.hashpw(b"pw-123456", bcrypt.gensalt(4))
    runner = await serve(app, "127.0.0.1", 0, WebOptions(WebSettings(users={"noc": hashed})))
    try:
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/site/18.71.01.1003") as response:
                assert response.status == 401
            async with session.get(f"http://127.0.0.1:{port}/site/18.71.01.1003",
                                   headers=_login("noc", "pw-123456")) as response:
                assert response.status == 200
    finally:
        await runner.cleanup()
