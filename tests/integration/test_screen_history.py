"""History that survives restarts, against the lab, the real daemon and Debian's Prometheus
and Alertmanager (test timing profile, 250 ms scrapes):

- a restart inside an outage, with a scrape landing in the gap, keeps the state, its
  "since" and the alert: no pending-again, no resolved notification;
- the availability the public page computes from the history agrees with the SLA recording
  rules (site:/kecamatan:netwatch_availability:ratio5m) by the one definition of
  docs/recording-rules.md: Prometheus scrapes from before the daemon's first verdict, so both
  see the whole run; the run holds an outage, a maintenance window that is added and then
  removed from the config (the past stays maintenance in both), and the restart's gap. Per
  scrape, Prometheus's state equals the history's (except within a scrape's latency of a
  change); the ratios agree within the stated tolerance (one scrape per change, plus the
  restart's stop and start latencies, over the counted time);
- a full disk (a tiny tmpfs) never stops polling, and the events kept meanwhile are written
  once there is room again.

Root: namespaces and the tmpfs."""

from __future__ import annotations

import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.history.availability import ratio
from netwatch.history.events import SiteEvent
from netwatch.lab import netns
from netwatch.lab.lab import Lab
from netwatch.lab.plan import Trouble, city, with_trouble
from netwatch.lab.ports import free_port
from netwatch.lab.stack import PromStack, missing_binaries
from tests import alert_timing
from tests.conftest import require
from tests.integration.labkit import FAST, lab_and_daemon, scrape
from tests.metrics import parse, pick
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

SCRAPE = 0.25  # seconds: Prometheus's view of time is its scrapes
# a scrape's sample is stamped at its start and the daemon answers later, within the scrape
# timeout (Prometheus's default: the interval); a change in that moment shows in either state
LATENCY = SCRAPE


async def value(stack: PromStack, expr: str) -> float | None:
    got = await stack.query(expr)
    return float(got[0]["value"][1]) if got else None


async def last_sample(stack: PromStack, expr: str) -> tuple[float, float]:
    """(evaluation time, value) of a recorded series' newest sample: its own timestamp, not
    the query's."""
    got = await stack.query(f"{expr}[5s]")
    at, recorded = got[0]["values"][-1]
    return float(at), float(recorded)


def with_maintenance(lab: Lab, site: str, on: bool) -> None:
    """Rewrite the lab's config with (or without) a window over the site that began an hour
    ago and lasts two: in effect from the reload on, never before it."""
    config = lab.config()
    for entry in config["sites"]:
        if entry["id"] == site and on:
            start = datetime.fromtimestamp(time.time() - 3600, UTC).replace(microsecond=0)
            entry["maintenance"] = [{"start": start.isoformat(), "duration": "2h"}]
    lab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def state_at(events: list[SiteEvent], at: float) -> str | None:
    state = None
    for event in events:
        if event.at > at:
            break
        state = event.new
    return state


async def mismatches(stack: PromStack, site: str, events: list[SiteEvent]) -> list[str]:
    """Scrapes whose state differs from the history's at that moment, apart from those
    within LATENCY of a change (the daemon answered after the change)."""
    found: dict[float, str] = {}
    for series in await stack.query(f'netwatch_site_state{{site="{site}"}}[5m]'):
        for at, text in series["values"]:
            if float(text) == 1:
                found[float(at)] = series["metric"]["state"]
    changes = [e.at for e in events]
    return [f"{at:.3f}: Prometheus {state}, history {state_at(events, at)}"
            for at, state in sorted(found.items())
            if state != state_at(events, at) and not any(abs(at - c) < LATENCY for c in changes)]


async def test_restart_inside_an_outage_keeps_state_since_alert_and_availability(
        tmp_path: Path) -> None:
    require(missing_binaries())
    timing = alert_timing.seconds("site_down_for", "site_keep_firing_for")
    plan = replace(city(["18.71.01", "18.71.02"], sites_per_kecamatan=2, base=220), timing=FAST)
    site, other = plan.sites[0].id, plan.sites[1].id  # both in Kedaton
    assert {s.kecamatan for s in plan.sites[:2]} == {"Kedaton"}
    plan = with_trouble(plan, [Trouble("down", (site,))])
    port = free_port()
    (tmp_path / "stack").mkdir()
    async with PromStack(tmp_path / "stack", [f"127.0.0.1:{port}"],
                         scrape_interval=f"{int(SCRAPE * 1000)}ms") as stack:
        # Prometheus scrapes (and fails) before the daemon exists: it sees the daemon's
        # whole life, from before the first verdict (its first scrapes come a few seconds
        # after its start: the discovery's update interval)
        await until(lambda: stack.query('up{job="netwatch"} == 0'), 30,
                    "Prometheus scraping the daemon's port", step=0.25)
        async with lab_and_daemon(plan, healthy_first=True, listen=f"127.0.0.1:{port}") \
                as (lab, daemon):
            await restart_inside_an_outage(lab, daemon, stack, timing, site, other, port)


