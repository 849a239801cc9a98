"""systemd's notify protocol as the real daemon speaks it, heard on a socket the test owns.

The test plays systemd: it listens on a unix datagram socket, starts `netwatch run` with
NOTIFY_SOCKET and WATCHDOG_USEC pointing at it, and checks READY=1 (only once listening),
WATCHDOG=1 while polls progress, RELOADING=1 + MONOTONIC_USEC then READY=1 around SIGHUP
(good and bad configs), and STOPPING=1 on SIGTERM. Senders are checked by SCM_CREDENTIALS:
with NotifyAccess=main systemd accepts messages from the main process only. ICMP goes to
127.x only.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from netwatch.base.errors import StartupError
from netwatch.daemon import sdnotify, service
from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.lab.ports import free_port
from tests.conftest import require

pytestmark = pytest.mark.integration

WAIT = 30.0  # bound of every wait for a message


def daemon_missing() -> str | None:
    for module in ("netwatch.icmp.prober", "netwatch.snmp.prober"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not there yet: the daemon cannot start"
    return None


@dataclass(frozen=True)
class Message:
    fields: dict[str, str]
    pid: int

    def __contains__(self, item: str) -> bool:
        key, _, value = item.partition("=")
        return self.fields.get(key) == value


class NotifySocket:
    """What systemd listens on: a datagram socket passing the sender's credentials."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.seen: list[Message] = []

    def receive(self, timeout: float) -> Message | None:
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not ready:
            return None
        data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        message = Message(fields, pid)
        self.seen.append(message)
        return message

    def wait_for(self, predicate: Callable[[Message], bool], what: str,
                 timeout: float = WAIT) -> Message:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            message = self.receive(remaining)
            if message is not None and predicate(message):
                return message
        raise AssertionError(f"no {what} within {timeout}s; got {[m.fields for m in self.seen]}")

    def close(self) -> None:
        self.sock.close()


def city_config(port: int, sites: int) -> dict[str, Any]:
    return {
        "listen": f"127.0.0.1:{port}",
        "defaults": {"icmp": {"interval": "1s", "count": 1, "timeout": "500ms"},
                     "snmp": {"enabled": False}},
        "canaries": [{"name": "core", "address": "127.0.0.1"}],
        "sites": [{"id": f"18.71.01.{1001 + i}", "name": f"Kel {i}", "kecamatan": "Kedaton",
                   "devices": [{"name": "rtr", "role": "router",
                                "address": f"127.0.80.{i + 1}"}]}
                  for i in range(sites)],
    }


Started = tuple[subprocess.Popen[bytes], NotifySocket, Path, int]  # and its config, its port


class StartDaemon(Protocol):
    def __call__(self, address: str | None = None, watchdog_usec: int | None = None,
                 sites: int = 2) -> Started: ...


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    require(daemon_missing())
    started: list[tuple[subprocess.Popen[bytes], NotifySocket]] = []

    def start(address: str | None = None, watchdog_usec: int | None = None,
              sites: int = 2) -> Started:
        address = address or str(tmp_path / "notify")
        listener = NotifySocket(address)
        port = free_port()
        config = tmp_path / "netwatch.yml"
        config.write_text(yaml.safe_dump(city_config(port, sites)))
        env = {**os.environ, "NOTIFY_SOCKET": address}
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        with (tmp_path / "daemon.log").open("wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen([sys.executable, "-m", "netwatch", "--log-format", "json",
                                     "run", str(config)], env=env, stdout=log, stderr=log,
                                    cwd=tmp_path)
        started.append((proc, listener))
        return proc, listener, config, port

    yield start
    for proc, listener in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        listener.close()
    log_file = tmp_path / "daemon.log"
    if log_file.exists():
        print(log_file.read_text()[-4000:])


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        body: bytes = response.read()
    return body.decode()


def monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_lifecycle_ready_watchdog_reload_stop(daemon: StartDaemon) -> None:
    proc, notify, config, port = daemon(watchdog_usec=400_000)

    ready = notify.wait_for(lambda m: "READY=1" in m, "READY=1")
    assert ready.pid == proc.pid, "NotifyAccess=main: only the main process may notify"
    assert get(port, "/-/healthy").strip() == "OK", "READY=1 came before the port listened"
    assert ready.fields.get("STATUS") == "polling 3 targets"

    for _ in range(3):  # period = WATCHDOG_USEC/2 = 0.2 s
        beat = notify.wait_for(lambda m: "WATCHDOG=1" in m, "WATCHDOG=1", timeout=10)
        assert beat.pid == proc.pid

    # a good reload: RELOADING=1 with the time it began, then READY=1 with the new status
    data = yaml.safe_load(config.read_text())
    data["sites"].append({"id": "18.71.01.1999", "name": "Baru", "kecamatan": "Kedaton",
                          "devices": [{"name": "rtr", "role": "router", "address": "127.0.80.99"}]})
    config.write_text(yaml.safe_dump(data))
    before = monotonic_usec()
    proc.send_signal(signal.SIGHUP)
    reloading = notify.wait_for(lambda m: "RELOADING=1" in m, "RELOADING=1")
    assert before <= int(reloading.fields["MONOTONIC_USEC"]) <= monotonic_usec()
    done = notify.wait_for(lambda m: "READY=1" in m, "READY=1 after reload")
    assert done.fields.get("STATUS") == "polling 4 targets"

    # a bad reload: the old config keeps running, and systemd hears READY=1 again
    config.write_text(config.read_text() + "\nbogus_key: 1\n")
    proc.send_signal(signal.SIGHUP)
    notify.wait_for(lambda m: "RELOADING=1" in m, "RELOADING=1 (bad config)")
    kept = notify.wait_for(lambda m: "READY=1" in m, "READY=1 after a failed reload")
    assert "reload failed" in kept.fields.get("STATUS", "")
    assert proc.poll() is None
    assert "netwatch_config_last_reload_successful 0" in get(port, "/metrics")
    notify.wait_for(lambda m: "WATCHDOG=1" in m, "WATCHDOG=1 after a failed reload", timeout=10)

    proc.send_signal(signal.SIGTERM)
    stopping = notify.wait_for(lambda m: "STOPPING=1" in m, "STOPPING=1")
    assert stopping.pid == proc.pid
    assert proc.wait(20) == 0


