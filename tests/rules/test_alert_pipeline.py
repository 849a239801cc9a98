"""The rules and the Alertmanager config in a real Prometheus and Alertmanager (test timing
profile), fed by a stand-in exporter that serves the daemon's verdicts: a site down makes one
notification and none for the access point behind it; a dark kecamatan makes one
area-outage notification and no per-site ones. (The end-to-end test against the lab does the
same with the real daemon.)"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from netwatch.lab.ports import free_port
from netwatch.lab.stack import PromStack, missing_binaries
from tests import alert_timing
from tests.conftest import require

pytestmark = pytest.mark.integration

STATES = ("up", "degraded", "down", "unreachable", "maintenance")
REASONS = ("parent_down", "upstream_down", "maintenance", "poller_isolated")
JOBLESS = 'site="{site}",kecamatan="{kec}"'

# kecamatan -> [(site, state)]: one of three Kedaton sites down; three of four Rajabasa sites
# down or unreachable (an area outage)
SITES = {
    "Kedaton": [("18.71.01.1001", "down"), ("18.71.01.1002", "up"), ("18.71.01.1003", "up")],
    "Rajabasa": [("18.71.10.1001", "down"), ("18.71.10.1002", "down"),
                 ("18.71.10.1003", "unreachable"), ("18.71.10.1004", "up")],
}


def _exposition() -> str:
    lines = ["netwatch_config_last_reload_successful 1", "netwatch_poller_isolated 0",
             "netwatch_event_loop_lag_seconds 0.001"]
    for kec, sites in SITES.items():
        for site, state in sites:
            labels = JOBLESS.format(site=site, kec=kec)
            lines += [f'netwatch_site_state{{{labels},state="{s}"}} {int(s == state)}'
                      for s in STATES]
            lines.append(f'netwatch_site_info{{{labels},kelurahan="K{site[-2:]}",latitude="",'
                         f'longitude="",isp="isp-a",upstream=""}} 1')
            router_up = int(state not in ("down", "unreachable"))
            ap_reason = {"down": "parent_down", "unreachable": "upstream_down"}.get(state)
            rtr_reason = "upstream_down" if state == "unreachable" else None
            for device, role, up, reason in (("rtr", "router", router_up, rtr_reason),
                                             ("ap1", "ap", router_up, ap_reason)):
                dlabels = f'{labels},device="{device}",role="{role}"'
                lines.append(f'netwatch_up{{{dlabels},probe="icmp"}} {up}')
                lines += [f'netwatch_device_suppressed{{{dlabels},reason="{r}"}} {int(r == reason)}'
                          for r in REASONS]
    return "\n".join(lines) + "\n"


@pytest.fixture
async def exporter() -> AsyncIterator[str]:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=_exposition())

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"127.0.0.1:{port}"
    await runner.cleanup()


async def test_one_notification_per_incident(tmp_path: Path, exporter: str) -> None:
    require(missing_binaries())
    timing = alert_timing.seconds("site_down_for", "area_outage_for", "group_interval")
    assert timing["area_outage_for"] < timing["site_down_for"]
    async with PromStack(tmp_path, [exporter]) as pipeline:
        started = time.monotonic()
        await pipeline.wait_for(
            lambda: pipeline.firing("noc-telegram", "NetwatchAreaOutage", kecamatan="Rajabasa")
            and pipeline.firing("noc-telegram", "NetwatchSiteDown", site="18.71.01.1001"),
            timeout=60)
        # long enough for every per-site alert of Rajabasa to have fired and been sent,
        # had the rules not held them back
        quiet_until = started + timing["site_down_for"] + 2 * timing["group_interval"] + 3
        await pipeline.wait_for(lambda: time.monotonic() > quiet_until, timeout=60)

        noc = pipeline.received("noc-telegram")
        rajabasa = [n for n in noc if n.group == {"kecamatan": "Rajabasa"}]
        kedaton = [n for n in noc if n.group == {"kecamatan": "Kedaton"}]
        assert [n.alertnames() for n in rajabasa] == [["NetwatchAreaOutage"]], pipeline.logs()
        assert [n.alertnames() for n in kedaton] == [["NetwatchSiteDown"]]
        assert kedaton[0].alerts()[0]["labels"]["site"] == "18.71.01.1001"
        assert rajabasa[0].at < kedaton[0].at, "the area outage comes before per-site alerts"
        every = [name for n in pipeline.notifications for name in n.alertnames()]
        assert "NetwatchDeviceDown" not in every, "no alert for the access point behind"
        # critical: the on-call phone and the area's field team get the same two messages
        for receiver in ("oncall-whatsapp", "tim-utara-telegram"):
            assert sorted(n.group["kecamatan"] for n in pipeline.received(receiver)) == \
                ["Kedaton", "Rajabasa"]
