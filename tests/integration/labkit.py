"""The lab and the daemon polling it, started and always stopped together (tests only), and
the lab timing the end-to-end tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.lab import netns
from netwatch.lab.agents import snmpsim_available
from netwatch.lab.lab import Lab
from netwatch.lab.plan import LabPlan, Timing
from tests.conftest import require

# one-second rounds, two rounds to go down, one to come back: verdicts within seconds
FAST = Timing(icmp_interval=1.0, icmp_count=5, icmp_spacing=0.05, icmp_timeout=0.3,
              snmp_interval=2.0, snmp_timeout=0.5, down_after=2, up_after=1)


@asynccontextmanager
async def lab_and_daemon(plan: LabPlan, healthy_first: bool = False,
                         listen: str = "127.0.0.1:0") -> AsyncIterator[tuple[Lab, Daemon]]:
    """Start the lab (namespaces: root), then a daemon on `listen` (a free loopback port)
    polling it. `healthy_first`: silent zones start answering (tests switch them off when
    they choose)."""
    require(netns.available())
    require(snmpsim_available())
    lab = Lab(plan)
    await asyncio.to_thread(lab.start)
    daemon: Daemon | None = None
    try:
        if healthy_first:
            for trouble in lab.plan.troubles:
                lab.set_reachable(trouble.sites[0], True)
        daemon = Daemon(lab.config_path, read_inventory(lab.config_path), listen=listen)
        await daemon.start()
        yield lab, daemon
    finally:
        if daemon is not None:
            await daemon.shutdown()
        await asyncio.to_thread(lab.stop)


def scrape_target(daemon: Daemon) -> str:
    host, port = daemon.addresses[0]
    return f"{host}:{port}"


async def scrape(daemon: Daemon, gzip: bool = False) -> str:
    """GET /metrics as Prometheus does (gzip when asked), the body as text."""
    host, port = daemon.addresses[0]
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://{host}:{port}/metrics", headers=headers) as response:
        assert response.status == 200
        assert (response.headers.get("Content-Encoding") == "gzip") == gzip
        return await response.text()
