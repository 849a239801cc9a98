"""Why a site is not up: the evidence kinds, and the first cause whose evidence holds.

Pure (table-tested): the engine gathers a site's facts (its state, its links' loss and RTT,
the upstream's loss, the last SNMP readings of its devices, their baselines, its power feed)
and `explain(facts, rules)` returns one Cause: a name from the thresholds file's `causes`
(tried in the file's order; `unknown` when none holds) and the findings it rests on. Which
evidence names which cause is data (the thresholds file); what each kind of evidence reads is
here, one function per kind, and in docs/causes.md.

Readings count when they are fresh: taken at most FRESH seconds before the trouble began, or
since (a router's readings stop when it goes down; the last ones before say what happened).
`power_fell` has its own `before`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netwatch.base.catalog import METRICS
from netwatch.config.thresholds import (
    UNKNOWN_CAUSE,
    BelowValue,
    CauseRule,
    FeedDark,
    FellBy,
    FellTo,
    PowerFell,
    Rebooted,
    RttOrLossRose,
    UplinkBusy,
    UpstreamLoss,
    UsedAbove,
)
from netwatch.config.types import format_duration
from netwatch.sites.readings import DeviceReadings

FRESH = 600.0  # seconds before the trouble began that a reading still speaks for it

Normal = Callable[[str, str, str], float | None]  # (device, metric, labels) -> baseline


@dataclass(frozen=True, slots=True)
class LinkView:
    """A root device's link as the verdict judged it (its last rounds)."""

    device: str
    loss: float | None
    rtt_p90: float | None
    rtt_normal: float | None = None  # its RTT baseline


