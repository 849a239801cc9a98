"""Prometheus text exposition (format 0.0.4) built from pre-rendered fragments.

Each owner (a target, a site) renders its own lines when its state changes, on the loop,
where the work is small and spread over time. A scrape only joins the fragments family by
family, which is cheap enough to run in a worker thread even for 600k series: no per-sample
formatting happens at scrape time. Label prefixes are static between reloads, so owners cache
them (`label_text`) and format only values. Families come from the catalog
(netwatch/base/catalog.py): the store writes their HELP and TYPE, nobody else does.

    store = MetricStore()
    UP = store.family("netwatch_up")   # the catalog's entry: type, HELP, labels
    store.set(UP, owner, sample(UP.name, labels, 1))
    body = store.render()          # bytes; safe to call from a worker thread
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field

from netwatch.base.catalog import METRICS, Metric

# a fragment is its text, or (in a lazy family) a function returning it at scrape time
Fragment = str | Callable[[], str]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CHUNK_BYTES = 256 << 10  # a streamed scrape's pieces
BATCH = 512  # fragments joined per call


def escape_label(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def label_text(names: Iterable[str], values: Iterable[str]) -> str:
    """`a="1",b="2"`: the inside of the braces, values escaped."""
    return ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True))


_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_ESCAPED = re.compile(r"\\(.)")


def parse_labels(text: str) -> dict[str, str]:
    """label_text() read back: {name: value}, escapes undone."""
    return {name: _ESCAPED.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)
            for name, value in _LABEL.findall(text)}


def fmt(value: float) -> str:
    """A sample value as Prometheus writes it, and the one place any module turns a value into
    text: the shortest text that reads back as the value rounded to 15 significant digits, so
    arithmetic noise never shows (1 - 0.8 is 0.2, not 0.19999999999999996; 214 x 0.1 is
    21.4). 15 digits is what a double always holds exactly; integers stay exact."""
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    rounded = float(f"{value:.15g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    return repr(rounded)


def sample(name: str, labels: str, value: float) -> str:
    """One sample line; `labels` is label_text() output (may be empty)."""
    return f"{name}{{{labels}}} {fmt(value)}\n" if labels else f"{name} {fmt(value)}\n"


@dataclass(eq=False)
class Family:
    """A metric family. Eager families hold each owner's text; lazy ones hold a function per
    owner that renders at scrape time (in the scrape's worker thread): for bulky series that
    change on every poll (histograms), which would otherwise cost their text in memory."""

    metric: Metric
    help: str
    lazy: bool = False
    fragments: dict[Hashable, Fragment] = field(default_factory=dict)
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.metric.name  # read on every render: a plain attribute

    @property
    def header(self) -> str:
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        return (f"# HELP {self.name} {help_text}\n"
                f"# TYPE {self.name} {self.metric.exposition_type}\n")


class MetricStore:
    """Families in declaration order; each holds one text fragment per owner."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}

    def family(self, name: str, *, lazy: bool = False, sources: Iterable[str] = ()) -> Family:
        """Declare the catalog's family `name` (idempotent: the same name returns the same
        family). `sources` go into the HELP (SNMP: the objects a profile reads)."""
        metric = METRICS.get(name)
        if metric is None:
            raise ValueError(f"metric {name} is not in netwatch/base/catalog.py")
        help_text = metric.help_from(sources)
        existing = self._families.get(name)
        if existing is not None:
            if existing.lazy != lazy or existing.help != help_text:
                raise ValueError(f"metric {name} declared twice, differently")
            return existing
        created = Family(metric, help_text, lazy)
        self._families[name] = created
        return created

    def get(self, name: str) -> Family | None:
        return self._families.get(name)

    def set(self, family: Family, owner: Hashable, fragment: Fragment) -> None:
        if fragment:
            family.fragments[owner] = fragment
        else:
            family.fragments.pop(owner, None)

    def drop_owner(self, owner: Hashable) -> None:
        """Remove every series of an owner (a removed target's series leave with it)."""
        for family in self._families.values():
            family.fragments.pop(owner, None)

    def series_count(self) -> int:
        return self.render().count(b"\n") - 2 * sum(1 for f in self._families.values()
                                                    if f.fragments)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The exposition in pieces of about `size` bytes, for a worker thread to stream.

        Fragment dicts are copied in one C call each (atomic under the GIL), so the loop may
        keep updating while a worker renders; lazy fragments read counters that single loop
        steps update, so each is self-consistent. No call joins or encodes more than a batch
        of fragments at once: one long C call would hold the GIL, and the event loop with it
        (a 200 MB exposition joined in one piece stalled the loop for 0.75 s)."""
        pending: list[str] = []
        pending_bytes = 0
        for family in list(self._families.values()):
            values = list(family.fragments.values())
            if not values:
                continue
            pending.append(family.header)
            for start in range(0, len(values), BATCH):
                batch = values[start:start + BATCH]
                if family.lazy:
                    batch = [render() for render in batch]  # type: ignore[operator]
                text = "".join(batch)  # type: ignore[arg-type]
                pending.append(text)
                pending_bytes += len(text)
                if pending_bytes >= size:
                    yield "".join(pending).encode()
                    pending.clear()
                    pending_bytes = 0
        if pending:
            yield "".join(pending).encode()

    def render(self, extra: bytes = b"") -> bytes:
        """The whole exposition at once (tests, small stores)."""
        return b"".join(self.chunks()) + extra
