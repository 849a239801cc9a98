"""The README's and docs/first-hour.md's commands, run as written.

Every line of their ```sh blocks is run. The checkout's own commands (`sh scripts/...`) run
here: the demo until its banner is up, then Ctrl-C; the package build is the `deb` fixture's
own command; `sh scripts/test.sh` is the command running this test, so it is the one line
not run again. Every other line is an admin's command on the server: it runs, in order, as
root in a fresh Debian 12 root (tests/integration/debroot.py) in /root, where the built
package and the spreadsheet lie. The root has no systemd: tests/integration/chroot_systemctl.py
stands in for `systemctl`, and /run/systemd/system exists, so the packages' maintainer scripts
start their services through it as on a booted server.

The spreadsheet's sites are on loopback addresses, and nothing leaves the machine:
Alertmanager's `telegram_api_url` points at a fake Telegram API on loopback (it must receive
the first-hour page's test message), and the other receivers' hosts at a closed loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from netwatch.lab.ports import free_port
from tests.conftest import ROOT
from tests.integration.debroot import chroot, fresh_root

pytestmark = [pytest.mark.integration, pytest.mark.root]

DOCS = (ROOT / "README.md", ROOT / "docs" / "first-hour.md")
NOT_RUN = {"sh scripts/test.sh": "the command running this test"}
BUILT_BY_FIXTURE = "sh scripts/build-deb.sh"
DEMO = "sh scripts/demo.sh"
SERVICE_PORTS = (9430, 9090, 9093, 9094)  # netwatch, Prometheus, Alertmanager (+ gossip)
SPREADSHEET = ("kode_wilayah;kelurahan;kecamatan;lat;lon;rtr_address;ap1_address\n"
               "18.71.01.1003;Kedaton;Kedaton;-5.3834;105.2635;127.0.71.31;127.0.71.32\n"
               "18.71.01.1004;Sidodadi;Kedaton;-5.3786;105.2651;127.0.71.41;127.0.71.42\n")
TOKEN, CHAT = "123456789:AAHfirstHourExampleToken", -1001234567890


def sh_lines(path: Path) -> list[str]:
    """The command lines of a Markdown file's ```sh blocks (continuations joined)."""
    lines, inside, pending = [], False, ""
    for raw in path.read_text().splitlines():
        if raw.strip().startswith("```"):
            inside = raw.strip() == "```sh" if not inside else False
            continue
        if not inside or (not pending and (not raw.strip() or raw.lstrip().startswith("#"))):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        lines.append((pending + raw).strip())
        pending = ""
    return lines


def test_the_docs_have_commands() -> None:
    readme, first_hour = (sh_lines(p) for p in DOCS)
    assert {DEMO, "sh scripts/test.sh", BUILT_BY_FIXTURE} <= set(readme)
    assert len(first_hour) >= 15
    # the one line not run is the README's test command, which is what CI runs
    assert (ROOT / ".ci/run").read_text().rstrip().endswith("exec sh scripts/test.sh")


def test_readme_demo_runs_as_written(tmp_path: Path) -> None:
    assert DEMO in sh_lines(DOCS[0])
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(DEMO.split(), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            while "Stop with Ctrl-C" not in log.read_text(errors="replace"):
                assert demo.poll() is None, log.read_text(errors="replace")[-3000:]
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.5)
            demo.send_signal(signal.SIGINT)
            code = demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait(timeout=10)
    text = log.read_text(errors="replace")
    assert "status page   http://127.0.0.1:9430/" in text
    assert "nothing left behind" in text, text[-3000:]
    assert code in (0, 130), text[-3000:]


# --- the server -----------------------------------------------------------------------------

class FakeTelegram:
    """Telegram's Bot API as Alertmanager calls it: POST /bot<token>/sendMessage."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.url = ""

    async def send(self, request: web.Request) -> web.Response:
        form: dict[str, Any] = dict(await request.post()) if request.content_type != \
            "application/json" else await request.json()
        self.messages.append((request.match_info["token"], form))
        self.arrived.set()
        return web.json_response({"ok": True, "result": {
            "message_id": len(self.messages), "date": int(time.time()),
            "chat": {"id": int(form.get("chat_id", 0)), "type": "supergroup"}}})


@pytest_asyncio.fixture(loop_scope="session")
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", fake.send)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


def keep_on_loopback(root: Path, telegram: str) -> None:
    """The test's only edit of the admin's files: Telegram is the fake; no other host."""
    path = root / "etc/prometheus/alertmanager.yml"
    text = path.read_text().replace("https://api.telegram.org", telegram)
    text = re.sub(r"[\w.-]+\.example\.invalid(:\d+)?", "127.0.0.1:9", text)
    path.write_text(text)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


Check = Callable[[subprocess.CompletedProcess[str]], object]
CHECKS: dict[str, Check] = {
    "netwatch --version": lambda p: re.fullmatch(r"netwatch \S+\n", p.stdout),
    "netwatch check-config": lambda p: re.search(r"OK\n\s+sites:\s+2 in 1 kecamatan", p.stdout),
    "systemctl status netwatch": lambda p: "active (running)" in p.stdout,
    "grep -c '^netwatch_site_state{'": lambda p: p.stdout.strip() == "10",  # 2 sites x 5
    "api/v1/rules": lambda p: p.stdout.strip() not in ("", "0"),
    "amtool check-config": lambda p: "SUCCESS" in p.stdout,
}


async def test_server_commands_run_as_written(deb: Path, telegram: FakeTelegram) -> None:
    busy = [p for p in SERVICE_PORTS if not port_free(p)]
    assert not busy, f"ports {busy} are taken here: the docs' services need them"
    lines = [ln for doc in DOCS for ln in sh_lines(doc)
             if not ln.startswith("sh scripts/")]
    assert BUILT_BY_FIXTURE in sh_lines(DOCS[0])  # the `deb` fixture ran exactly this
    with fresh_root() as root:
        home = root / "root"
        (home / "dist").mkdir(parents=True, exist_ok=True)
        shutil.copy2(deb, home / "dist" / deb.name)  # the README builds it in the checkout
        shutil.copy2(deb, home / deb.name)           # first-hour: copied to the server
        (home / "kelurahan.csv").write_text(SPREADSHEET)
        shim = root / "usr/bin/systemctl"  # apt runs maintainer scripts with /usr/bin on PATH
        shutil.copy2(Path(__file__).with_name("chroot_systemctl.py"), shim)
        shim.chmod(0o755)
        (root / "run/systemd/system").mkdir(parents=True)  # a "booted" system: units start
        for line in lines:
            checks = [check for key, check in CHECKS.items() if key in line]
            # what asks a running service is tried again for a while, as a person would:
            # the first rounds take seconds, Prometheus scrapes every 15 s
            deadline = time.monotonic() + (60 if "curl" in line else 0)
            while True:
                proc = await asyncio.to_thread(chroot, root, "sh", "-c", f"cd /root && {line}",
                                               check=False, stdin="y\n")
                done = proc.returncode == 0 and all(check(proc) for check in checks)
                if done or time.monotonic() > deadline:
                    break
                await asyncio.sleep(2)
            assert done, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
            if line.startswith("netwatch-setup stack"):
                keep_on_loopback(root, telegram.url)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(telegram.arrived.wait(), 30)
        log = (root / "var/log/prometheus-alertmanager.service.log")
        assert telegram.messages, log.read_text(errors="replace")[-3000:] if log.exists() else ""
        token, form = telegram.messages[0]
        assert token == TOKEN and int(form["chat_id"]) == CHAT
        assert "Pesan uji netwatch / netwatch test message" in str(form.get("text", "")), form
