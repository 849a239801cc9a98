"""From polled values to samples, as a profile says: pure, no I/O (table-tested offline).

    decoder = Decoder(profile, lookups)          # per device; rebuilt when lookups refresh
    samples = decoder.decode(scalars, tables)    # [(metric, label text, value), ...]

`scalars` maps instance OIDs to values; `tables` maps a table name to its polled columns
(column OID -> {index: value}); `lookups` holds the cached label/filter/factor columns.
Order of evaluation: scalars, then tables (each with the profile's own entries before its
parents'), then entries marked `fallback`; the first entry to produce a series keeps it.

Per-peer metrics (radio peers of a backhaul link) are decoded only when a `PeerLimit` is
given, and only for the peers it admits: the first `cap` peers seen stay admitted while
they are present (a new peer does not push an old one out), the rest are counted.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from netwatch.base.exposition import label_text
from netwatch.snmp.oid import Oid, Value, as_text, clean_text, format_oid
from netwatch.snmp.profile import (
    PEER,
    Filter,
    LabelSource,
    MetricSpec,
    Profile,
    Source,
    TableSpec,
    per_peer,
)

Column = dict[Oid, Value]  # index -> value
TableData = dict[Oid, Column]  # column OID -> rows
Sample = tuple[str, str, float]  # metric name, label text (escaped, no braces), value
LabelSpecs = dict[str, list[LabelSource]]
MAX_CACHED_ROWS = 50_000


@dataclass(slots=True)
class Lookups:
    """Columns read once per refresh (labels, filters, factors), by column OID."""

    columns: dict[Oid, Column] = field(default_factory=dict)

    def value(self, column: Oid, index: Oid) -> Value | None:
        rows = self.columns.get(column)
        return None if rows is None else rows.get(index)


@dataclass(slots=True)
class PeerLimit:
    """Which radio peers of one device get per-peer series (kept between polls)."""

    cap: int
    admitted: dict[str, None] = field(default_factory=dict)  # in order of admission
    over: int = 0  # peers present in the last poll but not admitted

    def update(self, present: Iterable[str]) -> None:
        """Peers gone free their place; new ones take free places in the order seen."""
        current = dict.fromkeys(present)
        kept = {peer: None for peer in self.admitted if peer in current}
        for peer in current:
            if len(kept) >= self.cap:
                break
            kept.setdefault(peer, None)
        self.admitted = kept
        self.over = len(current) - len(kept)


def source_oids(source: LabelSource) -> list[Oid]:
    """The columns a label source reads itself (not those of a table it refers to)."""
    return [oid for oid in (source.oid, source.through, source.when.oid if source.when else None)
            if oid is not None]


def _label_oids(specs: Iterable[LabelSpecs | None]) -> list[Oid]:
    return [oid for labels in specs if labels for sources in labels.values()
            for s in sources for oid in source_oids(s)]


def lookup_oids(table: TableSpec) -> list[Oid]:
    """Every column a table reads once per refresh rather than every poll."""
    specs: list[LabelSpecs | None] = [table.labels, *(m.labels for m in table.metrics)]
    if table.info is not None and not table.info.polled:
        specs.append(table.info.labels)
    if table.peer is not None:
        specs.append({PEER: table.peer})
    found = _label_oids(specs)
    for metric in table.metrics:
        found += [f.oid for f in metric.when]
        found += [f.oid for s in metric.sources for f in s.scale_by]
    return list(dict.fromkeys(found))


def polled_info_oids(table: TableSpec) -> list[Oid]:
    """Label columns of an _info read every poll (InfoSpec.polled)."""
    if table.info is None or not table.info.polled:
        return []
    return list(dict.fromkeys(_label_oids([table.info.labels])))


def polled_oids(source: Source) -> list[Oid]:
    """Columns (or scalars) a source reads every poll."""
    return [source.oid, *source.add, *source.subtract]


def _wrong_type(raw: Value) -> bool:
    """A value that is there but is no number (text, an OID) where a number belongs."""
    return isinstance(raw, (bytes, tuple))


def _passes(filters: list[Filter], lookups: Lookups, index: Oid) -> bool:
    for f in filters:
        value = lookups.value(f.oid, index)
        if value is None:
            return False
        if not f.keeps(value if isinstance(value, int) else as_text(value)):
            return False
    return True


def filtered_rows(metric: MetricSpec, lookups: Lookups) -> list[Oid] | None:
    """Rows of a metric with a `when` filter (None: no filter, every polled row counts)."""
    if not metric.when:
        return None
    first = lookups.columns.get(metric.when[0].oid, {})
    return [index for index in first if _passes(metric.when, lookups, index)]


def _factor(source: Source, lookups: Lookups, index: Oid) -> float | None:
    factor = 1.0
    for spec in source.scale_by:
        raw = lookups.value(spec.oid, index)
        if not isinstance(raw, int):
            return None
        if spec.map is not None:
            mapped = spec.map.get(raw)
            if mapped is None:
                return None
            factor *= mapped
        elif spec.pow10 is not None:
            factor *= 10.0 ** (spec.pow10 * raw)
        else:
            factor *= raw
    return factor


def _number(source: Source, raw: Value, extra: Iterable[Value | None]) -> float | None:
    """Apply map, add/subtract; the caller scales. None when something is missing."""
    if not isinstance(raw, int) or raw in source.missing:
        return None
    value: float = raw
    if source.map is not None:
        mapped = source.map.get(raw, source.map_default)
        if mapped is None:
            return None
        value = mapped
    terms = [t for t in extra if isinstance(t, int)]
    expected = len(source.add) + len(source.subtract)
    if len(terms) != expected:
        return None  # an add/subtract OID is missing
    n_add = len(source.add)
    return value + sum(terms[:n_add]) - sum(terms[n_add:])


def _finish(source: Source, value: float, factor: float) -> float | None:
    if not (isinstance(value, int) and source.scale == 1 and factor == 1 and not source.offset):
        # the exposition's fmt() writes 0.06, not 0.060000000000000005
        value = value * source.scale * factor + source.offset
    # else counters stay exact integers (a Counter64 exceeds a float's 2^53)
    if source.valid is not None and not source.valid[0] <= value <= source.valid[1]:
        return None
    return value


def _aggregate(kind: str, values: list[float]) -> float:
    if kind == "sum":
        return sum(values)
    if kind == "avg":
        return sum(values) / len(values)
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    if kind == "median":
        return statistics.median(values)
    if kind == "count":
        return float(len(values))
    return values[0]


def _mac(parts: Iterable[int]) -> str:
    return ":".join(f"{b:02x}" for b in parts)


class Decoder:
    """Evaluates one device's profile; memoises per-row labels and factors until the
    lookups change (a new Decoder is built then)."""

    def __init__(self, profile: Profile, lookups: Lookups) -> None:
        self.profile = profile
        self.lookups = lookups
        self._rows: dict[tuple[int, Oid], tuple[str, float] | None] = {}
        self._label_cache: dict[tuple[str, str, Oid], str] = {}
        self._polled: TableData = {}  # the table being decoded (labels of polled _info)
        self._peers: dict[tuple[str, Oid], str] = {}
        self._known: dict[str, set[Oid] | None] = {}
        self._per_peer = {id(m) for t in profile.tables for m in t.metrics if per_peer(m)}
        # values of the last decode() that had the wrong type, per metric family
        self.rejected: Counter[str] = Counter()
        self._shared: dict[str, dict[str, set[str]]] = {}
        self._shared = {t.name: self._shared_values(t) for t in profile.tables if t.unique}
        self._label_cache.clear()  # labels read while `_shared` was being built

    # --- labels -----------------------------------------------------------------------
    def label(self, sources: list[LabelSource], index: Oid, depth: int = 0) -> str:
        for source in sources:
            text = self._label_source(source, index, depth)
            if text:
                return source.prefix + text
        return ""

    def _label_source(self, source: LabelSource, index: Oid, depth: int) -> str:
        if source.value is not None:
            return source.value
        if source.when is not None and not _passes([source.when], self.lookups, index):
            return ""
        if source.part is not None:
            index = index[source.part[0]:source.part[1]]
            if len(index) != source.part[1] - source.part[0]:
                return ""
        if source.index:
            return _mac(index) if source.format == "mac" and len(index) == 6 else \
                format_oid(index)
        if source.ref is not None:
            if source.through is not None:  # the row named by a column's value
                joined = self.lookups.value(source.through, index)
                if not isinstance(joined, int):
                    return ""
                index = (joined,)
            other, _, label = source.ref.partition(".")
            table = self.profile.table(other)
            if table is None or depth > 3 or not self._has_row(table, index):
                return ""
            return self.table_label(table, label, index, depth + 1)
        assert source.oid is not None
        raw = self._polled.get(source.oid, {}).get(index)
        if raw is None:
            raw = self.lookups.value(source.oid, index)
        if raw is None:
            return ""
        if source.format == "mac" and isinstance(raw, bytes) and len(raw) == 6:
            return _mac(raw)
        if source.format is not None:  # text, or a mac that is none
            return clean_text(raw)
        if source.map is not None:
            key = raw if isinstance(raw, int) else as_text(raw)
            mapped = source.map.get(key)
            if mapped is not None:
                return mapped
        return as_text(raw)

    def _has_row(self, table: TableSpec, index: Oid) -> bool:
        """Whether a referenced table has the row, so that a ref to a missing row falls
        through to the label's next source (a table without lookup columns: assume so)."""
        if table.name not in self._known:
            oids = lookup_oids(table)
            self._known[table.name] = {index for oid in oids
                                       for index in self.lookups.columns.get(oid, {})
                                       } if oids else None
        rows = self._known[table.name]
        return rows is None or index in rows

    def _shared_values(self, table: TableSpec) -> dict[str, set[str]]:
        """Per `unique` label, the values more than one known row has."""
        indexes: dict[Oid, None] = {}
        for oid in lookup_oids(table):
            indexes.update(dict.fromkeys(self.lookups.columns.get(oid, {})))
        shared: dict[str, set[str]] = {}
        for name in table.unique:
            seen: set[str] = set()
            twice: set[str] = set()
            for index in indexes:
                text = self.label(table.labels[name], index)
                (twice if text in seen else seen).add(text)
            shared[name] = twice
        return shared

    def table_label(self, table: TableSpec, name: str, index: Oid, depth: int = 0) -> str:
        key = (table.name, name, index)
        text = self._label_cache.get(key)
        if text is None:
            text = self.label(table.labels[name], index, depth)
            if text and text in self._shared.get(table.name, {}).get(name, ()):
                text = f"{text}#{format_oid(index)}"  # the row's own index tells it apart
            self._label_cache[key] = text
        return text

    def _row_labels(self, table: TableSpec | None, extra: LabelSpecs, index: Oid,
                    peer: bool = False) -> str:
        names: dict[str, str] = {}
        if table is not None:
            for name in table.labels:
                names[name] = self.table_label(table, name, index)
            if peer and table.peer is not None:
                names[PEER] = self.label(table.peer, index)
        for name, sources in extra.items():
            names[name] = self.label(sources, index) if table else (sources[0].value or "")
        ordered = sorted(names)
        return label_text(ordered, (names[n] for n in ordered))

    def peer_of(self, table: TableSpec, index: Oid) -> str:
        """A row's peer as the cap counts it: the table's labels and the peer label."""
        key = (table.name, index)
        text = self._peers.get(key)
        if text is None:
            text = self._peers[key] = self._row_labels(table, {}, index, peer=True)
        return text

    def _row(self, table: TableSpec, metric: MetricSpec, source: Source,
             index: Oid) -> tuple[str, float] | None:
        """(label text, factor) of a row, or None when the row is filtered out."""
        key = (id(source), index)
        if key in self._rows:
            return self._rows[key]
        if len(self._rows) > MAX_CACHED_ROWS:  # clients come and go between refreshes
            self._rows.clear()
            self._peers.clear()
        info: tuple[str, float] | None = None
        if _passes(metric.when, self.lookups, index):
            factor = _factor(source, self.lookups, index)
            if factor is not None:
                info = (self._row_labels(table, metric.labels, index,
                                         id(metric) in self._per_peer), factor)
        self._rows[key] = info
        return info

    # --- evaluation -------------------------------------------------------------------
    def _entries(self, peers: bool) -> Iterator[tuple[TableSpec | None, MetricSpec]]:
        for fallback in (False, True):
            for spec in self.profile.scalars:
                if spec.fallback is fallback:
                    yield None, spec
            for table in self.profile.tables:
                for spec in table.metrics:
                    if spec.fallback is fallback and (peers or id(spec) not in self._per_peer):
                        yield table, spec

    def _scalar(self, spec: MetricSpec, scalars: dict[Oid, Value]) -> list[tuple[str, float]]:
        for source in spec.sources:
            raw = scalars.get(source.oid)
            if raw is None:
                continue
            if _wrong_type(raw):
                self.rejected[spec.metric] += 1
                continue
            number = _number(source, raw, (scalars.get(o) for o in (*source.add,
                                                                       *source.subtract)))
            if number is None:
                continue
            value = _finish(source, number, 1.0)
            if value is not None:
                return [(self._row_labels(None, spec.labels, ()), value)]
        return []

    def _table(self, table: TableSpec, spec: MetricSpec, data: TableData,
               admitted: set[Oid] | None) -> list[tuple[str, float]]:
        """(labels, value) per series of one table metric; `admitted`: the rows a per-peer
        metric may use. The hot path of a poll: plain columns skip the general arithmetic."""
        first = spec.aggregate == "first"
        single = len(spec.sources) == 1
        firsts: dict[str, float] = {}
        groups: dict[str, list[float]] = {}
        done: set[Oid] = set()  # rows an earlier source already gave (several sources only)
        for source in spec.sources:
            column = data.get(source.oid)
            if not column:
                continue
            extras = [data.get(o, {}) for o in (*source.add, *source.subtract)]
            plain = not extras and source.map is None
            for index, raw in column.items():
                if (not single and index in done) or (
                        admitted is not None and index not in admitted):
                    continue
                row = self._row(table, spec, source, index)
                if row is None:
                    continue
                number: float | None
                if plain:
                    number = raw if isinstance(raw, int) and raw not in source.missing else None
                else:
                    number = _number(source, raw, [c.get(index) for c in extras])
                if number is None:
                    if _wrong_type(raw):  # off the hot path: only values already refused
                        self.rejected[spec.metric] += 1
                    continue
                value = _finish(source, number, row[1])
                if value is None:
                    continue
                if not single:
                    done.add(index)
                if first:
                    firsts.setdefault(row[0], value)
                else:
                    groups.setdefault(row[0], []).append(value)
        if first:
            return list(firsts.items())
        return [(labels, _aggregate(spec.aggregate, values)) for labels, values in groups.items()]

    def _present_peers(self, tables: dict[str, TableData]) -> list[str]:
        found: dict[str, None] = {}
        for table in self.profile.tables:
            if table.peer is None or not any(per_peer(m) for m in table.metrics):
                continue
            for column in tables.get(table.name, {}).values():
                found.update(dict.fromkeys(self.peer_of(table, index) for index in column))
        return list(found)

    def decode(self, scalars: dict[Oid, Value], tables: dict[str, TableData],
               peers: PeerLimit | None = None) -> list[Sample]:
        """Samples of one poll; per-peer metrics only with `peers` (a backhaul device)."""
        self.rejected = Counter()
        if peers is not None:
            peers.update(self._present_peers(tables))
        seen: set[tuple[str, str]] = set()
        out: list[Sample] = []
        allowed: dict[str, set[Oid]] = {}  # per table: the rows of admitted peers
        for table, spec in self._entries(peers is not None):
            if table is None:
                rows = self._scalar(spec, scalars)
            else:
                data = tables.get(table.name)
                admitted = None
                if peers is not None and id(spec) in self._per_peer and data:
                    admitted = allowed.get(table.name)
                    if admitted is None:
                        admitted = allowed[table.name] = {
                            index for column in data.values() for index in column
                            if self.peer_of(table, index) in peers.admitted}
                rows = self._table(table, spec, data, admitted) if data else []
            for labels, value in rows:
                key = (spec.metric, labels)
                if key not in seen:
                    seen.add(key)
                    out.append((spec.metric, labels, value))
        out.extend(self._infos(tables))
        return out

    def _info_labels(self, table: TableSpec, own: LabelSpecs, index: Oid) -> str:
        """The row's labels, or "" when every label of the _info itself is empty (an SSID
        the device does not report is no SSID "")."""
        if own and not any(self.label(sources, index) for sources in own.values()):
            return ""
        return self._row_labels(table, own, index)

    def _infos(self, tables: dict[str, TableData]) -> list[Sample]:
        out: list[Sample] = []
        for table in self.profile.tables:
            if table.info is None:
                continue
            data = tables.get(table.name, {})
            indexes: dict[Oid, None] = {}
            for oid in lookup_oids(table):
                indexes.update(dict.fromkeys(self.lookups.columns.get(oid, {})))
            for column in data.values():
                indexes.update(dict.fromkeys(column))
            polled = table.info.polled
            self._polled = data if polled else {}
            for index in indexes:
                key = (table.name, "", index)
                labels = None if polled else self._label_cache.get(key)
                if labels is None:
                    labels = self._info_labels(table, table.info.labels, index)
                    if not polled:
                        self._label_cache[key] = labels
                if labels:
                    out.append((table.info.metric, labels, 1.0))
            self._polled = {}
        return out
