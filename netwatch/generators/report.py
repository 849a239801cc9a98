"""`netwatch report`: a calendar month's availability per kelurahan, kecamatan and ISP.

    netwatch report --month 2026-11 --prometheus http://127.0.0.1:9090 --format html -o nov.html

The month is a calendar month in WIB (Asia/Jakarta, UTC+7 all year). Availability is time up
or degraded over time up, degraded, down or unreachable; maintenance windows count in
neither. It comes from the rules' hourly parts (site:netwatch_site_{available,counted}_hours
:sum1h), each labelled with the SLA month it counts for, so a month is cut exactly by that
label (docs/recording-rules.md). Kecamatan, ISP and city figures are site-time weighted: the
sum of their sites' available hours over the sum of their counted hours. Each site is held
against its own `netwatch_site_sla_target_ratio`. Output: CSV (one table, a `level` column)
or one self-contained HTML page (inline CSS, no scripts, fonts or images). docs/report.md.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import itertools
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from netwatch.base.errors import NetwatchError

if TYPE_CHECKING:  # the CLI imports this module for its parser: aiohttp only when it runs
    import aiohttp

WIB = timezone(timedelta(hours=7), "WIB")
DEFAULT_PART_SECONDS = 300.0  # slow_eval_interval of the production rules
BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
         "September", "Oktober", "November", "Desember")
INFO_LABELS = "site, kelurahan, kecamatan, isp"
CSV_COLUMNS = ("month", "level", "id", "kelurahan", "kecamatan", "isp", "availability",
               "sla_target", "met", "downtime_hours", "counted_hours", "sites",
               "sites_below_target")


class ReportError(NetwatchError):
    """Prometheus cannot be asked, or holds no data for the month."""


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            when = datetime.strptime(text, "%Y-%m")
        except ValueError:
            raise ValueError(f"{text!r} is not a month like 2026-11") from None
        return cls(when.year, when.month)

    @classmethod
    def previous(cls, now: datetime) -> Month:
        first = now.astimezone(WIB).replace(day=1)
        last = first - timedelta(days=1)
        return cls(last.year, last.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=WIB)

    @property
    def end(self) -> datetime:
        return Month(self.year + self.month // 12, self.month % 12 + 1).start

    @property
    def label(self) -> str:
        return f"{self.year}{self.month:02d}"  # the parts' `month` label

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"


@dataclass
class Row:
    level: str  # kelurahan, kecamatan, isp, city
    id: str
    kelurahan: str = ""
    kecamatan: str = ""
    isp: str = ""
    available_hours: float = 0.0
    counted_hours: float = 0.0
    target: float | None = None
    sites: int = 0
    below_target: int = 0

    @property
    def availability(self) -> float | None:
        return self.available_hours / self.counted_hours if self.counted_hours > 0 else None

    @property
    def downtime_hours(self) -> float:
        return max(0.0, self.counted_hours - self.available_hours)

    @property
    def met(self) -> bool | None:
        a = self.availability
        return None if a is None or self.target is None else a >= self.target


@dataclass
class Report:
    month: Month
    prometheus: str
    evaluated_at: datetime
    part_seconds: float
    sites: list[Row] = field(default_factory=list)
    kecamatan: list[Row] = field(default_factory=list)
    isps: list[Row] = field(default_factory=list)
    city: Row = field(default_factory=lambda: Row("city", "city"))

    def rows(self) -> list[Row]:
        return [*self.sites, *self.kecamatan, *self.isps, self.city]


# --- asking Prometheus ------------------------------------------------------------------------

class Prometheus:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self.session = session

    async def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        import aiohttp

        try:
            async with self.session.post(f"{self.url}/api/v1/query",
                                         data={"query": expr, "time": f"{at:.3f}"}) as r:
                body = await r.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise ReportError(f"cannot query Prometheus at {self.url}: "
                              f"{exc or type(exc).__name__}") from None
        if body.get("status") != "success":
            raise ReportError(f"Prometheus at {self.url}: {body.get('error', body)}")
        return list(body["data"]["result"])


def queries(month: Month, window: int) -> dict[str, str]:
    """The PromQL of the report, evaluated once at the month's end (+1 h for the last parts)."""
    m, w = month.label, f"{window}s"
    per_site = "sum by (site) (sum_over_time(site:netwatch_site_{}_hours:sum1h" \
               f'{{{{month="{m}"}}}}[{w}]))'
    return {
        "available": per_site.format("available"),
        "counted": per_site.format("counted"),
        "parts": f'city:netwatch_sla_month:info{{month="{m}"}}[{w}]',
        "info": (f"topk by (site) (1,\n  max by ({INFO_LABELS}) (last_over_time("
                 f"netwatch_site_info[1h]))\nor\n  max by ({INFO_LABELS}) (last_over_time(("
                 f"max by ({INFO_LABELS}) (netwatch_site_info))[{w}:1h])))"),
        "target": ("max by (site) (last_over_time(netwatch_site_sla_target_ratio[1h]))\nor\n"
                   "max by (site) (last_over_time((max by (site) "
                   f"(netwatch_site_sla_target_ratio))[{w}:1h]))"),
    }


