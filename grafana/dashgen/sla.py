"""SLA: availability per kelurahan, kecamatan and ISP over the dashboard's time range (pick a
calendar month in the time picker; the dashboard's time zone is WIB), maintenance excluded,
against each site's target. Tables sort by any column and export as CSV (Inspect -> Data).

Built from the rules' hourly parts (site:netwatch_site_{available,counted}_hours:sum1h): the
ratio of their sums over the range, as docs/recording-rules.md describes, so an hour half in
maintenance weighs half. Hours at the range's edges weigh by how much of their hour lies
inside it; `netwatch report` cuts a month exactly by the parts' `month` label.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from .common import (
    AVAILABILITY,
    NEUTRAL,
    Grid,
    new_dashboard,
    organize,
    override,
    query,
    query_variable,
    steps,
    thresholds_json,
    transform,
    url,
)
from .panels import note, stat_panel, table_panel

FILTER = 'kecamatan=~"$kecamatan", isp=~"$isp"'
INFO_LABELS = "site, kelurahan, kecamatan, isp"
# one label set per site: as at the end of the range, else the last seen within it
INFO = (f"topk by (site) (1,\n"
        f"    max by ({INFO_LABELS}) (last_over_time(netwatch_site_info{{{FILTER}}}[1h]))\n"
        f"  or\n"
        f"    max by ({INFO_LABELS}) (last_over_time((max by ({INFO_LABELS}) "
        f"(netwatch_site_info{{{FILTER}}}))[$__range:1h]))\n)")
TARGET = ("(\n    max by (site) (last_over_time(netwatch_site_sla_target_ratio[1h]))\n  or\n"
          "    max by (site) (last_over_time((max by (site) "
          "(netwatch_site_sla_target_ratio))[$__range:1h]))\n)")
MARGIN = steps("red", (0, "green"))
SITE_LINK = {"title": "Site dashboard", "url": url(
    "site", kecamatan="${__data.fields.kecamatan}", site="${__data.fields.site}")}


def part_sum(part: str) -> str:
    return f"sum by (site) (sum_over_time(site:netwatch_site_{part}_hours:sum1h[$__range]))"


def with_info(expr: str, labels: str = "kelurahan, kecamatan, isp") -> str:
    return f"({expr})\n* on (site) group_left ({labels})\n{INFO}"


SITE_AVAILABILITY = f"{part_sum('available')}\n/ ({part_sum('counted')} > 0)"
SITE_MARGIN = f"({SITE_AVAILABILITY})\n- on (site)\n{TARGET}"


def rollup(by: str) -> str:
    """Site-time weighted availability of a group: its sites' available / counted hours."""
    return (f"sum by ({by}) ({with_info(part_sum('available'))})\n"
            f"/ (sum by ({by}) ({with_info(part_sum('counted'))}) > 0)")


def _site_table() -> object:
    targets = [query(with_info(SITE_AVAILABILITY), ref="A", instant=True, table=True),
               query(with_info(TARGET), ref="B", instant=True, table=True),
               query(with_info(SITE_MARGIN), ref="C", instant=True, table=True)]
    rename = {"kelurahan": "kelurahan", "site": "site", "kecamatan": "kecamatan", "isp": "isp",
              "Value #A": "availability", "Value #B": "SLA target", "Value #C": "margin"}
    return table_panel(
        "Per kelurahan", targets, "percentunit", AVAILABILITY,
        description="Availability over the time range (maintenance excluded) against the "
                    "site's SLA target; margin < 0 misses the target. A site entirely in "
                    "maintenance has no availability. CSV: panel menu, Inspect, Data.",
        transformations=[transform("merge"), organize(rename)],
        overrides=[override("kelurahan", links=[SITE_LINK]),
                   override("availability", decimals=3,
                            custom__cellOptions={"type": "color-text"}),
                   override("SLA target", decimals=2),
                   override("margin", decimals=3, thresholds=thresholds_json(MARGIN),
                            custom__cellOptions={"type": "color-background"})],
        sort_by="margin")


def _group_table(title: str, by: str) -> object:
    below = f"count by ({by}) ({with_info(SITE_MARGIN)} < 0)"
    sites = f"count by ({by}) ({with_info(SITE_AVAILABILITY)})"
    targets = [query(rollup(by), ref="A", instant=True, table=True),
               query(sites, ref="B", instant=True, table=True),
               query(f"{below}\nor\n{sites} * 0", ref="C", instant=True, table=True)]
    rename = {by: by, "Value #A": "availability", "Value #B": "sites",
              "Value #C": "sites below target"}
    return table_panel(
        title, targets, "percentunit", AVAILABILITY,
        description=f"Per {by}: site-time weighted availability over the range "
                    "(maintenance excluded), sites counted, and sites below their own target.",
        transformations=[transform("merge"), organize(rename)],
        overrides=[override("availability", decimals=3,
                            custom__cellOptions={"type": "color-text"}),
                   override("sites", unit="none", decimals=0,
                            thresholds=thresholds_json(NEUTRAL)),
                   override("sites below target", unit="none", decimals=0,
                            thresholds=thresholds_json(steps("green", (1, "red"))),
                            custom__cellOptions={"type": "color-text"})],
        sort_by="availability")



def _totals() -> list[tuple[object, int]]:
    city = (f"sum({with_info(part_sum('available'))})\n"
            f"/ (sum({with_info(part_sum('counted'))}) > 0)")
    return [
        (stat_panel("Availability", [query(city, instant=True)], "percentunit", AVAILABILITY,
                    decimals=3, description="All selected sites, site-time weighted."), 6),
        (stat_panel("Sites counted", [query(f"count({with_info(SITE_AVAILABILITY)})",
                                            instant=True)], "none", NEUTRAL, decimals=0), 6),
        (stat_panel("Sites below target", [query(
            f"count({with_info(SITE_MARGIN)} < 0) or vector(0)", instant=True)],
            "none", steps("green", (1, "red")), decimals=0), 6),
    ]


HELP = """Pick the month in the time picker (**This month**, **Previous month**, or any
range): every figure is over the dashboard's time range in WIB. Availability = time up or
degraded / time up, degraded, down or unreachable; maintenance windows count in neither.
Export a table: its menu, *Inspect* > *Data* > *Download CSV*. The exact monthly report for
management: `netwatch report --month YYYY-MM` (docs/grafana.md)."""


def build() -> db.Dashboard:
    dash = new_dashboard("sla", "Availability per kelurahan, kecamatan and ISP over the chosen "
                                "month against each site's SLA target, maintenance excluded.",
                         time=("now/M", "now/M"), refresh="")
    dash = (dash.with_variable(query_variable("kecamatan", "Kecamatan",
                                              "label_values(netwatch_site_info, kecamatan)",
                                              multi=True))
            .with_variable(query_variable("isp", "ISP", "label_values(netwatch_site_info, isp)",
                                          multi=True)))
    grid = Grid(dash)
    grid.line(4, *_totals(), (note("How to read", HELP), 6))
    grid.line(14, (_site_table(), 24))
    grid.line(10, (_group_table("Per kecamatan", "kecamatan"), 12),
              (_group_table("Per ISP", "isp"), 12))
    return dash
