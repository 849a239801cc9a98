"""Kecamatan: its sites side by side, availability today and this month."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueTextMode

from .common import (
    AVAILABILITY,
    NEUTRAL,
    SITE_STATE,
    Grid,
    Levels,
    data_link,
    mappings_json,
    named,
    new_dashboard,
    organize,
    override,
    query,
    query_variable,
    state_code,
    state_mappings,
    state_thresholds,
    thresholds_json,
    transform,
    url,
)
from .panels import (
    stat_panel,
    state_counts,
    table_panel,
    timeline_panel,
    timeseries_panel,
)

K = '{kecamatan="$kecamatan"}'
RTT_P90 = ('max by (site) (site:netwatch_icmp_rtt_seconds:quantile5m'
           '{kecamatan="$kecamatan", quantile="0.9"})')
TODAY = "now/d"  # panel time override: today so far (dashboard time zone: WIB)
SITE_LINK = {"title": "Site dashboard", "url": url(
    "site", kecamatan="$kecamatan", site="${__data.fields.site}")}


def availability_over_range(by: str, selector: str) -> str:
    """Availability over the panel's time range from the combined state set itself (every
    rule evaluation; exact; for windows up to a day — longer ones use the hourly parts of the
    rules). Evaluations summed, as the rules do: every site weighs by its time
    (docs/recording-rules.md, the definition)."""
    sel = selector.strip("{}")
    return (f'sum by ({by}) (sum_over_time({SITE_STATE}{{{sel}, state=~"up|degraded"}}'
            f'[$__range]))\n/ (sum by ({by}) (sum_over_time({SITE_STATE}{{{sel}, '
            f'state=~"up|degraded|down|unreachable"}}[$__range])) > 0)')


def _counts(levels: Levels) -> list[tuple[object, int]]:
    out: list[tuple[object, int]] = [*state_counts(
        lambda state: f'sum(kecamatan:netwatch_site_state:sum{{kecamatan="$kecamatan", '
                      f'state="{state}"}})', 3)]
    today = stat_panel("Availability today", [query(
        availability_over_range("kecamatan", K), instant=True)], "percentunit", AVAILABILITY,
        decimals=2, description="Since 00:00 WIB, maintenance excluded.")
    month = stat_panel("This month", [query(
        f"kecamatan:netwatch_availability:ratio_mtd{K}", instant=True)], "percentunit",
        AVAILABILITY, decimals=2, description="Since the 1st, 00:00 WIB, maintenance excluded.")
    loss = stat_panel("Loss 5m", [query(f"kecamatan:netwatch_icmp_loss:ratio5m{K}",
                                        instant=True)], "percentunit", levels.loss, decimals=2)
    return [*out, (today.time_from(TODAY), 3), (month, 3), (loss, 3)]


def _tiles() -> object:
    return stat_panel(
        "Sites", [query(named(state_code(K), K), legend="{{kelurahan}}", instant=True)], "none",
        state_thresholds(), mappings=state_mappings(), color=BigValueColorMode.BACKGROUND_SOLID,
        text_mode=BigValueTextMode.VALUE_AND_NAME,
        description="Each kelurahan of the kecamatan; click a tile for its site dashboard.",
        links=[data_link("${__field.labels.kelurahan}: site dashboard", "site",
                         kecamatan="$kecamatan", site="${__field.labels.site}")])


def _site_table(levels: Levels) -> object:
    columns = [
        ("state", f"max by (site) ({state_code(K)})"),
        ("today", availability_over_range("site", K)),
        ("this month", f"max by (site) (site:netwatch_availability:ratio_mtd{K})"),
        ("SLA target", f"max by (site) (netwatch_site_sla_target_ratio{K})"),
        ("loss 5m", f"max by (site) (site:netwatch_icmp_loss:ratio5m{K})"),
        ("RTT p90", RTT_P90),
        ("uplink use", f"max by (site) (uplink:netwatch_interface_utilization:ratio5m{K})"),
    ]
    refs = [chr(ord("A") + i) for i in range(len(columns))]
    targets = [query(named(f"({expr})", K), ref=ref, instant=True, table=True)
               for ref, (_, expr) in zip(refs, columns, strict=True)]
    rename = {"kelurahan": "kelurahan", "site": "site",
              **{f"Value #{ref}": name for ref, (name, _) in zip(refs, columns, strict=True)}}
    color = {"custom__cellOptions": {"type": "color-text"}}
    return table_panel(
        "Sites side by side", targets, "percentunit", AVAILABILITY,
        description="Availability today (since 00:00 WIB) and this month, both without "
                    "maintenance, against the site's SLA target; loss and latency to the "
                    "router, uplink utilisation. Sortable; click a kelurahan for its site.",
        transformations=[transform("merge"), organize(rename)],
        overrides=[
            override("kelurahan", links=[SITE_LINK]),
            override("state", unit="none", mappings=mappings_json(state_mappings()),
                     thresholds=thresholds_json(state_thresholds()), **color),
            override("today", decimals=2, **color), override("this month", decimals=2, **color),
            override("SLA target", decimals=2),
            override("loss 5m", decimals=2, thresholds=thresholds_json(levels.loss), **color),
            override("RTT p90", unit="s", thresholds=thresholds_json(levels.rtt), **color),
            override("uplink use", decimals=1, thresholds=thresholds_json(levels.utilisation),
                     **color),
        ],
        sort_by="state", descending=True).time_from(TODAY)



def _per_site(title: str, expr: str, unit: str, thresholds: db.ThresholdsConfig,
              description: str, scale: str = "") -> object:
    return timeseries_panel(title, [query(named(expr + scale, K), legend="{{kelurahan}}")],
                            unit, thresholds, description=description)


def build(levels: Levels) -> db.Dashboard:
    dash = new_dashboard("kecamatan", "One kecamatan: its sites side by side, availability "
                                      "today and this month, loss, latency and uplinks.")
    dash = dash.with_variable(query_variable(
        "kecamatan", "Kecamatan", "label_values(netwatch_site_info, kecamatan)"))
    grid = Grid(dash)
    grid.line(4, *_counts(levels))
    grid.line(6, (_tiles(), 24))
    grid.line(10, (_site_table(levels), 24))
    grid.row("Links")
    grid.line(8, (_per_site("Loss (5m)", f"site:netwatch_icmp_loss:ratio5m{K}", "percentunit",
                            levels.loss, "Echo loss to each site's router."), 12),
              (_per_site("RTT p90 (5m)", 'site:netwatch_icmp_rtt_seconds:quantile5m'
                         '{kecamatan="$kecamatan", quantile="0.9"}', "s", levels.rtt,
                         "RTT p90 to each site's router."), 12))
    grid.line(8, (_per_site("Uplink download", f"uplink:netwatch_interface_receive_bytes:rate5m{K}",
                            "bps", NEUTRAL, "Bits per second received on each site's uplink.",
                            scale=" * 8"), 12),
              (timeline_panel("Site states", [query(named(state_code(K), K),
                                                    legend="{{kelurahan}}")],
                              "none", state_thresholds(), state_mappings(),
                              description="The state of every site over time."), 12))
    return dash
