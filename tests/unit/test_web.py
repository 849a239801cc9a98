"""HTTP endpoints over a daemon that is not started (its real state, engine and history; a
fake exposition and reload): /metrics, /-/*, the pages, the API against its JSON Schemas,
the public page, and states restored from the history file."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.icmp.result import IcmpResult
from netwatch.scheduler.prober import Failed, Outcome, Result
from netwatch.snmp.neighbors import Neighbor, Topology
from netwatch.snmp.result import SnmpResult
from netwatch.web.public import make_public_app
from netwatch.web.server import make_app
from netwatch.web.sitelist import SiteList
from netwatch.web.views import iso
from tests.conftest import ROOT
from tests.fakes import FakeIcmp
from tests.metrics import parse, pick

SCHEMAS = ROOT / "docs" / "api"
CONFIG = """listen: 127.0.0.1:0
history: {{path: {history}}}
defaults:
  icmp: {{interval: 1s, count: 5, spacing: 0.05s, timeout: 0.3s}}
  snmp: {{enabled: false}}
  state: {{down_after: 2, up_after: 1}}
upstreams:
  - {{id: pop-kedaton, name: POP Kedaton, kecamatan: Kedaton,
     devices: [{{name: sw, role: upstream, address: 127.0.0.9}}]}}
sites:
  - id: "18.71.01.1003"
    name: Kedaton
    kecamatan: Kedaton
    upstream: pop-kedaton
    maintenance: [{{weekly: {{days: [sat], at: "22:00"}}, duration: 2h, reason: fibre work}}]
    devices:
      - {{name: rtr, role: router, address: 127.0.0.1}}
      - {{name: ap1, role: ap, address: 127.0.0.2, parent: rtr}}
  - id: "18.71.01.1004"
    name: Sidodadi
    kecamatan: Kedaton
    devices: [{{name: rtr, role: router, address: 127.0.0.3}}]
  - id: "18.71.99.1001"
    name: Nowhere
    kecamatan: Elsewhere
    devices: [{{name: rtr, role: router, address: 127.0.0.4}}]
