"""From polled values to samples, as a profile says: pure, no I/O (table-tested offline).

    decoder = Decoder(profile, lookups)          # per device; rebuilt when lookups refresh
    samples = decoder.decode(scalars, tables)    # [(metric, label text, value), ...]

`scalars` maps instance OIDs to values; `tables` maps a table name to its polled columns
(column OID -> {index: value}); `lookups` holds the cached label/filter/factor columns.
Order of evaluation: scalars, then tables (each with the profile's own entries before its
parents'), then entries marked `fallback`; the first entry to produce a series keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from netwatch.base.exposition import label_text
from netwatch.snmp.oid import Oid, Value, as_text, format_oid
from netwatch.snmp.profile import Filter, LabelSource, MetricSpec, Profile, Source, TableSpec

Column = dict[Oid, Value]  # index -> value
TableData = dict[Oid, Column]  # column OID -> rows
Sample = tuple[str, str, float]  # metric name, label text (escaped, no braces), value
LabelSpecs = dict[str, list[LabelSource]]


@dataclass(slots=True)
class Lookups:
    """Columns read once per refresh (labels, filters, factors), by column OID."""

    columns: dict[Oid, Column] = field(default_factory=dict)

    def value(self, column: Oid, index: Oid) -> Value | None:
        rows = self.columns.get(column)
        return None if rows is None else rows.get(index)


def lookup_oids(table: TableSpec) -> list[Oid]:
    """Every column a table reads once per refresh rather than every poll."""
    found: list[Oid] = []
    specs: list[LabelSpecs] = [table.labels, *(m.labels for m in table.metrics)]
    if table.info is not None:
        specs.append(table.info.labels)
    for labels in specs:
        found += [s.oid for sources in labels.values() for s in sources if s.oid is not None]
    for metric in table.metrics:
        found += [f.oid for f in metric.when]
        found += [f.oid for s in metric.sources for f in s.scale_by]
    return list(dict.fromkeys(found))


def polled_oids(source: Source) -> list[Oid]:
    """Columns (or scalars) a source reads every poll."""
    return [source.oid, *source.add, *source.subtract]


def _passes(filters: list[Filter], lookups: Lookups, index: Oid) -> bool:
    for f in filters:
        value = lookups.value(f.oid, index)
        if value is None:
            return False
        wanted = value if isinstance(value, int) else as_text(value)
        if wanted not in f.in_:
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
    if not isinstance(raw, int):
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
    if kind == "count":
        return float(len(values))
    return values[0]


class Decoder:
    """Evaluates one device's profile; memoises per-row labels and factors until the
    lookups change (a new Decoder is built then)."""

    def __init__(self, profile: Profile, lookups: Lookups) -> None:
        self.profile = profile
        self.lookups = lookups
        self._rows: dict[tuple[int, Oid], tuple[str, float] | None] = {}
        self._label_cache: dict[tuple[str, str, Oid], str] = {}

    # --- labels -----------------------------------------------------------------------
    def label(self, table: TableSpec, name: str, sources: list[LabelSource], index: Oid,
              depth: int = 0) -> str:
        for source in sources:
            text = self._label_source(source, index, depth)
            if text:
                return source.prefix + text
        return ""

    def _label_source(self, source: LabelSource, index: Oid, depth: int) -> str:
        if source.value is not None:
            return source.value
        if source.index:
            return format_oid(index)
        if source.ref is not None:
            other, _, label = source.ref.partition(".")
            table = self.profile.table(other)
            if table is None or depth > 3:
                return ""
            return self.table_label(table, label, index, depth + 1)
        assert source.oid is not None
        raw = self.lookups.value(source.oid, index)
        if raw is None:
            return ""
        if source.map is not None:
            key = raw if isinstance(raw, int) else as_text(raw)
            mapped = source.map.get(key)
            if mapped is not None:
                return mapped
        return as_text(raw)

    def table_label(self, table: TableSpec, name: str, index: Oid, depth: int = 0) -> str:
        key = (table.name, name, index)
        text = self._label_cache.get(key)
        if text is None:
            text = self.label(table, name, table.labels[name], index, depth)
            self._label_cache[key] = text
        return text

    def _row_labels(self, table: TableSpec | None, extra: LabelSpecs, index: Oid) -> str:
        names: dict[str, str] = {}
        if table is not None:
            for name in table.labels:
                names[name] = self.table_label(table, name, index)
        for name, sources in extra.items():
            names[name] = self.label(table, name, sources, index) if table else (
                sources[0].value or "")
        ordered = sorted(names)
        return label_text(ordered, (names[n] for n in ordered))

    def _row(self, table: TableSpec, metric: MetricSpec, source: Source,
             index: Oid) -> tuple[str, float] | None:
        """(label text, factor) of a row, or None when the row is filtered out."""
        key = (id(source), index)
        if key in self._rows:
            return self._rows[key]
        info: tuple[str, float] | None = None
        if _passes(metric.when, self.lookups, index):
            factor = _factor(source, self.lookups, index)
            if factor is not None:
                info = (self._row_labels(table, metric.labels, index), factor)
        self._rows[key] = info
        return info

    # --- evaluation -------------------------------------------------------------------
    def _entries(self) -> Iterator[tuple[TableSpec | None, MetricSpec]]:
        for fallback in (False, True):
            for spec in self.profile.scalars:
                if spec.fallback is fallback:
                    yield None, spec
            for table in self.profile.tables:
                for spec in table.metrics:
                    if spec.fallback is fallback:
                        yield table, spec

    def _scalar(self, spec: MetricSpec, scalars: dict[Oid, Value]) -> list[tuple[str, float]]:
        for source in spec.sources:
            raw = scalars.get(source.oid)
            if raw is None:
                continue
            number = _number(source, raw, (scalars.get(o) for o in (*source.add,
                                                                       *source.subtract)))
            if number is None:
                continue
            value = _finish(source, number, 1.0)
            if value is not None:
                return [(self._row_labels(None, spec.labels, ()), value)]
        return []

    def _table(self, table: TableSpec, spec: MetricSpec,
               data: TableData) -> list[tuple[str, float]]:
        groups: dict[str, list[float]] = {}
        done: set[Oid] = set()
        for source in spec.sources:
            column = data.get(source.oid)
            if not column:
                continue
            extras = [data.get(o, {}) for o in (*source.add, *source.subtract)]
            for index, raw in column.items():
                if index in done:
                    continue
                row = self._row(table, spec, source, index)
                if row is None:
                    continue
                number = _number(source, raw, (c.get(index) for c in extras))
                if number is None:
                    continue
                value = _finish(source, number, row[1])
                if value is not None:
                    done.add(index)
                    groups.setdefault(row[0], []).append(value)
        return [(labels, _aggregate(spec.aggregate, values)) for labels, values in groups.items()]

    def decode(self, scalars: dict[Oid, Value], tables: dict[str, TableData]) -> list[Sample]:
        seen: set[tuple[str, str]] = set()
        out: list[Sample] = []
        for table, spec in self._entries():
            if table is None:
                rows = self._scalar(spec, scalars)
            else:
                data = tables.get(table.name)
                rows = self._table(table, spec, data) if data else []
            for labels, value in rows:
                key = (spec.metric, labels)
                if key not in seen:
                    seen.add(key)
                    out.append((spec.metric, labels, value))
        out.extend(self._infos(tables))
        return out

    def _infos(self, tables: dict[str, TableData]) -> list[Sample]:
        out: list[Sample] = []
        for table in self.profile.tables:
            if table.info is None:
                continue
            indexes: dict[Oid, None] = {}
            for oid in lookup_oids(table):
                indexes.update(dict.fromkeys(self.lookups.columns.get(oid, {})))
            for column in tables.get(table.name, {}).values():
                indexes.update(dict.fromkeys(column))
            for index in indexes:
                key = (table.name, "", index)
                labels = self._label_cache.get(key)
                if labels is None:
                    labels = self._row_labels(table, table.info.labels, index)
                    self._label_cache[key] = labels
                out.append((table.info.metric, labels, 1.0))
        return out
