"""What every exposition must satisfy: the catalog, prometheus-client's parser, promtool."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from netwatch.base.catalog import METRICS, Metric
from tests.conftest import program, run_program


def _entry(family_name: str) -> Metric | None:
    # the parser names counter families without their `_total`
    return METRICS.get(family_name) or METRICS.get(f"{family_name}_total")


def _help_matches(metric: Metric, text: str) -> bool:
    """The catalog's HELP; SNMP profile metrics add the objects they are read from."""
    if metric.origin == "profile":
        return text == metric.help or (text.startswith(f"{metric.help} From ")
                                       and text.endswith("."))
    return text == metric.help


def catalog_problems(body: str) -> tuple[set[str], list[str]]:
    """The catalog families a scrape exports, and what in it disagrees with the catalog:
    families not declared, another type or HELP, samples with other label names."""
    exported: set[str] = set()
    problems: dict[str, None] = {}
    add = problems.setdefault  # each problem once, not once per series
    for family in text_string_to_metric_families(body):
        metric = _entry(family.name)
        if metric is None:
            add(f"{family.name}: not in the catalog")
            continue
        exported.add(metric.name)
        if family.type != metric.exposition_type:
            add(f"{metric.name}: TYPE {family.type}, catalog {metric.type}")
        if not _help_matches(metric, family.documentation):
            add(f"{metric.name}: HELP {family.documentation!r}, catalog {metric.help!r}")
        for sample in family.samples:
            wanted = set(metric.labels) | ({"le"} if sample.name.endswith("_bucket") else set())
            if sample.name not in metric.sample_names():
                add(f"{metric.name}: sample {sample.name}")
            elif set(sample.labels) != wanted:
                add(f"{sample.name}: labels {sorted(sample.labels)}, catalog {sorted(wanted)}")
    return exported, list(problems)


def promtool_problems(body: str) -> str:
    """`promtool check metrics` findings (lint included); empty when clean."""
    promtool = program("promtool", "apt install prometheus")
    check = run_program(promtool, "check", "metrics", stdin=body, timeout=60)
    return "" if check.returncode == 0 else check.stdout + check.stderr