@dataclass(frozen=True, slots=True)
class SiteFacts:
    state: str
    now: float
    trouble_since: float  # when the site left `up` (the loss began)
    links: tuple[LinkView, ...] = ()
    upstream: str | None = None  # the upstream it hangs off
    upstream_down: bool = False
    upstream_links: tuple[LinkView, ...] = ()
    readings: Mapping[str, DeviceReadings] = field(default_factory=dict)
    normal: Normal = lambda device, metric, labels: None
    feed: str | None = None  # its power feed
    feed_down: tuple[tuple[str, float], ...] = ()  # other sites of the feed down: (id, since)


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence that holds: its kind, a sentence, the facts as data."""

    kind: str
    text: str
    facts: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, **self.facts}


@dataclass(frozen=True, slots=True)
class Cause:
    name: str
    findings: tuple[Finding, ...] = ()

    @property
    def text(self) -> str:
        return "; ".join(f.text for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "evidence": [f.as_json() for f in self.findings]}


UNKNOWN = Cause(UNKNOWN_CAUSE)


# --- showing values -----------------------------------------------------------------------

def _show(metric: str, value: float) -> str:
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit == "dbm":
        return f"{value:g} dBm"
    if unit == "db":
        return f"{value:g} dB"
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "volts":
        return f"{value:.1f} V"
    if unit in ("bytes_per_second", "bytes") and metric.endswith("_per_second"):
        return f"{value * 8 / 1e6:.1f} Mbit/s"
    if unit == "bytes":
        return f"{value / 1e6:.1f} MB"
    if unit == "seconds":
        return format_duration(round(value, 4))
    return f"{value:g}"


def _what(metric: str, labels: str) -> str:
    """`signal (ifname="wlan1")` as `wlan1 signal`: the reading, short."""
    name = metric.removeprefix("netwatch_")
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit and name.endswith("_" + unit):
        name = name[: -len(unit) - 1]
    parts = [value.split('"')[1] for value in labels.split(",") if '"' in value]
    return " ".join([*parts, name.replace("_", " ")])


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%SZ")


# --- the evidence kinds -------------------------------------------------------------------

def _fresh(facts: SiteFacts, before: float = FRESH) -> Iterator[tuple[str, DeviceReadings]]:
    for device, readings in facts.readings.items():
        if readings.at >= facts.trouble_since - before:
            yield device, readings


def _against_normal(facts: SiteFacts, metrics: list[str], fell: Callable[[float, float], bool],
                    kind: str, before: float = FRESH) -> list[Finding]:
    """Readings of `metrics` for which fell(value, baseline) holds."""
    wanted = set(metrics)
    found = []
    for device, readings in _fresh(facts, before):
        for (metric, labels), value in readings.values.items():
            if metric not in wanted:
                continue
            normal = facts.normal(device, metric, labels)
            if normal is None or not fell(value, normal):
                continue
            found.append(Finding(kind, f"{device} {_what(metric, labels)} {_show(metric, value)}"
                                 f", its normal {_show(metric, normal)} ({_clock(readings.at)})",
                                 {"device": device, "metric": metric, "labels": labels,
                                  "value": value, "baseline": normal, "at": readings.at}))
    return found


def maintenance(facts: SiteFacts, _: object) -> list[Finding]:
    if facts.state != "maintenance":
        return []
    return [Finding("maintenance", "inside a maintenance window", {})]


def upstream_down(facts: SiteFacts, _: object) -> list[Finding]:
    if not facts.upstream_down:
        return []
    return [Finding("upstream_down", f"upstream {facts.upstream} down",
                    {"upstream": facts.upstream})]


def power_fell(facts: SiteFacts, p: PowerFell) -> list[Finding]:
    return _against_normal(facts, p.metrics, lambda v, n: n > 0 and v < p.ratio * n,
                           "power_fell", p.before)


def feed_dark(facts: SiteFacts, p: FeedDark) -> list[Finding]:
    if facts.feed is None or facts.state not in ("down", "unreachable"):
        return []
    together = [site for site, since in facts.feed_down
                if abs(since - facts.trouble_since) <= p.within]
    if len(together) + 1 < p.min_sites:
        return []
    return [Finding("feed_dark", f"power feed {facts.feed}: {len(together) + 1} sites down "
                    f"within {format_duration(p.within)}",
                    {"feed": facts.feed, "sites": sorted(together)})]


def rebooted(facts: SiteFacts, p: Rebooted) -> list[Finding]:
    return [Finding("rebooted", f"{device} booted at {_clock(r.boot_time)}",
                    {"device": device, "boot_time": r.boot_time})
            for device, r in facts.readings.items()
            if r.boot_time is not None and 0 <= facts.now - r.boot_time <= p.within]


def upstream_loss(facts: SiteFacts, p: UpstreamLoss) -> list[Finding]:
    own = max((v.loss for v in facts.links if v.loss is not None), default=None)
    theirs = max((v.loss for v in facts.upstream_links if v.loss is not None), default=None)
    if not own or not theirs or theirs < p.share * own:
        return []
    return [Finding("upstream_loss", f"upstream {facts.upstream} loss {theirs:.0%}, the site's "
                    f"{own:.0%}", {"upstream": facts.upstream, "loss": theirs,
                                   "site_loss": own})]


def uplink_busy(facts: SiteFacts, p: UplinkBusy) -> list[Finding]:
    return [Finding("uplink_busy", f"{device} uplink at {r.uplink_use:.0%} of "
                    f"{_show('netwatch_radio_tx_rate_bytes_per_second', r.uplink_capacity or 0)}",
                    {"device": device, "use": r.uplink_use, "rate": r.uplink_rate,
                     "capacity": r.uplink_capacity})
            for device, r in _fresh(facts)
            if r.uplink_use is not None and r.uplink_use > p.above]


def rtt_or_loss_rose(facts: SiteFacts, p: RttOrLossRose) -> list[Finding]:
    found = []
    for link in facts.links:
        if link.loss is not None and link.loss > p.loss_above:
            found.append(Finding("rtt_or_loss_rose", f"{link.device} loss {link.loss:.0%}",
                                 {"device": link.device, "loss": link.loss}))
        elif link.rtt_p90 is not None and link.rtt_normal is not None \
                and link.rtt_p90 > p.rtt_ratio * link.rtt_normal \
                and link.rtt_p90 - link.rtt_normal >= p.rtt_min_increase:
            found.append(Finding(
                "rtt_or_loss_rose", f"{link.device} rtt p90 {_show(RTT, link.rtt_p90)}, its "
                f"normal {_show(RTT, link.rtt_normal)}",
                {"device": link.device, "rtt_p90": link.rtt_p90, "baseline": link.rtt_normal}))
    return found


def signal_fell(facts: SiteFacts, p: FellBy) -> list[Finding]:
    return _against_normal(facts, p.metrics, lambda v, n: v <= n - p.by, "signal_fell")


def quality_fell(facts: SiteFacts, p: FellTo) -> list[Finding]:
    return _against_normal(facts, p.metrics, lambda v, n: n > 0 and v < p.ratio * n,
                           "quality_fell")


def signal_below(facts: SiteFacts, p: BelowValue) -> list[Finding]:
    wanted = set(p.metrics)
    return [Finding("signal_below", f"{device} {_what(m, labels)} {_show(m, value)} "
                    f"(below {_show(m, p.value)})",
                    {"device": device, "metric": m, "labels": labels, "value": value})
            for device, r in _fresh(facts) for (m, labels), value in r.values.items()
            if m in wanted and value < p.value]


def _used(facts: SiteFacts, used: str, total: str, above: float, kind: str
          ) -> list[Finding]:
    found = []
    for device, r in _fresh(facts):
        for (metric, labels), value in r.values.items():
            size = r.values.get((total, labels)) if metric == used else None
            if size and value / size > above:
                found.append(Finding(kind, f"{device} {_what(metric, labels)} "
                                     f"{value / size:.0%} of {_show(total, size)}",
                                     {"device": device, "labels": labels, "used": value,
                                      "total": size}))
    return found


def storage_used(facts: SiteFacts, p: UsedAbove) -> list[Finding]:
    return _used(facts, "netwatch_device_storage_used_bytes",
                 "netwatch_device_storage_total_bytes", p.above, "storage_used")


def memory_used(facts: SiteFacts, p: UsedAbove) -> list[Finding]:
    return _used(facts, "netwatch_device_memory_used_bytes",
                 "netwatch_device_memory_total_bytes", p.above, "memory_used")


def cpu_busy(facts: SiteFacts, p: UsedAbove) -> list[Finding]:
    return [Finding("cpu_busy", f"{device} cpu {value:.0%}", {"device": device, "cpu": value})
            for device, r in _fresh(facts)
            for (metric, _), value in r.values.items()
            if metric == "netwatch_device_cpu_utilization_ratio" and value > p.above]


RTT = "netwatch_icmp_rtt_seconds"
Check = Callable[[SiteFacts, Any], list[Finding]]
KINDS: dict[str, Check] = {f.__name__: f for f in (
    maintenance, upstream_down, power_fell, feed_dark, rebooted, upstream_loss, uplink_busy,
    rtt_or_loss_rose, signal_fell, quality_fell, signal_below, storage_used, memory_used,
    cpu_busy)}


def explain(facts: SiteFacts, rules: Mapping[str, CauseRule]) -> Cause:
    """The first cause (in the rules' order) whose evidence holds; UNKNOWN when none does."""
    for name, rule in rules.items():
        findings: list[Finding] = []
        for kind, parameters in rule.evidence.kinds():
            found = KINDS[kind](facts, parameters)
            if not found and rule.needs == "all":
                findings = []
                break
            findings += found
        if findings:
            return Cause(name, tuple(findings))
    return UNKNOWN


def baselined(rules: Mapping[str, CauseRule]) -> set[str]:
    """The metrics a rule compares with their baseline: the series the daemon keeps."""
    found: set[str] = set()
    for rule in rules.values():
        for _, parameters in rule.evidence.kinds():
            if isinstance(parameters, (PowerFell, FellBy, FellTo)):
                found.update(parameters.metrics)
    return found


def read(rules: Mapping[str, CauseRule]) -> set[str]:
    """Every metric a rule reads (baselined or not): what the readings keep."""
    found = baselined(rules)
    for rule in rules.values():
        for _, parameters in rule.evidence.kinds():
            if isinstance(parameters, BelowValue):
                found.update(parameters.metrics)
    return found
