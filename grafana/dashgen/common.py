"""What every netwatch dashboard shares: the data source variable, uids and links, queries,
units and thresholds, the site-state code, and a grid that places panels explicitly.

Every panel gets a unit and thresholds (the generator's tests check it), queries go through
`${datasource}` (no data source uid is hard-coded), and links between dashboards use the
fixed uids below, so they survive an import into any Grafana. The levels where loss, RTT,
uplink use and event-loop lag change colour come from netwatch's thresholds file (`Levels`),
so a panel turns red where the daemon or an alert draws the line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    GridPos,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from netwatch.config.thresholds import ThresholdsFile
from netwatch.generators.rules import cause_values

DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["netwatch"]
TIMEZONE = "Asia/Jakarta"  # days and months (SLA) are WIB, as in the rules and the report

UID = {
    "overview": "netwatch-overview",
    "kecamatan": "netwatch-kecamatan",
    "site": "netwatch-site",
    "sla": "netwatch-sla",
    "poller": "netwatch-poller",
}
TITLE = {
    "overview": "netwatch · Kota Bandar Lampung",
    "kecamatan": "netwatch · Kecamatan",
    "site": "netwatch · Site",
    "sla": "netwatch · SLA",
    "poller": "netwatch · Poller",
}

# The site state as one number (worst is highest), so maps, tiles and timelines can colour it.
# Panels read the site state from the rules' site:netwatch_site_state:combined: the same with
# one netwatch instance per shard or twins (docs/deploy.md), one series per site either way.
SITE_STATE = "site:netwatch_site_state:combined"
STATE_CODE = {"up": 0, "maintenance": 1, "degraded": 2, "unreachable": 3, "down": 4}
STATE_COLOR = {"up": "green", "maintenance": "blue", "degraded": "yellow",
               "unreachable": "orange", "down": "red"}


# --- PromQL --------------------------------------------------------------------------------

def state_code(selector: str = "") -> str:
    """Per site (site, kecamatan): the code of the state whose series is 1."""
    inner = selector.strip("{}")
    sep = ", " if inner else ""
    parts = [f'({SITE_STATE}{{{inner}{sep}state="{state}"}} == 1) * {code}'
             for state, code in sorted(STATE_CODE.items(), key=lambda kv: -kv[1])]
    return "max by (site, kecamatan) (\n    " + "\n  or ".join(parts) + "\n)"


def one_per_device(expr: str) -> str:
    """A per-device series once, whichever netwatch instance reported it: twins poll the same
    devices (the same gauge, the same counter's rate), so `max` over the instances, never a sum
    (max also skips a twin whose counter stalled because it cannot reach the device)."""
    return f"max without (instance, replica) ({expr})"


def trusted(selector: str) -> str:
    """`selector`'s series from the netwatch instances that are not isolated (every canary
    down: its echoes all fail): for ICMP counts, which each instance makes itself."""
    return f"({selector} unless on (instance) netwatch_poller_isolated == 1)"


def named(expr: str, selector: str = "", labels: str = "kelurahan") -> str:
    """`expr` (one series per site) with the site's kelurahan (and other info labels)."""
    return (f"{expr}\n* on (site) group_left ({labels})\n"
            f"  max by (site, {labels}) (netwatch_site_info{selector})")


def query(expr: str, legend: str = "", ref: str = "A", instant: bool = False,
          table: bool = False, heatmap: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DS)
    q = q.instant() if instant else q.range()
    if legend:
        q = q.legend_format(legend)
    if table:
        q = q.format(PromQueryFormat.TABLE)
    elif heatmap:
        q = q.format(PromQueryFormat.HEATMAP)
    return q


# --- units, thresholds, mappings ----------------------------------------------------------------

def steps(base: str, *levels: tuple[float, str]) -> db.ThresholdsConfig:
    """Absolute thresholds: `base` colour below the first level."""
    return db.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=None, color=base), *(Threshold(value=v, color=c) for v, c in levels)])


def state_thresholds() -> db.ThresholdsConfig:
    ordered = sorted(STATE_CODE.items(), key=lambda kv: kv[1])
    return steps(STATE_COLOR[ordered[0][0]],
                 *((float(code), STATE_COLOR[state]) for state, code in ordered[1:]))


def state_mappings() -> list[Any]:
    return [ValueMap(options={
        str(code): ValueMappingResult(text=state, color=STATE_COLOR[state], index=code)
        for state, code in STATE_CODE.items()})]


def flag_mappings(one: tuple[str, str], zero: tuple[str, str]) -> list[Any]:
    """A 1/0 gauge shown as words: one=(text, colour), zero=(text, colour)."""
    return [ValueMap(options={"1": ValueMappingResult(text=one[0], color=one[1], index=0),
                              "0": ValueMappingResult(text=zero[0], color=zero[1], index=1)})]


AVAILABILITY = steps("red", (0.95, "orange"), (0.99, "yellow"), (0.995, "green"))
NEUTRAL = steps("green")


@dataclass(frozen=True)
class Levels:
    """Colours read from the thresholds file: yellow at its `dashboards:` level, red where the
    daemon calls a site degraded (loss, RTT p90) or an alert fires (uplink use, loop lag)."""

    loss: db.ThresholdsConfig
    rtt: db.ThresholdsConfig
    utilisation: db.ThresholdsConfig
    loop_lag: db.ThresholdsConfig
    signal_fell_by: float = 8.0  # dB under a link's normal: radio_degraded (causes)
    rsrp_weak: float = -115.0  # dBm: an LTE modem this weak is radio_degraded (causes)

    @classmethod
    def of(cls, thresholds: ThresholdsFile) -> Levels:
        warn, degraded = thresholds.dashboards, thresholds.degraded
        causes = cause_values(thresholds)
        return cls(
            signal_fell_by=_number(causes, "cause_radio_degraded_signal_fell_by"),
            rsrp_weak=_number(causes, "cause_radio_degraded_signal_below_value"),
            loss=steps("green", (warn.loss_warn_ratio, "yellow"), (degraded.loss_ratio, "red")),
            rtt=steps("green", (warn.rtt_p90_warn, "yellow"), (degraded.rtt_p90, "red")),
            utilisation=steps("green", (warn.utilization_warn_ratio, "yellow"),
                              (thresholds.rule_number("link_saturated_ratio"), "red")),
            loop_lag=steps("green", (warn.event_loop_lag_warn_seconds, "yellow"),
                           (thresholds.rule_number("event_loop_lag_seconds"), "red")),
        )


