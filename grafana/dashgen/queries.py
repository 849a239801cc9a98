"""Reading the generated dashboards back: every panel query and variable query, and Grafana's
macros replaced by fixed values, so the tests can run them against a real Prometheus without
a Grafana server (docs/grafana.md lists the values).

    for q in panel_queries(dashboard):
        expr = substitute(q.expr, {"site": "18.71.01.1003", ...}, range_seconds=300)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Grafana's macros and the values the tests use in their place
RATE_INTERVAL = "1m"  # $__rate_interval: max(4 x scrape interval, step + scrape) with 15s
INTERVAL = "15s"      # $__interval: the step of a range query


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # uid
    panel: str      # title
    panel_type: str
    ref: str
    expr: str
    instant: bool


@dataclass(frozen=True)
class VariableQuery:
    dashboard: str
    name: str
    query: str
    regex: str
    multi: bool


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' collapsed panels included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard: Mapping[str, Any]) -> Iterator[PanelQuery]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield PanelQuery(dashboard["uid"], panel.get("title", ""), panel["type"],
                                 target.get("refId", ""), target["expr"],
                                 bool(target.get("instant")))


def variable_queries(dashboard: Mapping[str, Any]) -> Iterator[VariableQuery]:
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"]
            text = query if isinstance(query, str) else query.get("query", "")
            yield VariableQuery(dashboard["uid"], var["name"], text, var.get("regex", ""),
                                bool(var.get("multi")))


def substitute(expr: str, variables: Mapping[str, str], range_seconds: int) -> str:
    """Grafana's macros and the dashboard's variables replaced by fixed values."""
    macros = {"__rate_interval": RATE_INTERVAL, "__interval": INTERVAL,
              "__range_s": str(range_seconds), "__range": f"{range_seconds}s",
              **variables}

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in macros:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return macros[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def variable_values(lines: list[str], regex: str) -> list[tuple[str, str]]:
    """(text, value) pairs the way Grafana derives them from a variable query's result:
    `regex` (a /.../ literal) picks the value, or named groups `text` and `value`."""
    if not regex:
        return [(line, line) for line in lines]
    pattern = re.compile(regex.strip("/").replace("(?<", "(?P<"))
    out = []
    for line in lines:
        match = pattern.search(line)
        if match is None:
            continue
        groups = match.groupdict()
        value = groups.get("value") or (match.group(1) if match.groups() else match.group(0))
        out.append((groups.get("text") or value, value))
    return out


def query_result_line(sample: Mapping[str, Any]) -> str:
    """One sample as Grafana's query_result() prints it: name{labels} value timestamp."""
    labels = dict(sample["metric"])
    name = labels.pop("__name__", "")
    body = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    ts, val = sample["value"]
    return f"{name}{{{body}}} {val} {int(float(ts) * 1000)}"


PARSE_VARIABLE = re.compile(
    r"^\s*(?:label_values\((?:(?P<selector>.*),\s*)?(?P<label>\w+)\)"
    r"|query_result\((?P<expr>.*)\))\s*$", re.DOTALL)
