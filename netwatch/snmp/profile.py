"""Device profiles: the YAML format (pydantic models), validation, and `extends` merging.

A profile maps OIDs to the metric names of `netwatch.base.catalog`; docs/profiles.md is the
reference for operators. This module only knows the shape; `decode` evaluates it and
`poller` decides what to ask the device for.

    profiles = load_directory(Path("netwatch/snmp/profiles"))   # {name: Profile}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from netwatch.base.catalog import METRICS, Metric
from netwatch.base.errors import NetwatchError
from netwatch.snmp.oid import Oid, parse_oid

OidField = Annotated[tuple[int, ...], BeforeValidator(parse_oid)]
IdentityField = Literal["vendor", "model", "os_version"]
Aggregate = Literal["first", "sum", "avg", "min", "max", "median", "count"]
PEER = "peer"  # the label of per-peer metrics (catalog): exported for backhaul devices only


class ProfileError(NetwatchError):
    """A profile file is invalid; the message names the file and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class Factor(_Strict):
    """Multiply by a number read from another column of the same row (a cached lookup):
    the column's value itself, `map[value]`, or 10 ** (pow10 x value)."""

    oid: OidField
    map: dict[int, float] | None = None
    pow10: float | None = None


class Source(_Strict):
    """Where a value comes from and how it becomes the metric's unit:
    value = (map(raw) + sum(add) - sum(subtract)) x scale x factors + offset, kept when
    within `valid`. `add`/`subtract` OIDs are polled too (for tables: columns, same index).
    Raw values listed in `missing` are the MIB's way of saying "no value" (MikroTik's SNR 0):
    nothing is exported for them."""

    oid: OidField
    object: str = Field("", description="MIB object name, shown in HELP and docs")
    scale: float = 1.0
    offset: float = 0.0
    map: dict[int, float] | None = None
    map_default: float | None = None
    missing: list[int] = []
    add: list[OidField] = []
    subtract: list[OidField] = []
    scale_by: list[Factor] = []
    valid: tuple[float, float] | None = None


class Filter(_Strict):
    """Keep a row only when the column's value is one of `in`, or none of `not_in` (ints,
    or text/OIDs)."""

    oid: OidField
    in_: list[int | str] | None = Field(None, alias="in", min_length=1)
    not_in: list[int | str] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_list(self) -> Filter:
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("a filter needs exactly one of in, not_in")
        return self

    def keeps(self, value: int | str) -> bool:
        if self.in_ is not None:
            return value in self.in_
        return value not in (self.not_in or ())


class LabelSource(_Strict):
    """One way to get a label value; a label lists several, the first non-empty one wins."""

    oid: OidField | None = None  # a column, read at the row's index (cached)
    index: bool = False  # the row index, dotted
    value: str | None = None  # a constant
    ref: str | None = None  # "table.label": another table's label for the same index
    # with ref: the other table's row is the (integer) value of this column at the row, not
    # the row's own index (MikroTik's neighbour table gives the local ifIndex in a column)
    through: OidField | None = None
    map: dict[int | str, str] | None = None  # raw value -> text (unmapped: the raw text)
    prefix: str = ""  # put before a non-empty value, e.g. "vap" + index
    # index, oid and ref: use these components of the row index, [start, end) (MikroTik's
    # registration table is indexed by MAC (6 parts) then ifIndex: ifIndex is part [6, 7])
    part: tuple[int, int] | None = None
    # mac: six bytes or six index parts as aa:bb:cc:dd:ee:ff (other values as text); text:
    # names as agents send them, cleaned (cut at a NUL, hex text decoded, no control chars)
    format: Literal["mac", "text"] | None = None
    # only for rows where a column passes (LLDP's port id is a MAC where its subtype is 3)
    when: Filter | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> LabelSource:
        given = [self.oid is not None, self.index, self.value is not None, self.ref is not None]
        if sum(given) != 1:
            raise ValueError("a label source needs exactly one of oid, index, value, ref")
        if self.ref is not None and self.ref.count(".") != 1:
            raise ValueError("ref must read TABLE.LABEL")
        if self.part is not None and not (self.index or self.ref is not None or self.oid):
            raise ValueError("part is for index, oid and ref sources")
        if self.through is not None and self.ref is None:
            raise ValueError("through is for ref sources")
        if self.part is not None and not 0 <= self.part[0] < self.part[1]:
            raise ValueError("part must read [START, END] with 0 <= START < END")
        return self


