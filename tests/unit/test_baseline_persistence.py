"""A link's normal survives a restart: the daemon writes its baselines to the history store
(SQLite) and reads them back before its first poll."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.icmp.result import IcmpResult
from netwatch.sites.baseline import RTT
from tests.fakes import FakeIcmp

CONFIG = """listen: 127.0.0.1:0
thresholds: thresholds.yml
history: {path: history.sqlite}
defaults:
  icmp: {interval: 0.2s, count: 1, timeout: 0.1s}
  snmp: {enabled: false}
sites:
  - {id: "s1", name: S1, kecamatan: K, devices: [{name: rtr, role: router, address: "127.9.0.1"}]}
"""
# one-second buckets, two make a normal: the test waits seconds, not hours
THRESHOLDS = "baselines: {bucket: 1s, window_days: 1, min_buckets: 2}\n"


async def _run(path: Path, rtt: float | None) -> float | None:
    """Start a daemon, let it poll for a while, stop it; the RTT normal it had at the start
    (before any poll) or, polling, at the end."""
    result = IcmpResult(1, (rtt,)) if rtt is not None else IcmpResult(1, ())
    daemon = Daemon(path, read_inventory(path), probers={"icmp": FakeIcmp(result)},
                    listen="127.0.0.1:0")
    await daemon.start()
    try:
        at_start = daemon.sites.why.normal("s1", "rtr", RTT, "")
        if rtt is None:
            return at_start
        for _ in range(50):  # at most 5 s
            if daemon.sites.why.normal("s1", "rtr", RTT, "") is not None:
                break
            await asyncio.sleep(0.1)
        return daemon.sites.why.normal("s1", "rtr", RTT, "")
    finally:
        await daemon.shutdown()


async def test_baselines_are_kept_in_the_history_store_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text(CONFIG)
    (tmp_path / "thresholds.yml").write_text(THRESHOLDS)
    learnt = await _run(path, rtt=0.004)
    assert learnt is not None and abs(learnt - 0.004) < 1e-6
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        rows = db.execute("SELECT site, device FROM baselines").fetchall()
    assert rows == [("s1", "rtr")]
    # the restarted daemon knows the normal before it has polled (its pings now fail)
    restored = await _run(path, rtt=None)
    assert restored is not None and abs(restored - 0.004) < 1e-6


async def test_baselines_of_other_buckets_are_not_restored(tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text(CONFIG)
    (tmp_path / "thresholds.yml").write_text(THRESHOLDS)
    assert await _run(path, rtt=0.004) is not None
    # the buckets changed: the stored rings would mean other times
    (tmp_path / "thresholds.yml").write_text(THRESHOLDS.replace("bucket: 1s", "bucket: 2s"))
    assert await _run(path, rtt=None) is None
