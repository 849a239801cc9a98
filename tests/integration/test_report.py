"""`netwatch report` against a real Prometheus that scrapes the daemon polling the lab.

Two kinds of data in one Prometheus:
- this month, live: the lab for a minute, one site silenced for a few seconds, one site in a
  maintenance window; Prometheus records the hourly parts with the test timing profile
  (every 5 s) and the report must agree with the rules' own month-to-date ratio;
- the month before last, backfilled: the hourly parts of the lab's sites for a whole calendar month
  (as the production rules record them: each over the hour before it, labelled with the WIB
  month of the hour's middle; every 15 minutes instead of 5, which the report must read
  from the samples), written as OpenMetrics and turned into
  TSDB blocks with `promtool tsdb create-blocks-from openmetrics` before Prometheus starts.
  Outages, maintenance and targets are scripted, so every figure is known exactly; outages
  in the neighbouring months' edge hours must not count.
Prometheus runs with a long retention: its time retention counts from the newest block, so
with the default 15 days it would delete the first half of a backfilled month.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from netwatch.cli import main as cli
from netwatch.generators.report import WIB, Month, Report, collect, to_csv, to_html
from netwatch.lab import netns
from netwatch.lab.agents import snmpsim_available
from netwatch.lab.lab import Lab
from netwatch.lab.plan import LabPlan, LabSite, Trouble, city, with_trouble
from netwatch.lab.stack import PromStack, missing_binaries
from tests.conftest import require
from tests.integration.labkit import FAST, lab_and_daemon, scrape_target
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

BASE = 190  # after tests/integration/test_dashboards.py's lab has gone (modules run in turn)
KECAMATAN = ["18.71.03", "18.71.04"]  # Tanjungkarang Barat, Panjang: 2 sites each
PART = 900  # seconds between hourly parts (production: 300); the report reads it from the data
INFO_EVERY = 3600  # info and target samples, on the report's hourly subquery steps
CHUNK = 4 * 86400  # seconds of backfill per promtool run (a multiple of its 2 h blocks)
H = 3600


# Prometheus' time retention counts back from the newest block: keep a backfilled month
LONG_RETENTION = ("--storage.tsdb.retention.time=3650d",)


@dataclass(frozen=True)
class History:
    """One site's scripted month: (start, end) offsets in seconds from the month's start."""

    down: tuple[tuple[int, int], ...] = ()
    maintenance: tuple[tuple[int, int], ...] = ()
    target: float = 0.99


def histories(month: Month) -> list[History]:
    total = int((month.end - month.start).total_seconds())
    return [
        History(down=((10 * 86400, 10 * 86400 + 2 * H),        # 2 h down: 99.7 %, met
                      (-4 * H, -90 * 60))),                    # last month: not counted
        History(down=((5 * 86400 + 30 * 60, 5 * 86400 + 8 * H),)),  # 7.5 h: missed
        History(down=((20 * 86400, 20 * 86400 + H),           # 1 h down against 99.9 %
                      (total + 35 * 60, total + 55 * 60)),     # next month: not counted
                maintenance=((15 * 86400, 15 * 86400 + 4 * H),), target=0.999),
        History(maintenance=((-H, total + H),)),               # all month in maintenance
    ]


def _overlap(a: int, b: int, spans: tuple[tuple[int, int], ...]) -> int:
    return sum(max(0, min(b, e) - max(a, s)) for s, e in spans)


def openmetrics(month: Month, sites: tuple[LabSite, ...], begin: int, end: int) -> str:
    """The hourly parts of `sites` around `month` with begin <= time < end, as the production
    rules record them."""
    start = int(month.start.timestamp())
    grid = [t for t in range(start - 6 * H, int(month.end.timestamp()) + H + 1, PART)
            if begin <= t < end]
    label = {t: datetime.fromtimestamp(t - 1800, WIB).strftime("%Y%m") for t in grid}
    parts: dict[str, list[str]] = {"available": [], "counted": []}
    info, target = [], []
    for site, history in zip(sites, histories(month), strict=True):
        base = f'site="{site.id}",kecamatan="{site.kecamatan}"'
        meta = f'job="netwatch",instance="backfill",{base}'
        for t in grid:
            a, b = t - start - H, t - start
            counted = (H - _overlap(a, b, history.maintenance)) / H
            available = counted - _overlap(a, b, history.down) / H
            parts["available"].append(f'{{{base},month="{label[t]}"}} {available:g} {t}')
            parts["counted"].append(f'{{{base},month="{label[t]}"}} {counted:g} {t}')
            if t % INFO_EVERY == 0:
                info.append(f'netwatch_site_info{{{meta},kelurahan="{site.name}",'
                            f'latitude="{site.lat}",longitude="{site.lon}",isp="{site.isp}",'
                            f'upstream="{site.upstream}"}} 1 {t}')
                target.append(f"netwatch_site_sla_target_ratio{{{meta}}} {history.target} {t}")
    lines = []
    for part, samples in parts.items():
        name = f"site:netwatch_site_{part}_hours:sum1h"
        lines += [f"# TYPE {name} gauge", *(name + sample for sample in samples)]
    lines += ["# TYPE city:netwatch_sla_month:info gauge",
              *(f'city:netwatch_sla_month:info{{month="{label[t]}"}} 1 {t}' for t in grid),
              "# TYPE netwatch_site_info gauge", *info,
              "# TYPE netwatch_site_sla_target_ratio gauge", *target, "# EOF", ""]
    return "\n".join(lines)


def backfill(month: Month, sites: tuple[LabSite, ...], workdir: Path) -> None:
    """TSDB blocks of the month's parts in workdir/prom-data, for Prometheus to load at start.
    promtool (2.42) writes one block per 2 h and reads its whole input for each, so it gets
    the month in chunks of a few days aligned to the blocks, converted side by side."""
    first = int(month.start.timestamp()) - 6 * H
    last = int(month.end.timestamp()) + H + 1
    runs = []
    for begin in range(first - first % CHUNK, last, CHUNK):
        source = workdir / f"backfill-{begin}.om"
        source.write_text(openmetrics(month, sites, begin, begin + CHUNK))
        runs.append(subprocess.Popen(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source),
             str(workdir / "prom-data")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        for run in runs:
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err.decode()
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()


def scenario() -> tuple[LabPlan, str, str]:
    plan = replace(city(KECAMATAN, sites_per_kecamatan=2, base=BASE),
                   timing=replace(FAST, snmp_interval=5.0))
    outage, resting = plan.sites[0].id, plan.sites[-1].id
    plan = with_trouble(plan, [Trouble("flapping", (outage,), period=1e7)])
    return replace(plan, maintenance=(resting,)), outage, resting


@dataclass
class Stack:
    lab: Lab
    prometheus: str
    stack: PromStack
    last_month: Month
    outage: str
    resting: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    require(netns.available())
    require(snmpsim_available())
    require(missing_binaries())
    plan, outage, resting = scenario()
    workdir: Path = tmp_path_factory.mktemp("report")
    # two months back: the live lab's parts never carry its label, not even in the first
    # half hour of a month (when they still count for the month before)
    last_month = Month.previous(Month.previous(datetime.now(UTC)).start)
    await asyncio.to_thread(backfill, last_month, plan.sites, workdir)
    async with lab_and_daemon(plan) as (lab, daemon), \
            PromStack(workdir, [scrape_target(daemon)], prometheus_args=LONG_RETENTION) as stack:
        yield Stack(lab, stack.prometheus_url, stack, last_month, outage, resting)


def _rows(report: Report) -> dict[tuple[str, str], Any]:
    return {(r.level, r.id): r for r in report.rows()}


async def test_backfilled_month_is_exact(running: Stack) -> None:
    s = running
    async with aiohttp.ClientSession() as session, \
            session.get(f"{s.prometheus}/api/v1/status/flags") as r:
        flags = (await r.json())["data"]
    assert flags["storage.tsdb.retention.time"] == "10y"  # the long retention reached Prometheus
    report = await collect(s.prometheus, s.last_month)
    hours = (s.last_month.end - s.last_month.start).total_seconds() / H
    assert report.part_seconds == PART
    sites = s.lab.plan.sites
    rows = _rows(report)
    expected = [(hours - 2, hours, 0.99), (hours - 7.5, hours, 0.99),
                (hours - 5, hours - 4, 0.999), (0.0, 0.0, 0.99)]
    for site, (available, counted, target) in zip(sites, expected, strict=True):
        row = rows[("kelurahan", site.id)]
        assert (row.kelurahan, row.kecamatan, row.isp) == (site.name, site.kecamatan, site.isp)
        assert row.available_hours == pytest.approx(available, abs=1e-6), site.id
        assert row.counted_hours == pytest.approx(counted, abs=1e-6), site.id
        assert row.target == target
    assert [rows[("kelurahan", s.id)].met for s in sites] == [True, False, False, None]
    assert rows[("kelurahan", sites[3].id)].availability is None  # maintenance excluded
    assert rows[("kelurahan", sites[1].id)].downtime_hours == pytest.approx(7.5)
    first, second = sites[0].kecamatan, sites[2].kecamatan
    k1, k2 = rows[("kecamatan", first)], rows[("kecamatan", second)]
    assert k1.availability == pytest.approx(1 - 9.5 / (2 * hours))
    assert k2.availability == pytest.approx((hours - 5) / (hours - 4))
    assert (k1.sites, k1.below_target, k2.sites, k2.below_target) == (2, 1, 1, 1)
    assert rows[("isp", sites[0].isp)].counted_hours == pytest.approx(2 * hours)
    assert report.city.availability == pytest.approx((3 * hours - 14.5) / (3 * hours - 4))


async def test_live_month_agrees_with_the_rules(running: Stack) -> None:
    s = running
    this_month = Month.parse(datetime.now(WIB).strftime("%Y-%m"))

    async def parts_recorded() -> bool:
        got = await s.stack.query("site:netwatch_availability:ratio_mtd")
        return len(got) >= 3

    slow = 0.5  # each check queries Prometheus
    await until(parts_recorded, 60, "month-to-date availability of the live lab", slow)
    s.lab.set_reachable(s.outage, False)
    await until(lambda: _state_is(s.stack, s.outage, "down"), 30, "outage site down", slow)
    await until(lambda: _parts_cover_outage(s.stack, s.outage), 30, "outage in the parts",
                slow)
    s.lab.set_reachable(s.outage, True)
    await until(lambda: _state_is(s.stack, s.outage, "up"), 30, "outage site back up", slow)
    report = await collect(s.prometheus, this_month)
    rows = _rows(report)
    mtd = {r["metric"]["site"]: float(r["value"][1])
           for r in await s.stack.query("site:netwatch_availability:ratio_mtd")}
    for site in s.lab.plan.sites:
        row = rows[("kelurahan", site.id)]
        if site.id == s.resting:
            assert row.availability is None and row.counted_hours == 0  # in maintenance
        elif site.id == s.outage:
            assert 0 < row.availability < 0.99 and row.met is False
            assert row.availability == pytest.approx(mtd[site.id], abs=0.05)
        else:
            assert row.availability >= 0.99 and row.met is True  # 1.0 unless the host hiccups
    assert report.city.sites == 3


async def _state_is(stack: PromStack, site: str, state: str) -> bool:
    return bool(await stack.query(f'netwatch_site_state{{site="{site}", state="{state}"}} == 1'))


async def _parts_cover_outage(stack: PromStack, site: str) -> bool:
    got = await stack.query(f'site:netwatch_availability:ratio_mtd{{site="{site}"}} < 0.95')
    return bool(got)


def test_cli_writes_csv_and_a_self_contained_page(running: Stack, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    s = running
    page = tmp_path / "report.html"
    assert cli.main(["report", "--month", str(s.last_month), "--prometheus", s.prometheus,
                     "--output", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and s.lab.plan.sites[0].name in text
    for external in ("src=", "href=", "<script", "<link", "url(", "@import"):
        assert external not in text
    assert cli.main(["report", "--month", str(s.last_month), "--prometheus", s.prometheus]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("month,level,id,kelurahan")
    assert len(lines) == 1 + 4 + 2 + 2 + 1  # sites, kecamatan, ISPs, city
    assert any(",kelurahan," in line and ",no," in line for line in lines)
    assert cli.main(["report", "--month", "1999-01", "--prometheus", s.prometheus]) == 1
    assert "no availability data" in capsys.readouterr().err


def test_report_renders_the_same_rows_as_csv_and_html(running: Stack) -> None:
    report = asyncio.run(collect(running.prometheus, running.last_month))
    csv_text, page = to_csv(report), to_html(report)
    for row in report.sites:
        assert row.id in csv_text and row.id in page