LabelSpecs = dict[str, Annotated[list[LabelSource], BeforeValidator(_as_list)]]


class MetricSpec(_Strict):
    """A metric fed by the first source the device has (64-bit before 32-bit counters)."""

    metric: str
    sources: list[Source] = Field(min_length=1)
    labels: LabelSpecs = {}
    when: Annotated[list[Filter], BeforeValidator(_as_list)] = []
    aggregate: Aggregate = "first"
    fallback: bool = False  # evaluated after every other entry: only fills gaps

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """`{metric, oid, scale, ...}` is short for `{metric, sources: [{oid, scale, ...}]}`."""
        if isinstance(data, dict) and "oid" in data:
            own = {"metric", "labels", "when", "aggregate", "fallback"}
            source = {k: v for k, v in data.items() if k not in own}
            data = {k: v for k, v in data.items() if k in own} | {"sources": [source]}
        return data


class InfoSpec(_Strict):
    """An _info series per row. Its label columns are cached like the table's, unless
    `polled` (values that change between refreshes, e.g. an LTE modem's cell id)."""

    metric: str
    labels: LabelSpecs = {}
    polled: bool = False


class TableSpec(_Strict):
    """Rows sharing an index. Label, filter and factor columns are read once and cached
    (refreshed on reboot, ifTableLastChange, new rows or hourly); metric columns each poll.

    `peer` names the remote radio of each row (tables of radio peers): metrics whose catalog
    entry takes the `peer` label get it, and are exported only for devices configured as
    backhaul, capped per device. `unique` lists labels that must tell rows apart: rows that
    share a value (an ifName listed twice) get `#INDEX` appended, so no row is merged away."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    object: str = ""
    labels: LabelSpecs = {}
    peer: Annotated[list[LabelSource], BeforeValidator(_as_list)] | None = None
    unique: list[str] = []
    info: InfoSpec | None = None
    metrics: list[MetricSpec] = []
    max_rows: int = Field(2000, ge=1, le=100_000)


class AddressSource(_Strict):
    """A neighbour's management address: a column's value at the row (`oid`: four or 16
    bytes, or the address as text, as RouterOS 7 puts it), or the rows of a column indexed
    below the row (`below`: LLDP-MIB's lldpRemManAddrTable, whose index ends in the address
    type, its length and its bytes)."""

    oid: OidField | None = None
    below: OidField | None = None

    @model_validator(mode="after")
    def _one(self) -> AddressSource:
        if (self.oid is None) == (self.below is None):
            raise ValueError("an address source needs exactly one of oid, below")
        return self


LabelList = Annotated[list[LabelSource], BeforeValidator(_as_list)]
NeighborProtocol = Literal["lldp", "cdp", "mndp"]
NEIGHBOR_FIELDS = ("ifname", "remote_name", "remote_port", "remote_port_description",
                   "remote_chassis", "remote_description")


class NeighborTableSpec(_Strict):
    """A table of the device's neighbours (LLDP, CDP, MikroTik's MNDP), read at the identity
    cadence (refreshes), never every poll. Each field is a label source list; a row is one
    neighbour. Its rows are those of the columns its remote fields read directly (`oid`
    sources without `through`). A child profile's table of the same name replaces only the
    fields it gives (mikrotik's `lldp` adds the local interface from its neighbour table)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    protocol: NeighborProtocol | None = None  # required, unless a parent's table gives it
    object: str = ""
    ifname: LabelList = []  # the local interface the neighbour was heard on
    remote_name: LabelList = []  # its system name
    remote_port: LabelList = []  # its port id (a name, a number, or a MAC)
    remote_port_description: LabelList = []  # used when the port id is a MAC or empty
    remote_chassis: LabelList = []  # its chassis id (usually a MAC)
    remote_description: LabelList = []  # its system description or platform
    remote_addresses: list[AddressSource] = []
    max_rows: int = Field(512, ge=1, le=10_000)

    def row_columns(self) -> list[Oid]:
        """The columns whose rows are the neighbours (read directly, not joined)."""
        sources = [s for name in NEIGHBOR_FIELDS[1:] for s in getattr(self, name)]
        found = [s.oid for s in sources if s.oid is not None and s.through is None]
        found += [a.oid for a in self.remote_addresses if a.oid is not None]
        return list(dict.fromkeys(found))


class NeighborsSpec(_Strict):
    """`own_macs`: columns holding this device's own MACs (ifPhysAddress; a scalar's parent
    OID walks the scalar), so that other devices' neighbour rows can name it by chassis id."""

    own_macs: list[OidField] = []
    tables: list[NeighborTableSpec] = []


class IdentitySource(_Strict):
    """`oid` (GET), `first` (GETNEXT: first row of a column) or a constant `value`;
    `regex` picks group 1 (or the whole match) out of the text."""

    oid: OidField | None = None
    first: OidField | None = None
    value: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _check(self) -> IdentitySource:
        if sum(x is not None for x in (self.oid, self.first, self.value)) != 1:
            raise ValueError("an identity source needs exactly one of oid, first, value")
        if self.regex is not None:
            re.compile(self.regex)
        return self


class DetectRule(_Strict):
    """All given conditions must hold: sysObjectID at or below `sys_object_id`, sysDescr
    matching the regex `sys_descr`, something below `subtree` (one GETNEXT)."""

    sys_object_id: OidField | None = None
    sys_descr: str | None = None
    subtree: OidField | None = None

    @model_validator(mode="after")
    def _check(self) -> DetectRule:
        if self.sys_object_id is None and self.sys_descr is None and self.subtree is None:
            raise ValueError("a detect rule needs sys_object_id, sys_descr or subtree")
        if self.sys_descr is not None:
            re.compile(self.sys_descr)
        return self


class ProfileSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    description: str
    extends: str | None = None
    priority: int = 0
    detect: list[DetectRule] = []
    identity: dict[IdentityField, Annotated[list[IdentitySource], BeforeValidator(_as_list)]] = {}
    scalars: list[MetricSpec] = []
    tables: list[TableSpec] = []
    neighbors: NeighborsSpec | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A profile with its parents merged in: own entries first (the first series wins)."""

    name: str
    description: str
    priority: int
    chain: tuple[str, ...]  # this profile, then its parents
    detect: tuple[DetectRule, ...]  # its own rules only: children do not match as parents
    identity: dict[str, tuple[IdentitySource, ...]]
    scalars: tuple[MetricSpec, ...]
    tables: tuple[TableSpec, ...]
    neighbors: tuple[NeighborTableSpec, ...] = ()
    own_macs: tuple[Oid, ...] = ()

    def table(self, name: str) -> TableSpec | None:
        return next((t for t in self.tables if t.name == name), None)

    def oids_of(self, metric: str) -> list[tuple[str, Oid]]:
        """(object name, OID) of every source feeding `metric`, for HELP texts."""
        found: list[tuple[str, Oid]] = []
        for spec in (*self.scalars, *(m for t in self.tables for m in t.metrics)):
            if spec.metric == metric:
                found.extend((s.object, s.oid) for s in spec.sources)
        return found


def per_peer(metric: MetricSpec) -> bool:
    """Whether the catalog gives the metric a `peer` label (backhaul devices only)."""
    entry = METRICS.get(metric.metric)
    return entry is not None and PEER in entry.labels


def _mappable(name: str, info: bool) -> Metric | None:
    """The catalog's entry for a metric profiles may map (`info`: the _info metric of a
    table, else a value), or None."""
    metric = METRICS.get(name)
    if metric is None or metric.origin != "profile" or (metric.type == "info") != info:
        return None
    return metric


def _check_labels(metric: Metric, labels: set[str], where: str) -> list[str]:
    """A profile gives the labels beyond the device labels netwatch adds itself."""
    wanted = set(metric.own_labels)
    if labels == wanted:
        return []
    return [f"{where}: {metric.name} takes labels {sorted(wanted)}, this gives {sorted(labels)}"]


def _check_metric(spec: MetricSpec, inherited: set[str], where: str, table: bool,
                  peer: bool = False) -> list[str]:
    metric = _mappable(spec.metric, info=False)
    if metric is None:
        return [(f"{where}: {spec.metric!r} is not a metric a profile can map "
                "(see netwatch/base/catalog.py)")]
    if PEER in metric.labels and not peer:
        return [f"{where}: {metric.name} is per peer: its table needs `peer`"]
    given = inherited | set(spec.labels) | ({PEER} if PEER in metric.labels else set())
    problems = _check_labels(metric, given, where)
    for source in spec.sources:
        if (source.scale_by or spec.when or spec.aggregate != "first") and not table:
            problems.append(f"{where}: scale_by, when and aggregate are for tables only")
    return problems


def _check_spec(spec: ProfileSpec) -> list[str]:
    problems: list[str] = []
    for i, scalar in enumerate(spec.scalars):
        where = f"scalars[{i}]"
        problems += _check_metric(scalar, set(), where, table=False)
        for name, sources in scalar.labels.items():
            if any(s.value is None for s in sources):
                problems.append(f"{where}.labels.{name}: scalars take constant (value) labels")
    names = [t.name for t in spec.tables]
    for table in spec.tables:
        if names.count(table.name) > 1:
            problems.append(f"tables: duplicate name {table.name!r}")
        problems += [f"{table.name}.unique: {name!r} is not a label of this table"
                     for name in table.unique if name not in table.labels]
        for i, metric in enumerate(table.metrics):
            problems += _check_metric(metric, set(table.labels), f"{table.name}.metrics[{i}]",
                                      table=True, peer=table.peer is not None)
        if table.info is not None:
            info = _mappable(table.info.metric, info=True)
            if info is None:
                problems.append(f"{table.name}.info: {table.info.metric!r} is not an _info "
                                "metric a profile can map")
            else:
                problems += _check_labels(info, set(table.labels) | set(table.info.labels),
                                          f"{table.name}.info")
    return problems


def _merge_neighbors(spec: NeighborsSpec | None, parent: Profile | None,
                     ) -> tuple[tuple[NeighborTableSpec, ...], tuple[Oid, ...]]:
    """Own tables first; one named like a parent's replaces the fields it gives."""
    inherited = {t.name: t for t in (parent.neighbors if parent else ())}
    own_macs = parent.own_macs if parent else ()
    if spec is None:
        return tuple(inherited.values()), own_macs
    tables = []
    for table in spec.tables:
        base = inherited.pop(table.name, None)
        if base is not None:
            given = {name: getattr(table, name) for name in table.model_fields_set}
            table = base.model_copy(update=given)
        tables.append(table)
    own = tuple(spec.own_macs) if "own_macs" in spec.model_fields_set else own_macs
    return (*tables, *inherited.values()), own