"""


class PageDaemon(Daemon):
    """The real parts the pages read; the exposition and the reload faked."""

    reload_ok = True
    is_ready = False

    def metric_chunks(self) -> Iterator[bytes]:
        yield b'# HELP netwatch_up Up.\n# TYPE netwatch_up gauge\n'
        for i in range(5000):  # several pieces: the response is streamed
            yield f'netwatch_up{{site="s{i}"}} 1\n'.encode()

    async def reload(self) -> tuple[bool, str]:
        return (True, "reloaded: 3 targets") if self.reload_ok else (False, "reload failed: x")

    def ready(self) -> bool:
        return self.is_ready

    def poll(self, site: str, device: str, ok: bool, rounds: int = 1) -> None:
        """Rounds as the ICMP prober reports them: all five echoes answered, or none."""
        for _ in range(rounds):
            self.poll_result(site, device, IcmpResult(5, (0.001,) * 5 if ok else ()))

    def poll_result(self, site: str, device: str, result: Result) -> None:
        target = self.inventory.targets[(site, device, "icmp")]
        self._record(target, Outcome(result, 0.01, 0.0))


def make_daemon(tmp_path: Path) -> PageDaemon:
    path = tmp_path / "netwatch.yml"
    path.write_text(CONFIG.format(history=tmp_path / "history.sqlite"))
    inventory = read_inventory(path)
    return PageDaemon(path, inventory, probers={"icmp": FakeIcmp()})


async def started(daemon: PageDaemon) -> PageDaemon:
    """What Daemon.start does, minus probers, scheduler and HTTP: restore, then sync."""
    daemon.sites.restore(await daemon.history.start())
    daemon.state.sync(daemon.inventory)
    daemon.sites.sync(daemon.inventory)
    return daemon


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[PageDaemon]:
    made = await started(make_daemon(tmp_path))
    yield made
    await made.history.close()


async def client(app: web.Application) -> TestClient[web.Request, web.Application]:
    c = TestClient(TestServer(app))
    await c.start_server()
    return c


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return loaded


async def test_metrics_plain_and_gzip(daemon: PageDaemon) -> None:
    c = await client(make_app(daemon))
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


async def test_health_ready_reload(daemon: PageDaemon) -> None:
    c = await client(make_app(daemon))
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
    finally:
        await c.close()


async def test_api_answers_follow_their_schemas_and_the_verdicts(daemon: PageDaemon) -> None:
    for site in ("18.71.01.1003", "18.71.01.1004", "18.71.99.1001"):
        daemon.poll(site, "rtr", ok=True)
    daemon.poll("18.71.01.1003", "ap1", ok=True)
    daemon.poll("pop-kedaton", "sw", ok=True)
    daemon.poll("18.71.01.1004", "rtr", ok=False, rounds=2)  # down_after 2
    c = await client(make_app(daemon))
    try:
        answer = await c.get("/api/v1/sites")
        assert answer.status == 200 and answer.headers["Server-Timing"].startswith("app;dur=")
        sites = await answer.json()
        jsonschema.validate(sites, schema("sites"))
        by_id = {s["id"]: s for s in sites["sites"]}
        assert by_id["18.71.01.1004"]["state"] == "down"
        assert by_id["18.71.01.1004"]["cause"] == {"name": "unknown", "text": "rtr down"}
        assert by_id["18.71.01.1003"]["state"] == "up" and by_id["18.71.01.1003"]["cause"] is None
        assert by_id["18.71.01.1004"]["since"] >= by_id["18.71.01.1003"]["since"]
        assert sites["refresh_seconds"] == 2.0  # 1 s rounds, polled no faster than 2 s

        detail = await (await c.get("/api/v1/sites/18.71.01.1004")).json()
        jsonschema.validate(detail, schema("site"))
        assert detail["cause"]["evidence"] == {"devices": {"rtr": {"status": "down"}},
                                               "findings": []}
        assert detail["cause"]["name"] == "unknown"
        assert [(e["old"], e["new"]) for e in detail["events"]] == [("unknown", "up"),
                                                                    ("up", "down")]
        rtr = detail["devices"][0]
        assert rtr["series"]["loss"][-1] == pytest.approx(2 / 3)  # 1 good round, 2 silent
        # a poll that ran out of time without a round sent nothing: no loss on the page, as
        # in the counters (it once showed a healthy lab site at 14 % loss)
        daemon.poll_result("18.71.01.1004", "rtr", Failed("timeout", "deadline exceeded"))
        after = await (await c.get("/api/v1/sites/18.71.01.1004")).json()
        counters = parse(daemon.store.render().decode())
        sent = pick(counters, "netwatch_icmp_requests_total", site="18.71.01.1004")
        answered = pick(counters, "netwatch_icmp_responses_total", site="18.71.01.1004")
        assert (sent, answered) == (15, 5)
        assert after["devices"][0]["series"]["loss"][-1] == pytest.approx(1 - 5 / 15)
        kedaton = await (await c.get("/api/v1/sites/18.71.01.1003")).json()
        jsonschema.validate(kedaton, schema("site"))
        assert kedaton["devices"][0]["children"] == ["ap1"]
        assert kedaton["devices"][1]["parent"] == "rtr"
        assert kedaton["upstream"] == {"id": "pop-kedaton", "name": "POP Kedaton", "down": False}
        assert kedaton["maintenance"][0]["weekly"] == {"days": ["sat"], "at": "22:00"}
        assert (await c.get("/api/v1/sites/18.71.01.9999")).status == 404

        events = await (await c.get("/api/v1/events", params={"site": "18.71.01.1004"})).json()
        jsonschema.validate(events, schema("events"))
        assert [e["new"] for e in events["events"]] == ["up", "down"]
        every = await c.get("/api/v1/events", params={"since": "0", "limit": "2"})
        assert [e["site"] for e in (await every.json())["events"]] == ["18.71.01.1003",
                                                                       "18.71.01.1004"]
        later = await c.get("/api/v1/events", params={"since": "2100-01-01T00:00:00+07:00"})
        assert (await later.json())["events"] == []
        assert (await c.get("/api/v1/events", params={"since": "yesterday"})).status == 400
    finally:
        await c.close()


async def test_site_api_shows_each_devices_neighbours_where_known(daemon: PageDaemon) -> None:
    """The neighbour rows the drift check last judged, each with the configured device it
    names; null where no table was read; the mismatch they make with its evidence."""
    daemon.drift.sync(daemon.inventory)
    # Kedaton's access point is cabled to Sidodadi's router (config: parent rtr), and sees a
    # radio nobody configured; Kedaton's router's tables were never read
    daemon.drift.observed[("18.71.01.1003", "ap1")] = Topology("ap1", frozenset(), (
        Neighbor("lldp", "eth0", "sidodadi-rtr", "ether3", "", "RouterOS", ("127.0.0.3",)),
        Neighbor("mndp", "eth0", "radio-baru", "", "0e:01:01:00:02:53", "", ("127.0.0.99",)),
    ))
    daemon.drift.observed[("18.71.01.1004", "rtr")] = Topology("sidodadi-rtr", frozenset(), ())
    daemon.drift.check()
    c = await client(make_app(daemon))
    try:
        kedaton = await (await c.get("/api/v1/sites/18.71.01.1003")).json()
        jsonschema.validate(kedaton, schema("site"))
        rtr, ap1 = kedaton["devices"]
        assert rtr["neighbours"] is None and rtr["topology_mismatches"] == []
        assert ap1["neighbours"] == [
            {"protocol": "lldp", "ifname": "eth0", "name": "sidodadi-rtr", "port": "ether3",
             "chassis": "", "addresses": ["127.0.0.3"], "device": "18.71.01.1004/rtr"},
            {"protocol": "mndp", "ifname": "eth0", "name": "radio-baru", "port": "",
             "chassis": "0e:01:01:00:02:53", "addresses": ["127.0.0.99"], "device": None}]
        assert ap1["topology_mismatches"] == [
            {"kind": "parent", "expected": "rtr", "observed": "18.71.01.1004/rtr",
             "evidence": "18.71.01.1003/ap1 on eth0 sees sidodadi-rtr port ether3 (lldp)"}]
        sidodadi = await (await c.get("/api/v1/sites/18.71.01.1004")).json()
        jsonschema.validate(sidodadi, schema("site"))
        assert sidodadi["devices"][0]["neighbours"] == []  # read, and empty
        # but Kedaton's access point names it: the link shows on its page too
        assert sidodadi["devices"][0]["seen_by"] == [
            {"device": "18.71.01.1003/ap1", "ifname": "eth0", "protocol": "lldp",
             "port": "ether3"}]
        assert rtr["seen_by"] == []
    finally:
        await c.close()


async def test_pages_are_served_with_the_map_and_their_assets(daemon: PageDaemon) -> None:
    c = await client(make_app(daemon))
    try:
        page = await (await c.get("/")).text()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        shapes = re.findall(r'<a class="site" href="/site/([\d.]+)" data-site="\1" '
                            r'data-state="unknown"', page)
        assert shapes == ["18.71.01.1003", "18.71.01.1004"]  # 18.71.99.1001 has no shape
        assert page.count('class="unmonitored"') == 126 - 2
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
            got = await c.get(asset)
            assert got.status == 200, asset
        assert "Kec. Kedaton" in await (await c.get("/site/18.71.01.1003")).text()
        assert (await c.get("/site/18.71.01.9999")).status == 404
        assert (await c.get("/static/map.json")).status == 404  # inlined, not served
    finally:
        await c.close()


async def test_public_page_shows_no_internals(daemon: PageDaemon) -> None:
    daemon.poll("18.71.01.1003", "rtr", ok=True)
    daemon.poll("18.71.01.1004", "rtr", ok=True)
    daemon.poll("18.71.01.1004", "rtr", ok=False, rounds=2)
    c = await client(make_public_app(daemon))
    try:
        page = await (await c.get("/public")).text()
        assert "Kelurahan Sidodadi</strong> (Kec. Kedaton): Layanan terputus" in page
        assert "setiap Sabtu pukul 22:00 WIB, selama 2 jam" in page
        assert "fibre work" not in page and "rtr" not in page and "/metrics" not in page
        assert not re.search(r"\d+\.\d+\.\d+\.\d+(?!\.)", page.replace("18.71.", ""))
        assert "127.0.0" not in page and "pop-kedaton" not in page
        for path in ("/metrics", "/api/v1/sites", "/site/18.71.01.1003"):
            assert (await c.get(path)).status == 404, path
    finally:
        await c.close()


async def test_restart_restores_state_and_since(tmp_path: Path) -> None:
    first = await started(make_daemon(tmp_path))
    first.poll("18.71.01.1004", "rtr", ok=True)
    first.poll("18.71.01.1004", "rtr", ok=False, rounds=2)
    since = first.sites.groups["18.71.01.1004"].since
    await first.history.close()

    second = await started(make_daemon(tmp_path))
    try:
        group = second.sites.groups["18.71.01.1004"]
        assert (group.state, group.cause, group.since) == ("down", "rtr down", since)
        second.poll("18.71.01.1004", "rtr", ok=False)  # one failure: not judged yet
        assert (group.state, group.since) == ("down", since)
        second.poll("18.71.01.1004", "rtr", ok=False)  # judged down again: same since
        assert (group.state, group.since) == ("down", since)
        assert second.history.pending == type(second.history.pending)()  # nothing new
        second.poll("18.71.01.1004", "rtr", ok=True)
        assert group.state == "up" and since is not None and (group.since or 0) > since
    finally:
        await second.history.close()


MARKERS_CONFIG = """listen: 127.0.0.1:0
thresholds: city-thresholds.yml
auths: {lab: {version: 2c, community: public}}
defaults:
  icmp: {interval: 1s, count: 5, spacing: 0.05s, timeout: 0.3s}
  snmp: {auth: lab}
  state: {down_after: 1, up_after: 1}