async def restart_inside_an_outage(lab: Lab, daemon: Daemon, stack: PromStack,
                                   timing: dict[str, float], site: str, other: str,
                                   port: int) -> None:
    selector = f'alertname="NetwatchSiteDown",site="{site}"'
    await until(lambda: value(stack, 'count(netwatch_site_state{state="up"} == 1) == '
                                     f'{len(lab.plan.sites)}'), 45,
                "every site up in Prometheus", step=0.25)
    # the other Kedaton site goes into maintenance by a reload, and out of it by another
    with_maintenance(lab, other, on=True)
    assert (await daemon.reload())[0]
    assert daemon.sites.groups[other].state == "maintenance"
    lab.set_reachable(site, False)
    await until(lambda: value(stack, f'ALERTS{{{selector},alertstate="firing"}}'),
                timing["site_down_for"] + 30, "NetwatchSiteDown firing", step=0.5)
    with_maintenance(lab, other, on=False)
    assert (await daemon.reload())[0]
    assert daemon.sites.groups[other].state == "up"
    since = daemon.sites.groups[site].since
    fired_at = time.monotonic()

    stopping = time.time()
    await daemon.shutdown()  # the restart: the daemon is gone ...
    await until(lambda: stack.query('up{job="netwatch"} == 0'), 10,
                "a scrape landing in the gap", step=0.1)
    gap = time.monotonic()
    restarted = Daemon(lab.config_path, read_inventory(lab.config_path),
                       listen=f"127.0.0.1:{port}")
    await restarted.start()  # ... and back, on the same port, with the same history
    serving = time.time()
    try:
        group = restarted.sites.groups[site]
        assert (group.state, group.since) == ("down", since)  # before any poll
        body = parse(await scrape(restarted))
        assert pick(body, "netwatch_site_state", site=site, state="down") == 1
        assert time.monotonic() - gap < timing["site_keep_firing_for"]
        await until(lambda: value(stack, f'netwatch_site_state{{site="{site}",'
                                         'state="down"} == 1'), 10, "down scraped again")
        # past the restored state's first verdict, and a few evaluations more
        await until(lambda: restarted.state.status((site, "rtr", "icmp")) == "down", 10)
        # and past keep_firing_for after the gap: a resolved alert would be pending again
        await until(lambda: time.monotonic() > gap + timing["site_keep_firing_for"] + 3,
                    timing["site_keep_firing_for"] + 10, "keep_firing_for past the gap")
        # re-firing needs the alert to pass through pending again: it never did since it
        # fired (the window leaves out the evaluation before we saw it firing)
        window = int(time.monotonic() - fired_at) - 2
        assert window > 5
        pending = await stack.query(f'max_over_time(ALERTS{{{selector},'
                                    f'alertstate="pending"}}[{window}s])')
        assert pending == []
        assert await value(stack, f'ALERTS{{{selector},alertstate="firing"}}') == 1
        resolved = [n for n in stack.notifications
                    if any(a["labels"].get("site") == site for a in n.alerts("resolved"))]
        assert resolved == [], [n.payload for n in resolved]
        assert group.since == since and restarted.history.errors == 0
        await agree_on_availability(stack, restarted, (site, other), stopping, serving)
    finally:
        await restarted.shutdown()
        lab.set_reachable(site, True)