def _number(values: dict[str, object], key: str) -> float:
    value = values[key]
    assert isinstance(value, (int, float)), key
    return float(value)


def thresholds_json(thresholds: db.ThresholdsConfig) -> dict[str, object]:
    """Thresholds as an override value (overrides take plain JSON)."""
    built = thresholds.build()
    return {"mode": str(built.mode),
            "steps": [{"value": s.value, "color": s.color} for s in built.steps]}


def mappings_json(mappings: list[Any]) -> list[object]:
    return [m.to_json() for m in mappings]


def override(name: str, **props: object) -> tuple[str, list[DynamicConfigValue]]:
    """Field override by (display) name; props use Grafana's ids with '.' written '__'."""
    return name, [DynamicConfigValue(id_val=k.replace("__", "."), value=v)
                  for k, v in props.items()]


def transform(id_val: str, **options: object) -> DataTransformerConfig:
    return DataTransformerConfig(id_val=id_val, options=options)


def organize(rename: dict[str, str], hide: Sequence[str] = ("Time",)) -> DataTransformerConfig:
    """Hide columns, rename the rest, and keep the order in which `rename` lists them."""
    return transform("organize", excludeByName=dict.fromkeys(hide, True),
                     renameByName=rename,
                     indexByName={name: i for i, name in enumerate(rename)})


# --- variables and links -------------------------------------------------------------------

def datasource_variable() -> db.DatasourceVariable:
    return db.DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def query_variable(name: str, label: str, expr: str, multi: bool = False,
                   regex: str = "") -> db.QueryVariable:
    var = (db.QueryVariable(name).label(label).datasource(DS).query(expr)
           .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.NATURAL_ASC))
    if multi:  # All by default
        var = (var.multi(True).include_all(True).all_value(".*")
               .current(VariableOption(selected=True, text=["All"], value=["$__all"])))
    if regex:
        var = var.regex(regex)
    return var


def url(kind: str, **variables: str) -> str:
    """A link to another netwatch dashboard keeping the time range and the data source."""
    params = "".join(f"var-{k}={v}&" for k, v in variables.items())
    return f"/d/{UID[kind]}?{params}${{__url_time_range}}&${{datasource:queryparam}}"


def data_link(title: str, kind: str, **variables: str) -> db.DashboardLink:
    return db.DashboardLink(title).type(DashboardLinkType.LINK).url(url(kind, **variables))


def dashboard_links(current: str) -> list[Any]:
    return [db.DashboardLink(TITLE[kind].split(" · ")[1]).type(DashboardLinkType.LINK)
            .url(f"/d/{UID[kind]}").icon("dashboard").keep_time(True).include_vars(True)
            .tooltip(TITLE[kind]) for kind in UID if kind != current]


def runbook_link(base_url: str) -> db.DashboardLink:
    """The runbooks (one heading per alert, docs/runbooks.md) where the city serves them: the
    thresholds file's `runbook_base_url`, the same the alert rules' runbook_url starts with."""
    return (db.DashboardLink("Runbooks").type(DashboardLinkType.LINK).url(base_url)
            .icon("doc").target_blank(True).tooltip("What to do for each alert"))


def new_dashboard(kind: str, description: str, time: tuple[str, str] = ("now-6h", "now"),
                  refresh: str = "1m") -> db.Dashboard:
    return (db.Dashboard(TITLE[kind]).uid(UID[kind]).description(description).tags(TAGS)
            .timezone(TIMEZONE).time(time[0], time[1]).refresh(refresh).editable()
            .tooltip(DashboardCursorSync.CROSSHAIR).links(dashboard_links(kind))
            .with_variable(datasource_variable()))


# --- layout ------------------------------------------------------------------------------------

class Grid:
    """Places panels left to right in lines of a given height; rows span the width."""

    def __init__(self, dashboard: db.Dashboard) -> None:
        self.dashboard = dashboard
        self.y = 0

    def row(self, title: str) -> None:
        self.dashboard.with_row(db.Row(title).grid_pos(GridPos(h=1, w=24, x=0, y=self.y)))
        self.y += 1

    def line(self, height: int, *panels: tuple[Any, int]) -> None:
        x = 0
        for panel, width in panels:
            self.place(panel, x, self.y, width, height)
            x += width
        self.y += height

    def place(self, panel: Any, x: int, y: int, w: int, h: int) -> None:
        self.dashboard.with_panel(panel.grid_pos(GridPos(h=h, w=w, x=x, y=y)))

    def skip(self, height: int) -> None:
        self.y += height


# --- output -----------------------------------------------------------------------------------

def render(dashboard: db.Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana JSON, with panel ids numbered in layout order."""
    data: dict[str, Any] = json.loads(json.dumps(dashboard.build(), cls=JSONEncoder))
    data["annotations"] = {"list": [], **data.get("annotations", {})}  # Grafana adds its own
    next_id = 1
    for panel in data.get("panels", []):
        for p in [panel, *panel.get("panels", [])]:
            p["id"] = next_id
            next_id += 1
    return data