sites:
  - {id: "18.71.01.1003", name: Kedaton, kecamatan: Kedaton,
     devices: [{name: rtr, role: router, address: 127.0.0.1}]}
  - {id: "18.71.01.1004", name: Sidodadi, kecamatan: Kedaton,
     devices: [{name: rtr, role: router, address: 127.0.0.3}]}
"""
# the city's override: a flap is 2 changes in 10 minutes, a reboot is news for 2 minutes
# (the packaged file says 6 in 1 hour, and 15 minutes)
OVERRIDE = "rules: {site_flapping_changes: 2, site_flapping_window: 10m, " \
           "device_rebooted_window_seconds: 120}\n"


def booted(daemon: PageDaemon, site: str, at: float) -> None:
    """An SNMP poll of the site's router reporting its boot time, as the poller does."""
    target = daemon.inventory.targets[(site, "rtr", "snmp")]
    result = SnmpResult((("netwatch_device_info", 'vendor="x"', 1.0),
                         ("netwatch_device_boot_time_seconds", "", at)), "mikrotik")
    daemon._record(target, Outcome(result, 0.01, 0.0))


async def markers_daemon(tmp_path: Path) -> PageDaemon:
    """Two sites with the city's override of the flap and reboot markers."""
    (tmp_path / "city-thresholds.yml").write_text(OVERRIDE)
    path = tmp_path / "netwatch.yml"
    path.write_text(MARKERS_CONFIG)
    daemon = await started(PageDaemon(path, read_inventory(path), probers={"icmp": FakeIcmp()}))
    assert daemon.inventory.thresholds.rule_number("site_flapping_changes") == 2
    return daemon