async def agree_on_availability(stack: PromStack, daemon: Daemon, kedaton: tuple[str, ...],
                                stopping: float, serving: float) -> None:
    """The history and the recording rules over the same 5 minutes (the rules' window at
    their own evaluation), by the definition of docs/recording-rules.md."""
    history = daemon.history
    await history.flush()
    events = {s: await history.events(0, site=s) for s in kedaton}
    # remembered as it was, though the config no longer has the window
    assert [e.new for e in events[kedaton[1]]][-2:] == ["maintenance", "up"]
    for s in kedaton:  # scrape by scrape, Prometheus saw the history's states
        assert await mismatches(stack, s, events[s]) == []
    # stop and start latencies: the history counts up to the stopped run's last moment and
    # from the new run's start; Prometheus up to its last scrape and from its first answer
    assert history.store is not None
    runs = [(a, b) for _, a, b in history.store.runs(0)]
    restart_slack = (runs[-2][1] - stopping) + (serving - runs[-1][0]) + 2 * SCRAPE
    for level, label, sites in (("site", kedaton[0], kedaton[:1]),
                                ("site", kedaton[1], kedaton[1:]),
                                ("kecamatan", "Kedaton", kedaton)):
        at, recorded = await last_sample(stack, f'{level}:netwatch_availability:ratio5m'
                                                f'{{{level}="{label}"}}')
        seconds = await history.site_seconds(at - 300, at)
        available = sum(seconds[s][0] for s in sites)
        counted = sum(seconds[s][1] for s in sites)
        mine = ratio(available, counted)
        assert mine is not None
        if label == kedaton[1]:  # up whenever counted: its maintenance counts in neither
            assert mine == recorded == 1
        else:
            assert 0 < recorded < 1 and 0 < mine < 1
        # each change in the window moves up to one scrape of time between the parts; so do
        # the window's end and the restart (with its latencies), for each site. With
        # available and counted time each off by at most `slack`, the ratios differ by at
        # most slack * (1 + ratio) / (counted - slack)
        changes = sum(1 for s in sites for e in events[s] if e.at >= at - 300)
        slack = SCRAPE * (changes + len(sites)) + restart_slack * len(sites)
        tolerance = slack * (1 + mine) / (counted - slack)
        print(f"availability {level} {label}: history {mine:.4f}, rules {recorded:.4f}, "
              f"difference {abs(mine - recorded):.4f} <= {tolerance:.4f} "
              f"({changes} changes, {counted:.1f} s counted)")
        assert abs(mine - recorded) <= tolerance


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs filled to the last byte by the file `filler` (unmounted afterwards). Not
    smaller: an empty SQLite database in WAL mode needs ~64 kB (its -shm file alone 32 kB),
    so a 64 kB disk stays full even after the filler is gone."""
    require(netns.available())  # root
    disk = Path(tempfile.mkdtemp(prefix="netwatch-fulldisk-", dir=tmp_path))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={disk / 'filler'}", "bs=4k"],
                       capture_output=True, check=False)  # ends with "No space left"
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_full_disk_never_stops_polling_and_writes_later(tmp_path: Path,
                                                              full_disk: Path) -> None:
    """The history on a full tmpfs: the daemon starts, polls and judges; the error is
    counted; the transitions wait in memory and reach the file once the filler is gone."""
    disk, filler = full_disk, full_disk / "filler"
    config = tmp_path / "netwatch.yml"
    config.write_text(f"""listen: 127.0.0.1:0
history: {{path: {disk / "history.sqlite"}}}
defaults:
  icmp: {{interval: 0.5s, count: 3, spacing: 0.05s, timeout: 0.3s}}
  snmp: {{enabled: false}}
  state: {{down_after: 2, up_after: 1}}
sites:
  - {{id: "18.71.99.1001", name: Satu, kecamatan: Kedaton,
     devices: [{{name: rtr, role: router, address: 127.0.0.1}}]}}
""")
    daemon = Daemon(config, read_inventory(config))
    await daemon.start()
    try:
        await until(lambda: daemon.sites.groups["18.71.99.1001"].state == "up", 10)
        polls = daemon.scheduler.polls
        await until(lambda: daemon.scheduler.polls > polls + 4, 10, "polling goes on")
        got = parse(await scrape(daemon))
        assert (pick(got, "netwatch_history_write_errors_total") or 0) >= 1
        assert pick(got, "netwatch_history_pending_events") == 1  # unknown -> up
        filler.unlink()
        await until(lambda: not daemon.history.pending, 15, "pending events written")
        got = parse(await scrape(daemon))
        assert pick(got, "netwatch_history_pending_events") == 0
    finally:
        await daemon.shutdown()
    with sqlite3.connect(disk / "history.sqlite") as db:
        rows = db.execute("SELECT site, old, new FROM transitions").fetchall()
    assert rows == [("18.71.99.1001", "unknown", "up")]
