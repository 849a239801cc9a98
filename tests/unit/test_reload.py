"""The reload path: a reload that fails half way keeps the old schedule and says so; many
reload requests at once coalesce into one running and one queued."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from pathlib import Path

import pytest

from netwatch.daemon import service
from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.inventory.model import Inventory
from tests.fakes import FakeIcmp

CONFIG = """listen: 127.0.0.1:0
defaults:
  icmp: {interval: 0.2s, count: 1, timeout: 0.1s}
  snmp: {enabled: false}
sites:
"""


def _config(path: Path, sites: int) -> Path:
    path.write_text(CONFIG + "".join(
        f'  - {{id: "s{i}", name: S{i}, kecamatan: K, devices: [{{name: rtr, role: router, '
        f'address: "127.9.0.{i + 1}"}}]}}\n' for i in range(sites)))
    return path


def _reload_metric(daemon: Daemon) -> bytes:
    return next(line for line in daemon.render_metrics().splitlines()
                if line.startswith(b"netwatch_config_last_reload_successful "))


async def test_a_reload_failing_half_way_keeps_the_old_schedule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path / "netwatch.yml", 3)
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0")
    await daemon.start()
    try:
        jobs = dict(daemon.scheduler._jobs)
        # a target the scheduler cannot plan (NaN interval, as `.nan` once got through):
        # the scheduler fails after it has retired and replaced some jobs
        good = read_inventory(path)
        broken_key = sorted(good.targets)[1]
        targets = {k: replace(t, policy=replace(t.policy, interval=math.nan))
                   if k == broken_key else t
                   for k, t in good.targets.items()}
        targets = dict(sorted(targets.items(), reverse=True))  # the broken one in the middle
        broken = replace(good, targets=targets)

        monkeypatch.setattr(service, "read_inventory_apart", lambda *_: broken)
        ok, message = await daemon.reload()
        assert not ok and "internal error: ValueError" in message
        assert _reload_metric(daemon) == b"netwatch_config_last_reload_successful 0"
        assert set(daemon.scheduler._jobs) == set(jobs)
        assert all(job.active for job in daemon.scheduler._jobs.values())
        assert daemon.inventory.targets.keys() == jobs.keys()
        polls = daemon.scheduler.polls
        await asyncio.sleep(0.5)
        assert daemon.scheduler.polls >= polls + 3  # every target is polled again

        monkeypatch.setattr(service, "read_inventory_apart", lambda *_: read_inventory(path))
        ok, message = await daemon.reload()
        assert ok, message
        assert _reload_metric(daemon) == b"netwatch_config_last_reload_successful 1"
    finally:
        await daemon.shutdown()


async def test_concurrent_reloads_coalesce(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path / "netwatch.yml", 2)
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0")
    await daemon.start()
    reads = 0

    def slow_read(*_: object) -> Inventory:
        nonlocal reads
        reads += 1
        import time

        time.sleep(0.2)  # in the reload's worker thread
        return read_inventory(path)

    monkeypatch.setattr(service, "read_inventory_apart", slow_read)
    try:
        first = asyncio.ensure_future(daemon.reload())
        await asyncio.sleep(0.05)  # the first is reading; 70 more arrive
        results = await asyncio.gather(first, *(daemon.reload() for _ in range(70)))
        assert all(ok for ok, _ in results)
        assert reads == 2  # the running one, and one queued for all the others
        # a request after those finished reads the file again
        assert (await daemon.reload())[0] and reads == 3
        # a caller that gives up does not cancel the reload the others wait for
        waiting = [asyncio.ensure_future(daemon.reload()) for _ in range(3)]
        await asyncio.sleep(0.05)
        waiting[0].cancel()
        done = await asyncio.gather(*waiting[1:])
        assert all(ok for ok, _ in done) and reads == 4
    finally:
        await daemon.shutdown()


async def test_a_reload_dropping_most_targets_warns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from structlog.testing import capture_logs

    path = _config(tmp_path / "netwatch.yml", 12)
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp()},
                    listen="127.0.0.1:0")
    await daemon.start()
    try:
        _config(path, 2)
        monkeypatch.setattr(service, "read_inventory_apart", lambda *_: read_inventory(path))
        with capture_logs() as logs:
            ok, _ = await daemon.reload()
        assert ok
        dropped = [e for e in logs if e["event"] == "reload_dropped_targets"]
        assert dropped and dropped[0]["before"] == 12 and dropped[0]["after"] == 2
        assert dropped[0]["log_level"] == "warning"
    finally:
        await daemon.shutdown()