def part_seconds(parts: list[dict[str, Any]]) -> float:
    """How often the hourly parts were recorded: the usual gap between their samples."""
    stamps = sorted(float(t) for series in parts for t, _ in series.get("values", []))
    gaps = [b - a for a, b in itertools.pairwise(stamps) if b > a]
    return statistics.median(gaps) if gaps else DEFAULT_PART_SECONDS


async def collect(url: str, month: Month, now: datetime | None = None,
                  timeout: float = 60.0) -> Report:
    now = now or datetime.now(UTC)
    at = min(month.end + timedelta(hours=1), now)
    if at <= month.start:
        raise ReportError(f"{month} has not started yet (WIB)")
    window = int((at - month.start).total_seconds()) + 3600
    exprs = queries(month, window)
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        prom = Prometheus(url, session)
        results = await asyncio.gather(*(prom.query(e, at.timestamp()) for e in exprs.values()))
    got = dict(zip(exprs, results, strict=True))
    if not got["counted"]:
        raise ReportError(f"Prometheus at {url} has no availability data for {month}: are "
                          "netwatch's recording rules loaded, and is retention >= 35 days?")
    report = Report(month, url, at, part_seconds(got["parts"]))
    _fill(report, got)
    return report


def _by_site(result: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ordered = sorted(result, key=lambda r: sorted(r["metric"].items()))
    return {r["metric"]["site"]: r for r in ordered if "site" in r["metric"]}


def _fill(report: Report, got: dict[str, list[dict[str, Any]]]) -> None:
    hours = report.part_seconds / 3600
    available = {s: float(r["value"][1]) for s, r in _by_site(got["available"]).items()}
    info = {s: r["metric"] for s, r in _by_site(got["info"]).items()}
    target = {s: float(r["value"][1]) for s, r in _by_site(got["target"]).items()}
    for site, r in _by_site(got["counted"]).items():
        labels = info.get(site, {})
        row = Row("kelurahan", site, labels.get("kelurahan", ""), labels.get("kecamatan", ""),
                  labels.get("isp", ""), available.get(site, 0.0) * hours,
                  float(r["value"][1]) * hours, target.get(site), sites=1)
        row.below_target = int(row.met is False)
        report.sites.append(row)
    report.sites.sort(key=lambda r: (r.kecamatan, r.kelurahan, r.id))
    report.kecamatan = _rollup(report.sites, "kecamatan")
    report.isps = _rollup(report.sites, "isp")
    report.city = _total(Row("city", "city"), report.sites)


def _rollup(sites: list[Row], level: str) -> list[Row]:
    groups: dict[str, list[Row]] = {}
    for row in sites:
        groups.setdefault(getattr(row, level), []).append(row)
    return [_total(Row(level, key, kecamatan=key if level == "kecamatan" else "",
                       isp=key if level == "isp" else ""), rows)
            for key, rows in sorted(groups.items())]


def _total(row: Row, sites: list[Row]) -> Row:
    row.available_hours = sum(s.available_hours for s in sites)
    row.counted_hours = sum(s.counted_hours for s in sites)
    row.sites = sum(1 for s in sites if s.availability is not None)
    row.below_target = sum(s.below_target for s in sites)
    return row


# --- output ------------------------------------------------------------------------------------

def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in report.rows():
        writer.writerow([report.month, r.level, r.id, r.kelurahan, r.kecamatan, r.isp,
                         _num(r.availability, 6), _num(r.target, 4),
                         "" if r.met is None else ("yes" if r.met else "no"),
                         _num(r.downtime_hours, 2), _num(r.counted_hours, 2), r.sites,
                         r.below_target])
    return out.getvalue()


CSS = """body{font-family:sans-serif;margin:2em;color:#222}h1{font-size:1.5em}
table{border-collapse:collapse;margin:0 0 2em}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.miss td{background:#fde2e1}tr.none td{color:#888}p.note{color:#555;max-width:60em}"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.3f} %"


def _table(title: str, rows: list[Row], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in columns)
    body = []
    for r in rows:
        cls = "none" if r.availability is None else ("miss" if r.below_target else "")
        cells = []
        for _, key in columns:
            value = _cell(r, key)
            numeric = key in ("availability", "target", "downtime", "counted", "sites", "below")
            cells.append(f'<td{" class=n" if numeric else ""}>{html.escape(value)}</td>')
        body.append(f'<tr class="{cls}">{"".join(cells)}</tr>')
    return (f"<h2>{html.escape(title)}</h2>\n<table><thead><tr>{head}</tr></thead>"
            f"<tbody>\n{chr(10).join(body)}\n</tbody></table>")


def _cell(r: Row, key: str) -> str:
    return {"id": r.id, "kelurahan": r.kelurahan, "kecamatan": r.kecamatan, "isp": r.isp or "–",
            "availability": _pct(r.availability), "target": _pct(r.target),
            "met": "–" if r.met is None else ("ya / yes" if r.met else "TIDAK / NO"),
            "downtime": _num(r.downtime_hours, 2), "counted": _num(r.counted_hours, 1),
            "sites": str(r.sites), "below": str(r.below_target)}[key]


def to_html(report: Report) -> str:
    m = report.month
    title = f"Ketersediaan jaringan {BULAN[m.month - 1]} {m.year} / Network availability {m}"
    group = [("Ketersediaan / Availability", "availability"), ("Site", "sites"),
             ("Di bawah target / Below target", "below"), ("Jam gangguan / Hours down", "downtime")]
    sites = [("Kode", "id"), ("Kelurahan", "kelurahan"), ("Kecamatan", "kecamatan"),
             ("ISP", "isp"), ("Ketersediaan / Availability", "availability"),
             ("Target SLA", "target"), ("Tercapai / Met", "met"),
             ("Jam gangguan / Hours down", "downtime"), ("Jam dihitung / Hours counted", "counted")]
    c = report.city
    note = (f"Bulan kalender WIB ({m.start:%Y-%m-%d %H:%M} – {m.end:%Y-%m-%d %H:%M} WIB). "
            "Ketersediaan = waktu up atau degraded / waktu up, degraded, down atau unreachable; "
            "jadwal pemeliharaan tidak dihitung. Availability = time up or degraded / time up, "
            "degraded, down or unreachable; maintenance windows are excluded. "
            f"Sumber / source: {report.prometheus}, "
            f"{report.evaluated_at.astimezone(WIB):%Y-%m-%d %H:%M} WIB.")
    parts = [
        "<!DOCTYPE html>", '<html lang="id"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{html.escape(note)}</p>',
        (f"<p><b>Kota: {_pct(c.availability)}</b> · {c.sites} site · "
        f"{c.below_target} di bawah target SLA / below their SLA target</p>"),
        _table("Per kecamatan", report.kecamatan, [("Kecamatan", "kecamatan"), *group]),
        _table("Per ISP", report.isps, [("ISP", "isp"), *group]),
        _table("Per kelurahan", report.sites, sites),
        "</body></html>", ""]
    return "\n".join(parts)


# --- command line --------------------------------------------------------------------------------
