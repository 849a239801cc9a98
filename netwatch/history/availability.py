"""Availability from the history, by the definition of the SLA recording rules
(docs/recording-rules.md): available time (up, degraded) over counted time (up, degraded,
down, unreachable). Time in maintenance, time before a site's first verdict and time while
the daemon was not running count in neither: Prometheus has no samples of them.

Pure functions over plain values: the journal reads them from the store or from memory.

    totals = site_seconds(start, end, states_at_start, changes, runs)
    ratio(*totals["18.71.01.1003"])                      # None when nothing was counted
    by_kecamatan(totals, kecamatan_of)                   # site-time weighted, as the rules
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

AVAILABLE = frozenset({"up", "degraded"})
COUNTED = frozenset({"up", "degraded", "down", "unreachable"})

Totals = tuple[float, float]  # (available seconds, counted seconds)


def _overlap(a: float, b: float, runs: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, end) - max(a, start)) for start, end in runs)


def site_seconds(start: float, end: float, states_at_start: Mapping[str, str],
                 changes: Iterable[tuple[float, str, str]],
                 runs: Iterable[tuple[float, float]]) -> dict[str, Totals]:
    """Available and counted seconds per site within [start, end). `changes` are
    (at, site, new state), oldest first; `runs` the daemon's (started, last seen)."""
    spans = sorted((max(a, start), min(b, end)) for a, b in runs if b > start and a < end)
    current = dict(states_at_start)
    since = dict.fromkeys(current, start)
    totals: dict[str, list[float]] = {}

    def close(site: str, until: float) -> None:
        state = current.get(site)
        if state in COUNTED:
            seconds = _overlap(since[site], until, spans)
            entry = totals.setdefault(site, [0.0, 0.0])
            entry[1] += seconds
            if state in AVAILABLE:
                entry[0] += seconds

    for at, site, new in changes:
        if at < start or at >= end:
            continue
        if site in current:
            close(site, at)
        current[site], since[site] = new, at
    for site in current:
        close(site, end)
    return {site: (a, c) for site, (a, c) in totals.items()}


def ratio(available: float, counted: float) -> float | None:
    return available / counted if counted > 0 else None


def by_kecamatan(totals: Mapping[str, Totals], kecamatan_of: Mapping[str, str]
                 ) -> dict[str, Totals]:
    """Site-seconds summed per kecamatan (sites not in `kecamatan_of` are left out)."""
    out: dict[str, list[float]] = {}
    for site, (available, counted) in totals.items():
        kecamatan = kecamatan_of.get(site)
        if kecamatan is None:
            continue
        entry = out.setdefault(kecamatan, [0.0, 0.0])
        entry[0] += available
        entry[1] += counted
    return {k: (a, c) for k, (a, c) in out.items()}