def site_list(daemon: PageDaemon, listing: SiteList, at: float) -> dict[str, dict[str, Any]]:
    """/api/v1/sites at `at`, checked against its schema, by site."""
    answer = json.loads(listing.answer(daemon, at))
    jsonschema.validate(answer, schema("sites"))
    assert answer["generated"] == iso(at)  # each answer has its own time
    return {s["id"]: s for s in answer["sites"]}


async def test_site_list_is_built_per_change_with_the_markers_of_the_override(
        tmp_path: Path) -> None:
    """/api/v1/sites is joined once per change and served from memory between changes; the
    flap and reboot markers use the thresholds in effect (the config's override), and are
    dropped when their window has passed."""
    daemon = await markers_daemon(tmp_path)
    listing = SiteList()

    def sites(at: float) -> dict[str, dict[str, Any]]:
        return site_list(daemon, listing, at)

    try:
        flappy, steady = "18.71.01.1003", "18.71.01.1004"
        daemon.poll(flappy, "rtr", ok=True)
        daemon.poll(steady, "rtr", ok=True)
        now = time.time()
        assert sites(now)[flappy]["flapping"] is False
        builds = listing.builds
        for later in (1.0, 2.0, 30.0):  # nothing changed: served from memory
            assert sites(now + later)[flappy]["state"] == "up"
        assert listing.builds == builds

        daemon.poll(flappy, "rtr", ok=False)  # up -> down -> up: two changes
        daemon.poll(flappy, "rtr", ok=True)
        got = sites(now + 31)
        assert listing.builds == builds + 1
        assert (got[flappy]["changes_1h"], got[flappy]["flapping"]) == (2, True)
        assert got[steady]["flapping"] is False

        booted(daemon, steady, now - 60)  # booted a minute ago: within the city's 2 minutes
        got = sites(now + 32)
        assert got[steady]["rebooted"] == iso(now - 60)
        builds = listing.builds
        # the reboot marker expires at boot + 120 s, the flap count when the changes are
        # older than 10 minutes: the clock alone rebuilds the list
        got = sites(now + 61)
        assert got[steady]["rebooted"] is None and got[flappy]["flapping"] is True
        got = sites(now + 10 * 60 + 5)
        assert (got[flappy]["changes_1h"], got[flappy]["flapping"]) == (0, False)
        assert listing.builds == builds + 2
        c = await client(make_app(daemon))
        try:
            detail = await (await c.get(f"/api/v1/sites/{steady}")).json()
            assert detail["devices"][0]["boot_time"] == iso(now - 60)
        finally:
            await c.close()
    finally:
        await daemon.history.close()


