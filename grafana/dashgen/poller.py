"""Poller: is netwatch itself healthy? Poll durations, lateness, skipped polls, event-loop lag,
errors by reason, targets, reload status, canaries, and the twins of each shard."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueTextMode

from .common import (
    NEUTRAL,
    Grid,
    Levels,
    flag_mappings,
    new_dashboard,
    organize,
    query,
    query_variable,
    steps,
)
from .panels import stat_panel, table_panel, timeline_panel, timeseries_panel

N = '{instance=~"$instance"}'
RATE = "[$__rate_interval]"
LATE = steps("green", (0.5, "yellow"), (2, "red"))


def _status() -> list[tuple[object, int]]:
    return [
        (stat_panel("Version", [query(f"netwatch_build_info{N}", legend="{{version}}",
                                      instant=True)], "none", NEUTRAL,
                    color=BigValueColorMode.NONE, text_mode=BigValueTextMode.NAME), 3),
        (stat_panel("Targets", [query(f"sum by (probe) (netwatch_targets{N})",
                                      legend="{{probe}}", instant=True)],
                    "none", NEUTRAL, color=BigValueColorMode.NONE,
                    text_mode=BigValueTextMode.VALUE_AND_NAME, decimals=0), 5),
        (stat_panel("Config reload", [query(f"min(netwatch_config_last_reload_successful{N})",
                                            instant=True)], "none", steps("red", (1, "green")),
                    mappings=flag_mappings(("ok", "green"), ("FAILED", "red")),
                    description="Whether the last (re)load succeeded; a failed one keeps the "
                                "old config running."), 3),
        (stat_panel("Last good reload", [query(
            f"time() - max(netwatch_config_last_reload_success_timestamp_seconds{N})",
            instant=True)], "s", NEUTRAL, color=BigValueColorMode.NONE,
            description="Time since the config was last loaded successfully."), 3),
        (stat_panel("Poller isolated", [query(f"max(netwatch_poller_isolated{N})",
                                              instant=True)], "none", steps("green", (1, "red")),
                    mappings=flag_mappings(("ISOLATED", "red"), ("no", "green")),
                    description="1 when every canary is down: the poller is cut off and site "
                                "states are frozen."), 3),
        (stat_panel("Canaries", [query(f"netwatch_canary_up{N}", legend="{{canary}}",
                                       instant=True)], "none", steps("red", (1, "green")),
                    mappings=flag_mappings(("up", "green"), ("DOWN", "red")),
                    text_mode=BigValueTextMode.VALUE_AND_NAME), 7),
    ]


def _timings() -> list[tuple[object, int]]:
    durations = timeseries_panel("Poll duration across targets", [
        query(f"quantile by (probe) ({q}, netwatch_poll_duration_seconds{N})",
              legend=f"{{{{probe}}}} p{int(float(q) * 100)}", ref=ref)
        for ref, q in (("A", "0.5"), ("B", "0.9"), ("C", "1"))],
        "s", steps("green", (1, "yellow"), (5, "red")),
        description="How long the last poll of each target took (p50, p90, max per probe).")
    lateness = timeseries_panel("Poll lateness", [
        query(f"histogram_quantile({q}, sum by (le, probe) "
              f"(rate(netwatch_poll_lateness_seconds_bucket{N}{RATE})))",
              legend=f"{{{{probe}}}} p{int(float(q) * 100)}", ref=ref)
        for ref, q in (("A", "0.5"), ("B", "0.9"), ("C", "0.99"))],
        "s", LATE, description="Delay between a poll's scheduled tick and its start.")
    return [(durations, 12), (lateness, 12)]


def _load(levels: Levels) -> list[tuple[object, int]]:
    skipped = timeseries_panel("Skipped polls", [query(
        f"sum by (probe) (rate(netwatch_polls_skipped_total{N}{RATE}))", legend="{{probe}}")],
        "ops", steps("green", (0.01, "red")),
        description="Polls skipped because the previous one of the target overran.")
    lag = timeseries_panel("Event-loop lag", [query(
        f"netwatch_event_loop_lag_seconds{N}", legend="{{instance}}")], "s", levels.loop_lag,
        description="Worst wake-up delay of the daemon's event loop in the last 10 s.")
    errors = timeseries_panel("Errors by reason", [query(
        f"sum by (probe, reason) (rate(netwatch_poll_errors_total{N}{RATE}))",
        legend="{{probe}} {{reason}}")], "ops", steps("green", (1, "yellow")),
        description="Failed polls per second by reason (timeout, unreachable, auth, "
                    "protocol, internal). Down devices time out by design.")
    return [(skipped, 8), (lag, 8), (errors, 8)]


def _targets() -> list[tuple[object, int]]:
    failing = timeseries_panel("Targets failing", [query(
        f"sum by (probe) (netwatch_up{N} == bool 0)", legend="{{probe}}")], "none",
        steps("green", (1, "yellow")), description="Targets whose last poll failed.", min_val=0)
    slowest = table_panel("Slowest targets", [query(
        f"topk(10, netwatch_poll_duration_seconds{N})", instant=True, table=True)], "s",
        steps("green", (1, "yellow"), (5, "red")), sort_by="duration", descending=True,
        transformations=[organize({"site": "site", "device": "device", "probe": "probe",
                                   "Value": "duration"},
                                  hide=("Time", "__name__", "job", "instance", "kecamatan",
                                        "role"))])
    canaries = timeline_panel("Canaries and reloads", [
        query(f"netwatch_canary_up{N}", legend="canary {{canary}}", ref="A"),
        query(f"min(netwatch_config_last_reload_successful{N})", legend="config reload",
              ref="B")], "none", steps("red", (1, "green")),
        flag_mappings(("ok", "green"), ("failed", "red")))
    return [(failing, 8), (slowest, 8), (canaries, 8)]


def _replicas() -> list[tuple[object, int]]:
    """Twins (two instances polling one shard, scrape label `replica`): which run, and where
    their views of the sites differ (the rules combine them: the best trusted view wins)."""
    running = stat_panel("Instances and replicas", [query(
        'max by (shard, replica, instance) (up{job="netwatch"})',
        legend="{{shard}} {{replica}} {{instance}}", instant=True)], "none",
        steps("red", (1, "green")), mappings=flag_mappings(("up", "green"), ("DOWN", "red")),
        text_mode=BigValueTextMode.VALUE_AND_NAME,
        description="Whether Prometheus scrapes each netwatch instance, with its shard and "
                    "replica labels. A twin down while the other runs changes no site state "
                    "(NetwatchReplicaDown, warning).")
    differ = stat_panel("Sites the replicas see differently", [query(
        "count(count by (site) (count by (site, state) ("
        "netwatch_site_state == 1 unless on (instance) netwatch_poller_isolated == 1"
        ")) > 1) or vector(0)", instant=True)], "none", steps("green", (1, "yellow")),
        decimals=0,
        description="Sites whose twins (not isolated) report different states now; the "
                    "dashboards and alerts show the best of them. Lasting differences point at "
                    "one twin's own network path. Always 0 with one instance per shard.")
    return [(running, 16), (differ, 8)]


def build(levels: Levels) -> db.Dashboard:
    dash = new_dashboard("poller", "netwatch watching itself: poll timings, lateness, skipped "
                                   "polls, event-loop lag, errors, targets, reloads, canaries.")
    dash = dash.with_variable(query_variable(
        "instance", "Poller", "label_values(netwatch_build_info, instance)", multi=True))
    grid = Grid(dash)
    grid.line(4, *_status())
    grid.line(4, *_replicas())
    grid.line(8, *_timings())
    grid.line(8, *_load(levels))
    grid.line(8, *_targets())
    return dash