def _merge(spec: ProfileSpec, parent: Profile | None) -> Profile:
    neighbors, own_macs = _merge_neighbors(spec.neighbors, parent)
    if parent is None:
        return Profile(spec.name, spec.description, spec.priority, (spec.name,),
                       tuple(spec.detect), {k: tuple(v) for k, v in spec.identity.items()},
                       tuple(spec.scalars), tuple(spec.tables), neighbors, own_macs)
    # a field the child names replaces the parent's: linux's "kernel release from sysDescr"
    # must not become an airFiber's firmware version when the vendor's OID is missing
    identity = dict(parent.identity) | {str(k): tuple(v) for k, v in spec.identity.items()}
    own_tables = {t.name for t in spec.tables}
    tables = tuple(spec.tables) + tuple(t for t in parent.tables if t.name not in own_tables)
    return Profile(spec.name, spec.description, spec.priority, (spec.name, *parent.chain),
                   tuple(spec.detect), identity, tuple(spec.scalars) + parent.scalars, tables,
                   neighbors, own_macs)


def _check_refs(profile: Profile) -> list[str]:
    problems = []
    owners: list[tuple[str, list[list[LabelSource]]]] = []
    for table in profile.tables:
        specs = [*table.labels.values(), *(s for m in table.metrics for s in m.labels.values())]
        if table.info is not None:
            specs += list(table.info.labels.values())
        if table.peer is not None:
            specs.append(table.peer)
        owners.append((table.name, specs))
    for neighbors in profile.neighbors:
        owners.append((f"neighbors.{neighbors.name}",
                       [getattr(neighbors, name) for name in NEIGHBOR_FIELDS]))
        if not neighbors.row_columns():
            problems.append(f"neighbors.{neighbors.name}: no remote field reads a column")
        if neighbors.protocol is None:
            problems.append(f"neighbors.{neighbors.name}: protocol is missing")
    for owner, specs in owners:
        for ref in (s.ref for sources in specs for s in sources if s.ref):
            other, _, label = ref.partition(".")
            target = profile.table(other)
            if target is None or label not in target.labels:
                problems.append(f"{owner}: ref {ref!r} names no table label of this profile")
    names = [t.name for t in profile.neighbors]
    problems += [f"neighbors: duplicate table name {n!r}" for n in set(names)
                 if names.count(n) > 1]
    return problems


