"""`netwatch report` without Prometheus: months in WIB, the arithmetic of the hourly parts,
roll-ups, CSV and a self-contained HTML page, and what it says when Prometheus is away.
The report against a real Prometheus: tests/integration/test_report.py."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from netwatch.cli import main as cli
from netwatch.generators.report import (
    WIB,
    Month,
    Report,
    ReportError,
    _fill,
    collect,
    part_seconds,
    queries,
    to_csv,
    to_html,
)
from netwatch.lab.ports import free_port


def test_months_are_calendar_months_in_wib() -> None:
    nov = Month.parse("2026-11")
    assert nov.start == datetime(2026, 11, 1, tzinfo=WIB)
    assert nov.start.astimezone(UTC) == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert nov.end == datetime(2026, 12, 1, tzinfo=WIB)
    assert Month.parse("2026-12").end == datetime(2027, 1, 1, tzinfo=WIB)
    assert (nov.label, str(nov)) == ("202611", "2026-11")
    # 1 Dec 03:00 WIB is still 30 Nov in UTC: "previous" follows WIB
    assert Month.previous(datetime(2026, 11, 30, 20, 0, tzinfo=UTC)) == nov
    assert Month.previous(datetime(2026, 1, 15, tzinfo=WIB)) == Month(2025, 12)
    for bad in ("2026-13", "11-2026", "2026/11", ""):
        with pytest.raises(ValueError, match="is not a month like 2026-11"):
            Month.parse(bad)


def test_queries_cut_the_month_by_its_label() -> None:
    q = queries(Month.parse("2026-02"), 3600 * 24 * 29)
    assert 'site:netwatch_site_available_hours:sum1h{month="202602"}[2505600s]' in q["available"]
    assert 'site:netwatch_site_counted_hours:sum1h{month="202602"}' in q["counted"]
    assert q["parts"] == 'city:netwatch_sla_month:info{month="202602"}[2505600s]'
    assert "[2505600s:1h]" in q["info"] and "[2505600s:1h]" in q["target"]


def test_part_spacing_is_read_from_the_samples() -> None:
    series = [{"values": [[t, "1"] for t in (0, 300, 600, 1200, 1500)]}]
    assert part_seconds(series) == 300  # a gap (Prometheus restarted) does not matter
    assert part_seconds([{"values": [[5, "1"]]}]) == 300  # too few: the production default
    assert part_seconds([{"values": [[t, "1"] for t in range(0, 60, 5)]}]) == 5


def _vector(value: float, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [1.0, str(value)]}


def sample_report() -> Report:
    """Three sites; parts every 300 s (12 per hour), a month of 720 hours."""
    report = Report(Month.parse("2026-11"), "http://prom", datetime(2026, 12, 1, tzinfo=WIB),
                    300.0)
    per_hour = 12
    got = {
        "available": [_vector((720 - 2) * per_hour, site="A"),
                      _vector((720 - 10) * per_hour, site="B")],
        "counted": [_vector(720 * per_hour, site="A"), _vector(720 * per_hour, site="B"),
                    _vector(0, site="C")],
        "info": [_vector(1, site="A", kelurahan="Kedaton", kecamatan="Kedaton", isp="isp-a"),
                 _vector(1, site="B", kelurahan="Sukarame <&>", kecamatan="Sukarame", isp="isp-a"),
                 _vector(1, site="C", kelurahan="Way Dadi", kecamatan="Sukarame", isp="")],
        "target": [_vector(0.99, site="A"), _vector(0.99, site="B"), _vector(0.99, site="C")],
    }
    _fill(report, got)
    return report


def test_sites_and_roll_ups_are_weighted_by_site_time() -> None:
    report = sample_report()
    a, b, c = report.sites  # sorted by kecamatan, kelurahan
    assert (a.id, a.met) == ("A", True)
    assert (a.availability, a.downtime_hours) == pytest.approx((718 / 720, 2))
    assert (b.id, b.met, b.below_target) == ("B", False, 1)
    assert b.availability == pytest.approx(710 / 720)
    assert (c.id, c.availability, c.met, c.counted_hours) == ("C", None, None, 0)  # maintenance
    sukarame = next(k for k in report.kecamatan if k.id == "Sukarame")
    assert (sukarame.sites, sukarame.below_target) == (1, 1)
    assert sukarame.availability == pytest.approx(710 / 720)
    assert [i.id for i in report.isps] == ["", "isp-a"]
    assert report.city.availability == pytest.approx(1428 / 1440)
    assert (report.city.sites, report.city.below_target) == (2, 1)


def test_csv_is_one_table_with_a_level_column() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(sample_report()))))
    assert [r["level"] for r in rows] == ["kelurahan"] * 3 + ["kecamatan"] * 2 + ["isp"] * 2 \
        + ["city"]
    b = next(r for r in rows if r["id"] == "B")
    assert (b["month"], b["availability"], b["sla_target"], b["met"], b["downtime_hours"]) == (
        "2026-11", "0.986111", "0.9900", "no", "10.00")
    c = next(r for r in rows if r["id"] == "C")
    assert (c["availability"], c["met"]) == ("", "")


def test_html_is_self_contained_and_escaped() -> None:
    page = to_html(sample_report())
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "November 2026" in page and "Sukarame &lt;&amp;&gt;" in page
    for external in ("src=", "href=", "<script", "<link", "url(", "@import"):
        assert external not in page
    assert page.count('<tr class="miss">') == 1 + 1 + 1 + 0  # B, Sukarame, isp-a
    assert "99.722 %" in page  # A


def test_unreachable_prometheus_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ReportError, match="cannot query Prometheus"):
        asyncio.run(collect(url, Month.parse("2026-10"), timeout=5))
    assert cli.main(["report", "--month", "2026-10", "--prometheus", url]) == 1
    assert "cannot query Prometheus" in capsys.readouterr().err


def test_a_month_that_has_not_begun_is_refused() -> None:
    with pytest.raises(ReportError, match="not started"):
        asyncio.run(collect("http://127.0.0.1:9", Month.parse("2026-11"),
                            now=datetime(2026, 10, 31, 16, 0, tzinfo=UTC)))


def test_command_line_parses_the_month(capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser().parse_args(["report", "--month", "2026-11", "-o", "x.html"])
    assert args.month == Month(2026, 11) and args.func.__module__ == "netwatch.cli.report"
    with pytest.raises(SystemExit) as refused:
        cli.build_parser().parse_args(["report", "--month", "November"])
    assert refused.value.code == 2
    assert "'November' is not a month like 2026-11" in capsys.readouterr().err
