"""What one SNMP poll yields, and the per-target series rendered from it.

A poll that failed part way (a walk timing out after the first requests) still carries the
samples it got: `ok` is False and `reason` says why, so `netwatch_up` is 0 and the error is
counted, while the values read are exported. A poll that got nothing is a `Failed` (or a
raised ProbeError); the target's SNMP series then disappear until the device answers again.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.base.catalog import METRICS, Metric
from netwatch.base.errors import Reason
from netwatch.base.exposition import Family, Fragment, MetricStore, fmt, label_text
from netwatch.scheduler.prober import Result
from netwatch.snmp.decode import Sample
from netwatch.snmp.neighbors import Topology
from netwatch.snmp.oid import format_oid
from netwatch.snmp.profile import Profile


@dataclass(frozen=True, slots=True)
class SnmpResult:
    samples: tuple[Sample, ...]
    profile: str
    values: int = 0  # varbinds received in this poll
    requests: int = 0
    failure: Reason | None = None  # set when the poll failed part way
    detail: str = ""
    rejected: tuple[tuple[str, int], ...] = ()  # (metric family, wrong-typed values)
    truncated: tuple[str, ...] = ()  # tables cut at their row cap
    topology: Topology | None = None  # neighbours as of the last refresh (profiles with them)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def reason(self) -> Reason | None:
        return self.failure


def sources(metric: Metric, profiles: dict[str, Profile]) -> list[str]:
    """The objects and OIDs that feed a profile-mapped metric, across profiles, for its HELP
    (the poller's own metrics name theirs in the catalog)."""
    seen: dict[str, None] = {}
    if metric.origin == "profile":
        for profile in profiles.values():
            for name, oid in profile.oids_of(metric.name):
                seen[f"{name} ({format_oid(oid)})" if name else format_oid(oid)] = None
    return list(seen)


class SnmpFamilies:
    """The SNMP families of the catalog (origins "snmp" and "profile"), declared once per
    store; HELP names the OIDs the loaded profiles read."""

    def __init__(self, store: MetricStore, profiles: dict[str, Profile]) -> None:
        self.by_name: dict[str, Family] = {
            m.name: store.family(m.name, sources=sources(m, profiles))
            for m in METRICS.values() if m.origin in ("snmp", "profile")
        }


REJECTED = "netwatch_snmp_rejected_values_total"
TRUNCATED = "netwatch_snmp_truncated_tables_total"


class SnmpSeries:
    """The last poll's samples of one target, rendered as lines; label prefixes cached; and
    the target's counts of rejected values and truncated tables, kept across polls."""

    __slots__ = ("_families", "_labels", "_prefixes", "rejected", "samples", "truncated")

    def __init__(self, families: SnmpFamilies, labels: str) -> None:
        self._families = families
        self._labels = labels
        self._prefixes: dict[tuple[str, str], str] = {}
        self.samples: tuple[Sample, ...] = ()
        self.rejected: dict[str, int] = {}  # metric family -> values refused, ever
        self.truncated: dict[str, int] = {}  # table -> polls cut at the row cap, ever

    def apply(self, result: Result) -> None:
        if not isinstance(result, SnmpResult):
            self.samples = ()
            return
        self.samples = result.samples
        for family, count in result.rejected:
            self.rejected[family] = self.rejected.get(family, 0) + count
        for table in result.truncated:
            self.truncated[table] = self.truncated.get(table, 0) + 1

    def _prefix(self, name: str, extra: str) -> str:
        key = (name, extra)
        prefix = self._prefixes.get(key)
        if prefix is None:
            if len(self._prefixes) > 4096:  # interfaces come and go: keep the cache bounded
                self._prefixes.clear()
            labels = f"{self._labels},{extra}" if extra else self._labels
            prefix = self._prefixes[key] = f"{name}{{{labels}}} "
        return prefix

    def render(self, full: bool = True) -> list[tuple[Family, Fragment]]:
        parts: dict[str, list[str]] = {}
        for name, extra, value in self.samples:
            parts.setdefault(name, []).append(f"{self._prefix(name, extra)}{fmt(value)}\n")
        # family and table names come from the catalog and the profiles: bounded, plain text
        for name, label, counts in ((REJECTED, "family", self.rejected),
                                    (TRUNCATED, "table", self.truncated)):
            parts[name] = [f"{self._prefix(name, label_text((label,), (key,)))}{n}\n"
                           for key, n in counts.items()]
        return [(family, "".join(parts.get(name, ())))
                for name, family in self._families.by_name.items()]
