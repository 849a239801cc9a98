"""Panel constructors with netwatch's defaults: every one takes a unit and thresholds, so no
panel leaves the generator without them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, table, text, timeseries
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    BigValueTextMode,
    GraphDrawStyle,
    LegendDisplayMode,
    LegendPlacement,
    SortOrder,
    TableCellHeight,
    TooltipDisplayMode,
    VisibilityMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig, DynamicConfigValue

from .common import DS, STATE_COLOR, query, steps

Override = tuple[str, list[DynamicConfigValue]]


def _common(panel: Any, title: str, description: str, targets: Sequence[prometheus.Dataquery],
            unit: str, thresholds: db.ThresholdsConfig) -> Any:
    panel = panel.title(title).datasource(DS).unit(unit).thresholds(thresholds)
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def _extras(panel: Any, mappings: list[Any] | None, links: Sequence[db.DashboardLink],
            overrides: Sequence[Override],
            transformations: Sequence[DataTransformerConfig]) -> Any:
    if mappings:
        panel = panel.mappings(mappings)
    if links:
        panel = panel.data_links(list(links))
    for name, props in overrides:
        panel = panel.override_by_name(name, props)
    for t in transformations:
        panel = panel.with_transformation(t)
    return panel


def stat_panel(title: str, targets: Sequence[prometheus.Dataquery], unit: str,
               thresholds: db.ThresholdsConfig, description: str = "",
               mappings: list[Any] | None = None, links: Sequence[db.DashboardLink] = (),
               color: BigValueColorMode = BigValueColorMode.BACKGROUND,
               text_mode: BigValueTextMode = BigValueTextMode.AUTO,
               decimals: int | None = None, no_value: str = "") -> stat.Panel:
    panel = _common(stat.Panel(), title, description, targets, unit, thresholds)
    panel = (panel.color_mode(color).graph_mode(BigValueGraphMode.NONE).text_mode(text_mode)
             .orientation(VizOrientation.AUTO)
             .reduce_options(gc.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    if decimals is not None:
        panel = panel.decimals(decimals)
    if no_value:
        panel = panel.no_value(no_value)
    return _extras(panel, mappings, links, (), ())  # type: ignore[no-any-return]


def timeseries_panel(title: str, targets: Sequence[prometheus.Dataquery], unit: str,
                     thresholds: db.ThresholdsConfig, description: str = "",
                     overrides: Sequence[Override] = (), min_val: float | None = None,
                     max_val: float | None = None, bars: bool = False,
                     fill: float = 10) -> timeseries.Panel:
    panel = _common(timeseries.Panel(), title, description, targets, unit, thresholds)
    panel = (panel.line_width(1).fill_opacity(fill).show_points(VisibilityMode.NEVER)
             .draw_style(GraphDrawStyle.BARS if bars else GraphDrawStyle.LINE)
             .legend(gc.VizLegendOptions().show_legend(True)
                     .display_mode(LegendDisplayMode.TABLE).placement(LegendPlacement.BOTTOM)
                     .calcs(["mean", "max", "lastNotNull"]))
             .tooltip(gc.VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING)))
    if min_val is not None:
        panel = panel.min(min_val)
    if max_val is not None:
        panel = panel.max(max_val)
    return _extras(panel, None, (), overrides, ())  # type: ignore[no-any-return]


def table_panel(title: str, targets: Sequence[prometheus.Dataquery], unit: str,
                thresholds: db.ThresholdsConfig, description: str = "",
                transformations: Sequence[DataTransformerConfig] = (),
                overrides: Sequence[Override] = (), sort_by: str = "", descending: bool = False,
                mappings: list[Any] | None = None) -> table.Panel:
    panel = _common(table.Panel(), title, description, targets, unit, thresholds)
    panel = panel.show_header(True).filterable(True).cell_height(TableCellHeight.SM)
    if sort_by:
        panel = panel.sort_by([gc.TableSortByFieldState().display_name(sort_by).desc(descending)])
    return _extras(panel, mappings, (), overrides, transformations)  # type: ignore[no-any-return]


def timeline_panel(title: str, targets: Sequence[prometheus.Dataquery], unit: str,
                   thresholds: db.ThresholdsConfig, mappings: list[Any], description: str = "",
                   row_height: float = 0.8) -> statetimeline.Panel:
    panel = _common(statetimeline.Panel(), title, description, targets, unit, thresholds)
    panel = (panel.show_value(VisibilityMode.NEVER).merge_values(True).row_height(row_height)
             .fill_opacity(80).line_width(0)
             .legend(gc.VizLegendOptions().show_legend(True)
                     .display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM)))
    return _extras(panel, mappings, (), (), ())  # type: ignore[no-any-return]


def note(title: str, markdown: str) -> text.Panel:
    return text.Panel().title(title).content(markdown)


def state_counts(expr: Callable[[str], str], width: int) -> list[tuple[stat.Panel, int]]:
    """One stat per site state (sites in it): green at 0, the state's colour above."""
    out = []
    for state in ("up", "degraded", "down", "unreachable", "maintenance"):
        color = STATE_COLOR[state]
        thresholds = steps(color) if state in ("up", "maintenance") else \
            steps("green", (1, color))
        out.append((stat_panel(state.capitalize(), [query(expr(state), instant=True)], "none",
                               thresholds, decimals=0,
                               description=f"Sites whose netwatch_site_state is {state}."),
                    width))
    return out