async def test_transitions_a_reboot_explains_are_not_flapping(tmp_path: Path) -> None:
    """As NetwatchSiteFlapping: an outage that was its router's boot (the boot time moved) is
    two changes, and no flap; the same two changes without a reboot are one."""
    daemon = await markers_daemon(tmp_path)
    listing = SiteList()
    try:
        rebooting, flappy = "18.71.01.1004", "18.71.01.1003"
        now = time.time()
        for site in (rebooting, flappy):
            daemon.poll(site, "rtr", ok=True)
            booted(daemon, site, now - 86400)
            daemon.poll(site, "rtr", ok=False)  # up -> down
        booted(daemon, rebooting, now - 5)  # back: it booted 5 s ago
        for site in (rebooting, flappy):
            daemon.poll(site, "rtr", ok=True)  # down -> up
        got = site_list(daemon, listing, now + 1)
        assert [(got[s]["changes_1h"], got[s]["flapping"]) for s in (rebooting, flappy)] \
            == [(2, False), (2, True)]
        assert got[rebooting]["rebooted"] == iso(now - 5)
    finally:
        await daemon.history.close()


HISTORY_CONFIG = """listen: 127.0.0.1:0
history: {{path: history.sqlite}}
defaults:
  icmp: {{interval: 1s, count: 5, spacing: 0.05s, timeout: 0.3s}}
  snmp: {{enabled: false}}
  state: {{down_after: 1, up_after: 1}}
sites:
  - {{id: "18.71.01.1003", name: Kedaton, kecamatan: Kedaton, maintenance: [{windows}],
     devices: [{{name: rtr, role: router, address: 127.0.0.1}}]}}
{more}"""
SIDODADI = """  - {id: "18.71.01.1004", name: Sidodadi, kecamatan: Kedaton,
     devices: [{name: rtr, role: router, address: 127.0.0.3}]}
"""