def parse_spec(text: str, origin: str) -> ProfileSpec:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{origin}: not valid YAML: {exc}") from None
    try:
        spec = ProfileSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{origin}: {'.'.join(map(str, e['loc'])) or 'profile'}: {e['msg']}"
                 for e in exc.errors()]
        raise ProfileError("\n".join(lines)) from None
    problems = _check_spec(spec)
    if problems:
        raise ProfileError("\n".join(f"{origin}: {p}" for p in problems))
    return spec


def build_profiles(specs: dict[str, tuple[ProfileSpec, str]]) -> dict[str, Profile]:
    """Resolve `extends` (parents first, cycles rejected); `specs` maps name -> (spec, origin)."""
    done: dict[str, Profile] = {}

    def resolve(name: str, seen: tuple[str, ...]) -> Profile:
        if name in done:
            return done[name]
        spec, origin = specs[name]
        parent = None
        if spec.extends is not None:
            if spec.extends not in specs:
                raise ProfileError(f"{origin}: extends unknown profile {spec.extends!r}")
            if spec.extends in seen:
                raise ProfileError(f"{origin}: extends cycle {' -> '.join((*seen, spec.extends))}")
            parent = resolve(spec.extends, (*seen, spec.extends))
        profile = _merge(spec, parent)
        problems = _check_refs(profile)
        if problems:
            raise ProfileError("\n".join(f"{origin}: {p}" for p in problems))
        done[name] = profile
        return profile

    for name in specs:
        resolve(name, (name,))
    return done


def load_directory(directory: Path, extra: Iterable[Path] = ()) -> dict[str, Profile]:
    """Every `*.yml` of the directory (and the extra files); the file stem is the name."""
    specs: dict[str, tuple[ProfileSpec, str]] = {}
    for path in [*sorted(directory.glob("*.yml")), *extra]:
        spec = parse_spec(path.read_text(encoding="utf-8"), str(path))
        if spec.name != path.stem:
            raise ProfileError(f"{path}: name {spec.name!r} differs from the file name")
        specs[spec.name] = (spec, str(path))
    return build_profiles(specs)