def test_abstract_socket_and_no_watchdog_unless_asked(daemon: StartDaemon) -> None:
    proc, notify, _, _ = daemon(address=f"@netwatch-test-{uuid.uuid4().hex[:12]}")
    notify.wait_for(lambda m: "READY=1" in m, "READY=1 on an abstract socket")
    proc.send_signal(signal.SIGTERM)
    notify.wait_for(lambda m: "STOPPING=1" in m, "STOPPING=1")
    assert proc.wait(20) == 0
    assert not any("WATCHDOG=1" in m for m in notify.seen), "WATCHDOG=1 without WATCHDOG_USEC"


def test_outside_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.ready() is False
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert sdnotify.watchdog_period() is None, "the watchdog was meant for another process"
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_period() == 15.0


async def test_watchdog_stops_when_polls_stall(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """No prober for the targets: the scheduler makes no progress, like a wedged one."""
    address = str(tmp_path / "notify")
    notify = NotifySocket(address)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    config = tmp_path / "netwatch.yml"
    config.write_text(yaml.safe_dump(city_config(free_port(), 1)))  # interval 1s
    daemon = Daemon(config, read_inventory(config), probers={})
    loop = asyncio.get_running_loop()
    pings: list[float] = []

    def on_message() -> None:
        message = notify.receive(0)
        if message is not None and "WATCHDOG=1" in message:
            pings.append(loop.time())

    loop.add_reader(notify.sock.fileno(), on_message)
    started = loop.time()
    task = asyncio.create_task(daemon._watchdog(0.05))
    try:
        # within the grace of two intervals (2 s) the pings go on ...
        await asyncio.sleep(0.6)
        assert len(pings) >= 3, "a long interval must not starve the watchdog"
        # ... past it, silence: systemd kills and restarts us after WatchdogSec
        await asyncio.sleep(max(0.0, started + 2.3 - loop.time()))
        before = len(pings)
        await asyncio.sleep(0.5)
        assert len(pings) == before, "pinged although no poll finished for two intervals"
        daemon.scheduler.polls += 1  # progress again: pings resume
        await asyncio.sleep(0.5)
        assert len(pings) > before
    finally:
        task.cancel()
        loop.remove_reader(notify.sock.fileno())
        notify.close()


def test_a_full_queue_does_not_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd busy (its queue full): pings are dropped at once, state changes wait briefly."""
    address = str(tmp_path / "notify")
    notify = NotifySocket(address)  # never read: the queue fills up
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    try:
        sent = [sdnotify.watchdog() for _ in range(200)]
        assert sent[0] is True and sent[-1] is False
        assert sdnotify.ready("x") is False
    finally:
        notify.close()


class _NoStart:
    """A prober that cannot start, as the SNMP prober could not without its engines."""

    probe = "snmp"

    async def start(self) -> None:
        raise StartupError("cannot open the SNMP sockets (test)")

    async def close(self) -> None:
        return None


async def test_a_reload_whose_prober_cannot_start_still_says_ready(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new config needs a prober that fails to start: the old config keeps running, the
    metric says the reload failed, and systemd hears READY=1 again (not stuck "reloading")."""
    require(daemon_missing())
    address = str(tmp_path / "notify")
    notify = NotifySocket(address)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    config = tmp_path / "netwatch.yml"
    document = city_config(0, 1)
    config.write_text(yaml.safe_dump(document))
    daemon = Daemon(config, read_inventory(config), listen="127.0.0.1:0")
    await daemon.start()
    try:
        document["auths"] = {"v2": {"version": "2c", "community": "public"}}
        document["defaults"]["snmp"] = {"auth": "v2"}
        config.write_text(yaml.safe_dump(document))
        real = service.make_prober
        monkeypatch.setattr(service, "make_prober",
                            lambda probe: _NoStart() if probe == "snmp" else real(probe))
        ok, message = await daemon.reload()
        assert not ok and "cannot open the SNMP sockets" in message
        reloading = notify.wait_for(lambda m: "RELOADING=1" in m, "RELOADING=1")
        assert reloading.pid == os.getpid()
        notify.wait_for(lambda m: "READY=1" in m, "READY=1 after the failed reload")
        assert b"\nnetwatch_config_last_reload_successful 0\n" in daemon.render_metrics()
        assert daemon.inventory.count("snmp") == 0 and daemon.inventory.count("icmp") == 2
    finally:
        await daemon.shutdown()
        notify.close()