async def test_history_remembers_maintenance_as_it_was_and_forgets_removed_sites(
        tmp_path: Path) -> None:
    """Availability from the history keeps the past as the daemon judged it: a maintenance
    window added to the config later (even one covering the past) or removed later changes
    nothing before the reload; a site that leaves the config stops counting (its history
    ends in "unknown", as its series end in Prometheus)."""
    t0 = 1_800_000_000.0
    clock = [t0]
    path = tmp_path / "netwatch.yml"

    def configure(windows: str = "", more: str = SIDODADI) -> None:
        path.write_text(HISTORY_CONFIG.format(windows=windows, more=more))

    def at(offset: float) -> None:
        clock[0] = t0 + offset

    def window(start: float, hours: float) -> str:
        moment = datetime.fromtimestamp(t0 + start, UTC).isoformat()
        return f'{{start: "{moment}", duration: {hours}h}}'

    configure()
    daemon = PageDaemon(path, read_inventory(path), probers={"icmp": FakeIcmp()})

    def reload() -> None:  # what Daemon.reload applies, minus the scheduler
        inventory = read_inventory(path)
        daemon.inventory = inventory
        daemon.state.sync(inventory)
        daemon.sites.sync(inventory)

    daemon.history.clock = lambda: clock[0]
    daemon.sites.clock = lambda: datetime.fromtimestamp(clock[0], UTC)
    await started(daemon)
    kedaton, sidodadi = "18.71.01.1003", "18.71.01.1004"
    try:
        daemon.poll(kedaton, "rtr", ok=True)
        daemon.poll(sidodadi, "rtr", ok=True)
        at(100)  # a window that began an hour ago appears: maintenance from now, not before
        configure(window(-3600, 2))
        reload()
        at(200)
        daemon.poll(kedaton, "rtr", ok=False)  # down inside the window: still maintenance
        at(300)  # the window leaves the config: the site is what its router says
        configure()
        reload()
        at(400)
        daemon.poll(kedaton, "rtr", ok=True)
        at(500)  # a window over 0..450 (already over) appears, and Sidodadi leaves the config
        configure(window(0, 0.125), more="")
        reload()
        at(600)
        await daemon.history.flush()
        events = [(e.at - t0, e.old, e.new) for e in await daemon.history.events(t0, site=kedaton)]
        assert events == [(0, "unknown", "up"), (100, "up", "maintenance"),
                          (300, "maintenance", "down"), (400, "down", "up")]
        seconds = await daemon.history.site_seconds(t0, t0 + 600)
        # Kedaton: up 0-100, 400-600; down 300-400; maintenance 100-300 counts in neither
        assert seconds[kedaton] == (300.0, 400.0)
        assert seconds[sidodadi] == (500.0, 500.0)  # counted until it left
        assert [(e.old, e.new, e.cause) for e in await daemon.history.events(t0 + 500)] == \
            [("up", "unknown", "not in the config")]
        assert (await daemon.history.kecamatan_of())[sidodadi] == "Kedaton"
    finally:
        await daemon.history.close()

    # a restart with a config that lost Kedaton while the daemon was stopped
    at(700)
    path.write_text(HISTORY_CONFIG.format(windows="", more=SIDODADI).replace(
        '"18.71.01.1003", name: Kedaton', '"18.71.01.1006", name: Other'))
    again = PageDaemon(path, read_inventory(path), probers={"icmp": FakeIcmp()})
    again.history.clock = lambda: clock[0]
    again.sites.clock = lambda: datetime.fromtimestamp(clock[0], UTC)
    await started(again)
    try:
        at(800)
        assert (await again.history.site_seconds(t0, t0 + 800))[kedaton] == (300.0, 400.0)
    finally:
        await again.history.close()
