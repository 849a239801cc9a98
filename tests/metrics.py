"""Reading exposition text in tests: every sample keyed by its name and its label set.

    got = parse(store.render())                       # text or bytes
    got[key("netwatch_up", DEVICE, probe="icmp")]      # exactly these labels
    pick(got, "netwatch_up", site="s1")                # the first series with these labels
    labelled(got, "netwatch_icmp_rtt_seconds_bucket")  # [(labels, value), ...]
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, frozenset[tuple[str, str]]]
Samples = dict[Key, float]


def parse(text: str | bytes) -> Samples:
    body = text.decode() if isinstance(text, bytes) else text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def key(name: str, labels: Mapping[str, str] | None = None, **more: str) -> Key:
    """The key of the series `name` with exactly `labels` and `more`."""
    return name, frozenset({**(labels or {}), **more}.items())


def pick(got: Samples, name: str, **labels: str) -> float | None:
    """The value of the first series of `name` carrying `labels` (and maybe others)."""
    want = set(labels.items())
    return next((v for (n, ls), v in got.items() if n == name and want <= ls), None)


def labelled(got: Samples, name: str) -> list[tuple[dict[str, str], float]]:
    """Every series of `name` as (labels, value)."""
    return [(dict(ls), v) for (n, ls), v in got.items() if n == name]
