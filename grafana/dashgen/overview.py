"""Kota overview: the NOC wall. The whole city at a glance, any kelurahan two clicks away
(a marker or tile, then its link to the site dashboard)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueTextMode

from . import geo
from .common import (
    AVAILABILITY,
    NEUTRAL,
    SITE_STATE,
    STATE_CODE,
    STATE_COLOR,
    Grid,
    Levels,
    data_link,
    flag_mappings,
    named,
    new_dashboard,
    organize,
    override,
    query,
    query_variable,
    state_code,
    state_mappings,
    state_thresholds,
    steps,
    thresholds_json,
    transform,
    url,
)
from .panels import stat_panel, state_counts, table_panel

SITE_LINK = {"kecamatan": "${__data.fields.kecamatan}", "site": "${__data.fields.site}"}


def _state_counts() -> list[tuple[object, int]]:
    out: list[tuple[object, int]] = [*state_counts(
        lambda state: f'city:netwatch_site_state:sum{{state="{state}"}}', 4)]
    out.append((stat_panel(
        "Availability 1h", [query("city:netwatch_availability:ratio1h", instant=True)],
        "percentunit", AVAILABILITY, decimals=2,
        description="City availability over the last hour, maintenance excluded "
                    "(city:netwatch_availability:ratio1h)."), 4))
    return out


def _worst(title: str, expr: str, unit: str, thresholds: db.ThresholdsConfig,
           description: str) -> object:
    return table_panel(
        title, [query(named(f"topk(10, {expr})"), instant=True, table=True)], unit, thresholds,
        description=description, sort_by="Value", descending=True,
        transformations=[organize({"kelurahan": "kelurahan", "kecamatan": "kecamatan",
                                   "Value": "Value", "site": "site"},
                                  hide=("Time", "quantile"))],
        overrides=[override("kelurahan", links=[_link_json()]),
                   override("Value", custom__cellOptions={"type": "color-text"})])


def _link_json() -> dict[str, object]:
    return {"title": "Site dashboard", "url": url("site", **SITE_LINK)}


def _alerts() -> object:
    return table_panel(
        "Active alerts", [query('ALERTS{alertstate="firing"}', instant=True, table=True)],
        "none", steps("red"),
        description="Alerts Prometheus is firing now (ALERTS); empty on a healthy city.",
        transformations=[organize({"alertname": "alert", "severity": "severity",
                                   "kecamatan": "kecamatan", "site": "site",
                                   "device": "device"},
                                  hide=("Time", "Value", "alertstate", "__name__", "job",
                                        "instance"))],
        overrides=[override("site", links=[_link_json()])], sort_by="severity")


# each site's cause (one, however many daemons export it: the combined one), or none yet
SITE_CAUSE = ('topk by (site) (1, site:netwatch_site_cause:combined == 1)\n'
              '  or on (site) max by (site) (netwatch_site_info)')


def _down_sites() -> object:
    expr = named(f'({SITE_STATE}{{state=~"down|unreachable"}} == 1)\n'
                 f'* on (site) group_left (cause) (\n  {SITE_CAUSE}\n) ^ 0')
    return table_panel(
        "Sites down or unreachable", [query(expr, instant=True, table=True)], "none",
        steps("red"), description="Empty on a healthy city. Click a kelurahan for its site.",
        transformations=[organize({"kelurahan": "kelurahan", "kecamatan": "kecamatan",
                                   "state": "state", "cause": "cause", "site": "site"},
                                  hide=("Time", "Value"))],
        overrides=[override("kelurahan", links=[_link_json()])])


def _worst_links() -> object:
    """The radio links furthest under their own normal: signal (and LTE RSRP) dB under the
    link's baseline, with the capacity's share of its normal beside it."""
    by = "site, kecamatan, device, ifname"

    def under(value: str, baseline: str) -> str:
        return f"max by ({by}) ({baseline}) - max by ({by}) ({value})"

    signal = (f'{under("netwatch_radio_signal_dbm", "netwatch_radio_signal_baseline_dbm")}\n'
              f'or {under("netwatch_lte_rsrp_dbm", "netwatch_lte_rsrp_baseline_dbm")}')
    capacity = (f"max by ({by}) (netwatch_radio_tx_rate_bytes_per_second)\n"
                f"/ max by ({by}) (netwatch_radio_tx_rate_baseline_bytes_per_second > 0)")
    return table_panel(
        "Worst links", [query(named(f"topk(10, {signal})"), instant=True, table=True, ref="A"),
                        query(named(f"(\n{capacity}\n) and on ({by}) topk(10, {signal})"),
                              instant=True, table=True, ref="B")],
        "dB", steps("green", (3, "yellow"), (8, "red")),
        description="Radio links furthest under their own normal (the daemon's baselines): "
                    "the signal (an LTE modem's RSRP) in dB under it, and the link rate as a "
                    "share of its normal. Worst first.",
        sort_by="dB under normal", descending=True,
        transformations=[transform("merge"),
                         organize({"kelurahan": "kelurahan", "kecamatan": "kecamatan",
                                   "device": "device", "ifname": "link",
                                   "Value #A": "dB under normal",
                                   "Value #B": "rate / normal", "site": "site"},
                                  hide=("Time",))],
        overrides=[override("kelurahan", links=[_link_json()]),
                   override("rate / normal", unit="percentunit",
                            thresholds=thresholds_json(steps("red", (0.7, "green")))),
                   override("dB under normal", custom__cellOptions={"type": "color-text"})])


def _cause_counts() -> object:
    """Sites per cause: why the sites that are not up are not (netwatch_site_cause)."""
    expr = "sum by (cause) (site:netwatch_site_cause:combined)"
    return stat_panel(
        "Sites per cause", [query(expr, legend="{{cause}}", instant=True)], "none",
        steps("green", (1, "orange")), decimals=0,
        color=BigValueColorMode.BACKGROUND, text_mode=BigValueTextMode.VALUE_AND_NAME,
        description="Sites not up, counted by the daemon's cause (docs/causes.md): whom to "
                    "send. 0 everywhere on a healthy city.")


def _poller_line(levels: Levels) -> list[tuple[object, int]]:
    link = [data_link("Poller dashboard", "poller")]
    return [
        (stat_panel("Pollers", [query("count(netwatch_build_info)", instant=True)], "none",
                    steps("red", (1, "green")), links=link, decimals=0,
                    description="netwatch instances Prometheus scrapes."), 3),
        (stat_panel("Poller isolated", [query("max(netwatch_poller_isolated)", instant=True)],
                    "none", steps("green", (1, "red")), links=link,
                    mappings=flag_mappings(("ISOLATED", "red"), ("no", "green")),
                    description="1 when every canary is down: the poller is cut off."), 3),
        (stat_panel("Canaries up", [query("sum(netwatch_canary_up) / count(netwatch_canary_up)",
                                          instant=True)],
                    "percentunit", steps("red", (1, "green")), links=link), 3),
        (stat_panel("Config reload",
                    [query("min(netwatch_config_last_reload_successful)", instant=True)],
                    "none", steps("red", (1, "green")), links=link,
                    mappings=flag_mappings(("ok", "green"), ("FAILED", "red"))), 3),
        (stat_panel("Loop lag", [query("max(netwatch_event_loop_lag_seconds)", instant=True)],
                    "s", levels.loop_lag, links=link), 3),
        (stat_panel("Skipped polls",
                    [query("sum(rate(netwatch_polls_skipped_total[$__rate_interval]))",
                           instant=True)],
                    "ops", steps("green", (0.01, "red")), links=link), 3),
        (stat_panel("Poll errors",
                    [query("sum(rate(netwatch_poll_errors_total[$__rate_interval]))",
                           instant=True)],
                    "ops", steps("green", (1, "yellow")), links=link,
                    description="Failed polls per second, all reasons (down devices count)."), 3),
        (stat_panel("Lateness p90",
                    [query("histogram_quantile(0.9, sum by (le) (rate("
                           "netwatch_poll_lateness_seconds_bucket[$__rate_interval])))",
                           instant=True)],
                    "s", steps("green", (0.5, "yellow"), (2, "red")), links=link), 3),
    ]


def _kecamatan_summary() -> object:
    targets = [query(f'sum by (kecamatan) (kecamatan:netwatch_site_state:sum{{state="{s}"}})',
                     ref=chr(ord("A") + i), instant=True, table=True)
               for i, s in enumerate(STATE_CODE)]
    targets.append(query("kecamatan:netwatch_availability:ratio1h", ref="F", instant=True,
                         table=True))
    rename = {"kecamatan": "kecamatan",
              **{f"Value #{chr(ord('A') + i)}": s for i, s in enumerate(STATE_CODE)},
              "Value #F": "availability 1h"}
    state_cols = [override(s, custom__cellOptions={"type": "color-text"},
                           thresholds={"mode": "absolute", "steps": [
                               {"value": None, "color": "text"},
                               {"value": 1, "color": STATE_COLOR[s]}]})
                  for s in STATE_CODE if s != "up"]
    return table_panel(
        "Kecamatan", targets, "none", NEUTRAL,
        description="Sites per state and availability per kecamatan. Click a kecamatan for "
                    "its dashboard.",
        transformations=[transform("merge"), organize(rename)],
        overrides=[override("kecamatan", links=[{
                       "title": "Kecamatan dashboard",
                       "url": url("kecamatan", kecamatan="${__data.fields.kecamatan}")}]),
                   override("availability 1h", unit="percentunit", decimals=2,
                            thresholds=thresholds_json(AVAILABILITY),
                            custom__cellOptions={"type": "color-text"}),
                   *state_cols],
        sort_by="down", descending=True)



def _status_tiles() -> object:
    expr = named(state_code('{kecamatan=~"$kecamatan"}'))
    panel = stat_panel(
        "$kecamatan", [query(expr, legend="{{kelurahan}}", instant=True)], "none",
        state_thresholds(), mappings=state_mappings(),
        color=BigValueColorMode.BACKGROUND_SOLID, text_mode=BigValueTextMode.VALUE_AND_NAME,
        description="One tile per kelurahan, coloured by its state; click for its site.",
        links=[data_link("${__field.labels.kelurahan}: site dashboard", "site",
                         kecamatan="${__field.labels.kecamatan}",
                         site="${__field.labels.site}")])
    return panel.repeat("kecamatan").repeat_direction("h").max_per_row(4)


def build(levels: Levels, basemap: str = "offline") -> db.Dashboard:
    dash = new_dashboard(
        "overview", "The NOC wall: every kelurahan of the city, its state, the worst links, "
                    "active alerts and the poller's health.", refresh="30s")
    dash = dash.with_variable(query_variable(
        "kecamatan", "Kecamatan", "label_values(netwatch_site_info, kecamatan)", multi=True))
    grid = Grid(dash)
    grid.line(4, *_state_counts())
    top = grid.y
    grid.place(geo.city_map(basemap), 0, top, 14, 18)
    grid.place(_alerts(), 14, top, 10, 6)
    grid.place(_down_sites(), 14, top + 6, 10, 6)
    grid.place(_worst("Worst loss (5m)", "site:netwatch_icmp_loss:ratio5m", "percentunit",
                      levels.loss, "Echo loss to each site's router over 5 minutes, worst first."),
               14, top + 12, 5, 6)
    grid.place(_worst("Worst RTT p90 (5m)",
                      'site:netwatch_icmp_rtt_seconds:quantile5m{quantile="0.9"}', "s", levels.rtt,
                      "RTT p90 to each site's router over 5 minutes, worst first."),
               19, top + 12, 5, 6)
    grid.skip(18)
    grid.line(4, (_cause_counts(), 24))
    grid.line(8, (_worst_links(), 24))
    grid.line(3, *_poller_line(levels))
    grid.row("Status by kecamatan")
    grid.line(8, (_kecamatan_summary(), 24))
    grid.line(7, (_status_tiles(), 6))
    return dash
