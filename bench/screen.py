"""Figures of the screen: page weight, first render in headless Chromium, /api/v1/sites server
time at 2,650 sites, and the memory of the RTT/loss minute rings at 2,650 sites.

    .venv/bin/python bench/screen.py            # prints the figures

No network: the daemons here are built from generated configs and never started (nothing is
polled); verdicts are fed as the scheduler would. Chromium loads only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from netwatch.base import logs, memory
from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.history.recent import RecentSeries
from netwatch.icmp.result import IcmpResult
from netwatch.lab.plan import city
from netwatch.scheduler.prober import Outcome
from netwatch.web.server import make_app

HEADER = """listen: 127.0.0.1:0
defaults:
  icmp: {interval: 15s}
  snmp: {enabled: false}
sites:
"""


def config(sites: list[tuple[str, str, str]]) -> str:
    lines = [HEADER]
    for i, (kode, name, kec) in enumerate(sites):
        a = f"127.{40 + i // 60000}.{i // 250 % 240}.{i % 250 + 1}"
        lines.append(f'  - {{id: "{kode}", name: "{name}", kecamatan: "{kec}", devices: '
                     f'[{{name: rtr, role: router, address: "{a}"}}, '
                     f'{{name: ap1, role: ap, address: "{a}", parent: rtr}}]}}\n')
    return "".join(lines)


def daemon_for(sites: list[tuple[str, str, str]], workdir: Path) -> Daemon:
    path = workdir / "netwatch.yml"
    # one address per device (the config refuses duplicates): the APs' first octet part +100
    text = config(sites).replace('{name: ap1, role: ap, address: "127.',
                                 '{name: ap1, role: ap, address: "127.1')
    path.write_text(text)
    inventory = read_inventory(path)
    daemon = Daemon(path, inventory, probers={})
    daemon.state.sync(inventory)
    daemon.sites.sync(inventory)
    for n, key in enumerate(sorted(inventory.targets)):  # every 20th site down
        ok = n % 40 != 0
        result = IcmpResult(5, (0.002,) * (5 if ok else 0))
        for _ in range(3):
            daemon._record(inventory.targets[key], Outcome(result, 0.01, 0.0))
    return daemon


def percentiles(took: list[float]) -> str:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, "
            f"max {ordered[-1]:.2f} ms of {len(ordered)}")


async def api_time(daemon: Daemon, runs: int = 300) -> tuple[dict[str, list[float]], int]:
    """Server time of /api/v1/sites (the Server-Timing header): the first answer after a
    start (every entry made), answers with nothing changed between them (served from
    memory), answers after a site changed state (its entry made again, the list joined),
    and the first answer after a reload of the same config (entries kept)."""
    client = TestClient(TestServer(make_app(daemon)))
    await client.start_server()
    flip = next(iter(daemon.inventory.targets.values()))  # one router: its site flips
    took: dict[str, list[float]] = {"first": [], "unchanged": [], "changed": [], "reload": []}
    size = 0

    async def ask(kind: str) -> None:
        nonlocal size
        answer = await client.get("/api/v1/sites")
        size = len(await answer.read())
        took[kind].append(float(answer.headers["Server-Timing"].split("dur=")[1]))

    try:
        await ask("first")
        for _ in range(runs):
            await ask("unchanged")
        for n in range(runs):  # every echo answered, then none: up, then down after 3 rounds
            result = IcmpResult(5, (0.002,) * (5 if n % 2 else 0))
            for _ in range(3):
                daemon._record(flip, Outcome(result, 0.01, 0.0))
            await ask("changed")
        for _ in range(3):  # a reload of the same file: new objects, equal sites
            inventory = read_inventory(daemon.config_path)
            daemon.inventory = inventory
            daemon.state.sync(inventory)
            daemon.sites.sync(inventory)
            memory.settle()
            await ask("reload")
        return took, size
    finally:
        await client.close()


async def page_weight(daemon: Daemon) -> tuple[int, dict[str, int]]:
    client = TestClient(TestServer(make_app(daemon)))
    await client.start_server()
    try:
        parts = {"/": len(await (await client.get("/")).read())}
        for asset in ("/static/common.js", "/static/noc.js", "/static/screen.css"):
            parts[asset] = len(await (await client.get(asset)).read())
        parts["/api/v1/sites"] = len(await (await client.get("/api/v1/sites")).read())
        return sum(parts.values()), parts
    finally:
        await client.close()


def first_render(url: str, loads: int = 5) -> list[float]:
    """Navigation start to the map coloured from the first API answer (ms)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's tests/
    from tests.browser import browser

    found = []
    with browser(1920, 1080) as driver:
        for _ in range(loads):
            driver.get(url)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                mark = driver.execute_script(
                    "const m = performance.getEntriesByName('nw-first-data');"
                    "return m.length ? m[0].startTime : null")
                if mark is not None:
                    found.append(float(mark))
                    break
                time.sleep(0.05)
    return found


def ring_memory(devices: int) -> float:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    recent = RecentSeries()
    now = time.time()
    for minute in range(1440):  # a full day for every device
        at = now - (1440 - minute) * 60
        for d in range(devices):
            recent.observe(d, at, 5, 5, 0.01)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / 1e6


async def main() -> None:
    logs.configure("error", json=True)  # thousands of verdicts are fed: keep the figures
    work = Path(tempfile.mkdtemp(prefix="netwatch-bench-screen-"))
    plan = city()
    small = [(s.id, s.name, s.kecamatan) for s in plan.sites]
    (work / "small").mkdir()
    d126 = daemon_for(small, work / "small")
    total, parts = await page_weight(d126)
    print(f"page weight, {len(small)} sites (map inlined): {total / 1024:.1f} KiB "
          f"uncompressed: " + ", ".join(f"{k} {v / 1024:.1f}" for k, v in parts.items()))
    big = [(f"99.{i // 10000:02d}.{i // 100 % 100:02d}.{1000 + i % 100}", f"Kel {i}",
            f"Kec {i // 20}") for i in range(2650)]
    (work / "big").mkdir()
    d2650 = daemon_for(big, work / "big")
    memory.settle()  # as the daemon does after every (re)load: the long-lived heap frozen
    took, size = await api_time(d2650)
    print(f"/api/v1/sites at {len(big)} sites ({size / 1024:.0f} KiB), server time:")
    for kind, label in (("first", "first answer after a start"),
                        ("unchanged", "nothing changed since the last answer"),
                        ("changed", "a site changed state before each answer"),
                        ("reload", "first answer after a reload")):
        print(f"  {label}: {percentiles(took[kind])}")
    print(f"RTT/loss minute rings, {2 * len(big)} devices x 24 h: "
          f"{ring_memory(2 * len(big)):.1f} MB")
    client = TestClient(TestServer(make_app(d126)))
    await client.start_server()
    try:
        url = str(client.make_url("/"))
        marks = await asyncio.to_thread(first_render, url)
    finally:
        await client.close()
    if marks:
        print(f"first render (navigation to a coloured map), {len(small)} sites, headless "
              f"Chromium: median {statistics.median(marks):.0f} ms, max {max(marks):.0f} ms "
              f"of {len(marks)}")


if __name__ == "__main__":
    asyncio.run(main())
