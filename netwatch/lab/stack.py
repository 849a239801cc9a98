"""A real Prometheus + Alertmanager on loopback ports (Debian's packages), for the tests and
for `netwatch demo --with-prometheus`.

Prometheus scrapes the given targets as job="netwatch" and evaluates the rules rendered
through a timing profile (netwatch.generators.rules, same rule text as production, short `for:`);
Alertmanager runs the production routes, grouping and inhibition with short waits, every
receiver replaced by a webhook into this object, which records each notification with the
receiver it was routed to (no notification ever leaves the machine). Used by the alert
pipeline and end-to-end tests, the dashboard and report tests, and the demo.

    async with PromStack(tmp_path, ["127.0.0.1:9430"]) as pipeline:
        await pipeline.wait_for(lambda: pipeline.firing("noc-telegram", "NetwatchSiteDown"), 60)
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiohttp
import yaml
from aiohttp import web

from netwatch.generators import rules as alerting
from netwatch.lab.ports import free_port

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"


def missing_binaries() -> str | None:
    """Why the pipeline cannot run here, or None (for tests.conftest.require)."""
    absent = [b for b in (PROMETHEUS, ALERTMANAGER) if shutil.which(b) is None]
    return f"missing {', '.join(absent)} (apt install prometheus prometheus-alertmanager)" \
        if absent else None




@dataclass(frozen=True)
class Notification:
    receiver: str
    payload: dict[str, Any]
    at: float  # time.monotonic() on arrival

    @property
    def group(self) -> dict[str, str]:
        return dict(self.payload.get("groupLabels", {}))

    def alerts(self, status: str = "firing") -> list[dict[str, Any]]:
        return [a for a in self.payload.get("alerts", []) if a.get("status") == status]

    def alertnames(self, status: str = "firing") -> list[str]:
        return [a["labels"]["alertname"] for a in self.alerts(status)]


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Ask a child to stop (SIGTERM); kill it when it has not after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class ProcessStack:
    """What the stacks of Debian binaries share (PromStack here, lab.hastack.HaStack): named
    child processes logging into the work directory, readiness waits that notice a child
    that died, a webhook that records every notification, and a close that leaves nothing
    running. Subclasses start their processes in `_start()`."""

    def __init__(self, workdir: Path,
                 on_notification: Callable[[Notification], None] | None = None) -> None:
        self.workdir = workdir
        self.notifications: list[Notification] = []
        self.on_notification = on_notification
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._runner: web.AppRunner | None = None

    # --- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _start(self) -> None:
        raise NotImplementedError

    def _stop_order(self) -> list[str]:
        """The names of the processes in the order they are stopped."""
        return list(self.processes)

    async def close(self) -> None:
        for name in self._stop_order():
            stop_process(self.processes[name])
        self.processes.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _spawn(self, name: str, argv: list[str]) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL)

    def alive(self) -> None:
        """Raise when a process the test did not kill (SIGKILL) has exited."""
        for name, proc in self.processes.items():
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                raise RuntimeError(f"{name} exited ({proc.returncode}): {self.logs()}")

    async def _wait_ready(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                self.alive()
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{url} not ready after {timeout}s: {self.logs()}")

    async def _start_webhook(self, port: int) -> None:
        async def receive(request: web.Request) -> web.Response:
            payload = await request.json()
            notification = Notification(request.match_info["receiver"], payload, time.monotonic())
            self.notifications.append(notification)
            if self.on_notification is not None:
                self.on_notification(notification)
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook/{receiver}", receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.workdir.glob("*.log")))

    # --- what arrived -----------------------------------------------------------------------
    def received(self, receiver: str) -> list[Notification]:
        return [n for n in self.notifications if n.receiver == receiver]

    def firing(self, receiver: str, alertname: str, **labels: str) -> list[Notification]:
        """Notifications to `receiver` with a firing `alertname` whose labels include `labels`."""
        return [n for n in self.received(receiver)
                if any(a["labels"].get("alertname") == alertname
                       and all(a["labels"].get(k) == v for k, v in labels.items())
                       for a in n.alerts())]

    async def wait_for(self, condition: Callable[[], object], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.alive()
            if time.monotonic() > deadline:
                seen = [(n.receiver, n.group, n.alertnames()) for n in self.notifications]
                raise TimeoutError(f"condition not met in {timeout}s; notifications: {seen}"
                                   f"\n{self.logs()}")
            await asyncio.sleep(0.2)


class PromStack(ProcessStack):
    def __init__(self, workdir: Path, targets: list[str], profile: str = "test",
                 overrides: Mapping[str, object] | None = None,
                 scrape_interval: str = "1s",
                 on_notification: Callable[[Notification], None] | None = None,
                 prometheus_args: tuple[str, ...] = ()) -> None:
        super().__init__(workdir, on_notification)
        self.targets = targets
        self.profile = profile
        self.overrides = overrides
        self.scrape_interval = scrape_interval
        self.prometheus_args = prometheus_args  # e.g. a long retention for backfilled data
        self.prometheus_url = ""
        self.alertmanager_url = ""

    async def _start(self) -> None:
        hook_port, am_port, prom_port = free_port(), free_port(), free_port()
        await self._start_webhook(hook_port)
        am_config = alerting.alertmanager_config(f"http://127.0.0.1:{hook_port}/hook",
                                                 profile=self.profile)
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(am_config))
        self.alertmanager_url = f"http://127.0.0.1:{am_port}"
        self._spawn("alertmanager", [
            ALERTMANAGER, f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        ])
        rules = alerting.write_rules(self.workdir / "rules", self.profile, self.overrides)
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rules],
            "alerting": {"alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [{"job_name": "netwatch",
                                "static_configs": [{"targets": self.targets}]}],
        }))
        self.prometheus_url = f"http://127.0.0.1:{prom_port}"
        self._spawn("prometheus", [
            PROMETHEUS, f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}", *self.prometheus_args,
        ])
        await self._wait_ready(f"{self.alertmanager_url}/-/ready")
        await self._wait_ready(f"{self.prometheus_url}/-/ready")

    async def query(self, expr: str) -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.get(
                f"{self.prometheus_url}/api/v1/query", params={"query": expr}) as response:
            body = await response.json()
        return list(body["data"]["result"])
