"""One SNMP poll of one device: what to ask for, in which order, and what it means.

    state = DeviceState("auto")                      # kept per target between polls
    result = await poll_device(client, state, profiles, budget=40.0)

A steady-state poll is one GET (uptime, ifTableLastChange, the profile's scalars) and one
GETBULK per table (only the columns metrics use, max-repetitions = rows + 1). A refresh
(first poll, reboot, ifTableLastChange moved, new rows, hourly) also reads the system group,
detects the profile when it is `auto`, reads identity and the lookup columns (labels,
filters, factors), and forgets which OIDs the device lacked. A refresh that the poll itself
finds due (the uptime went back, ifTableLastChange moved) reads the system group in that
same poll, so detection and identity never run on a GET that lacked it. Whatever is read
before a failure is returned with the failure's reason.

Per-peer radio metrics are polled and decoded only when `state.peers` is set (a device
configured as backhaul); otherwise their columns are not even asked for.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from netwatch.base.errors import ProbeError, ProbeTimeout, SnmpProtocolError
from netwatch.base.exposition import label_text
from netwatch.snmp.client import SnmpClient, first_below, get_values, walk_columns
from netwatch.snmp.decode import (
    Decoder,
    Lookups,
    PeerLimit,
    Sample,
    TableData,
    filtered_rows,
    lookup_oids,
    polled_info_oids,
    polled_oids,
)
from netwatch.snmp.detect import detect
from netwatch.snmp.neighbors import MAX_NEIGHBORS, Topology, info_samples, neighbor_oids, observe
from netwatch.snmp.oid import MISSING, Oid, Value, VarBind, as_text, is_present
from netwatch.snmp.profile import MetricSpec, Profile, TableSpec, per_peer
from netwatch.snmp.result import SnmpResult
from netwatch.snmp.uptime import SNMP_ENGINE_TIME, SOURCES, SYS_UPTIME, BootClock, pick_uptime

SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
IF_TABLE_LAST_CHANGE: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 5, 0)
SYSTEM_GROUP = (SYS_DESCR, SYS_OBJECT_ID, SYS_NAME)
UPTIMES = [oid for oid, _ in SOURCES]
REFRESH_EVERY = 3600.0  # seconds: lookups (ifAlias edits do not move ifTableLastChange)
DEFAULT_ROWS = 16
INFO_LABELS = ("vendor", "model", "os_version", "sysname", "profile")


@dataclass
class DeviceState:
    """What the poller remembers about one device between polls."""

    profile_setting: str  # a profile name or "auto"
    profile: Profile | None = None
    decoder: Decoder | None = None
    info_labels: str = ""
    clock: BootClock = field(default_factory=BootClock)
    refreshed_at: float = -math.inf
    refresh_due: bool = True
    last_change: Value | None = None  # ifTableLastChange at the last refresh
    absent: set[Oid] = field(default_factory=set)  # scalars the device lacks
    empty_tables: set[str] = field(default_factory=set)
    choice: dict[tuple[str, int], int] = field(default_factory=dict)  # metric -> source used
    rows: dict[str, int] = field(default_factory=dict)
    peers: PeerLimit | None = None  # backhaul devices: which radio peers get series
    warned: set[str] = field(default_factory=set)  # what was logged once for this device
    # neighbours, read at refreshes (the identity cadence), and their series until the next
    topology: Topology | None = None
    neighbor_series: list[Sample] = field(default_factory=list)
    neighbor_limit: PeerLimit = field(default_factory=lambda: PeerLimit(MAX_NEIGHBORS))

    def limit_peers(self, cap: int) -> None:
        """Per-peer series for at most `cap` peers (0: none, the device is no backhaul)."""
        if cap <= 0:
            self.peers = None
        elif self.peers is None or self.peers.cap != cap:
            self.peers = PeerLimit(cap)

    def polls(self, metric: MetricSpec) -> bool:
        return self.peers is not None or not per_peer(metric)


class _Counting:
    """Counts requests and received values of one poll (for figures and results)."""

    def __init__(self, client: SnmpClient) -> None:
        self.client = client
        self.version = client.version
        self.requests = 0
        self.values = 0

    def _seen(self, reply: list[VarBind]) -> list[VarBind]:
        self.requests += 1
        self.values += len(reply)
        return reply

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]:
        return self._seen(await self.client.get(oids))

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]:
        return self._seen(await self.client.get_next(oids))

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[VarBind]:
        return self._seen(await self.client.get_bulk(oids, max_repetitions))


def _scalar_oids(profile: Profile) -> list[Oid]:
    return [oid for spec in profile.scalars for s in spec.sources for oid in polled_oids(s)]


def _first_get(state: DeviceState, refresh: bool) -> list[Oid]:
    uptime = [state.clock.source] if state.clock.source and not refresh else UPTIMES
    oids = [o for o in (*uptime, IF_TABLE_LAST_CHANGE) if o not in state.absent]
    if refresh:
        oids += SYSTEM_GROUP
    elif state.profile is not None:
        oids += [o for o in _scalar_oids(state.profile) if o not in state.absent]
    return list(dict.fromkeys(oids)) or [SYS_OBJECT_ID]  # always ask something


async def poll_device(client: SnmpClient, state: DeviceState, profiles: dict[str, Profile],
                      budget: float, now: Callable[[], float] = time.time) -> SnmpResult:
    """Poll once. Raises ProbeError when not even the first request was answered (nothing
    to export); a later failure comes back as a result carrying what was read."""
    counting = _Counting(client)
    loop = asyncio.get_running_loop()
    ends = loop.time() + budget
    refresh = state.refresh_due or state.profile is None or \
        now() - state.refreshed_at > REFRESH_EVERY
    try:
        async with asyncio.timeout_at(ends):
            scalars = await get_values(counting, _first_get(state, refresh))
    except TimeoutError:
        raise ProbeTimeout(f"no complete reply within the poll deadline ({budget:.1f}s)") from None
    system = (*SYSTEM_GROUP, SYS_UPTIME)
    if refresh and not any(is_present(scalars.get(o, MISSING)) for o in system):
        raise SnmpProtocolError("the agent answered without the SNMPv2-MIB system group "
                                "(a view or context that hides it?)")
    failure: ProbeError | None = None
    tables: dict[str, TableData] = {}
    truncated: set[str] = set()  # tables cut at their row cap in this poll
    try:
        async with asyncio.timeout_at(ends):
            if _track_uptime(state, scalars, now()):
                state.refresh_due = True  # stays due if this refresh fails
                if not refresh:  # found due only now: this GET lacked the system group
                    scalars.update(await get_values(counting, SYSTEM_GROUP))
                refresh = True
            if refresh:
                await _refresh(counting, state, profiles, scalars, now())
            assert state.profile is not None
            missing = [o for o in _scalar_oids(state.profile)
                       if o not in scalars and o not in state.absent]
            if missing:
                scalars.update(await get_values(counting, missing))
            state.absent.update(oid for oid, value in scalars.items() if value is MISSING)
            for table in state.profile.tables:
                await _poll_table(counting, state, table, tables, truncated)
    except TimeoutError:
        failure = ProbeTimeout(f"poll deadline ({budget:.1f}s) reached part way")
    except ProbeError as exc:
        failure = exc
    if state.profile is None or state.decoder is None:
        raise failure or SnmpProtocolError("no profile")
    samples = state.decoder.decode(scalars, tables, state.peers) + _computed(state)
    return SnmpResult(tuple(samples), state.profile.name, counting.values, counting.requests,
                      failure.reason if failure else None, str(failure or ""),
                      rejected=_rejected(state.decoder.rejected, scalars),
                      truncated=tuple(sorted(truncated)), topology=state.topology)


def _rejected(decoded: Counter[str], scalars: dict[Oid, Value]) -> tuple[tuple[str, int], ...]:
    """Wrong-typed values of this poll per family: the profile's, and uptimes (TimeTicks and
    friends) that came as text or OIDs."""
    counts = Counter(decoded)
    wrong = sum(1 for oid in UPTIMES if isinstance(scalars.get(oid), (bytes, tuple)))
    if wrong:
        counts["netwatch_device_uptime_seconds"] += wrong
    return tuple(sorted(counts.items()))


def _track_uptime(state: DeviceState, scalars: dict[Oid, Value], at: float) -> bool:
    """Feed the boot clock; True when the lookups must be read again."""
    rebooted = False
    picked = pick_uptime(scalars)
    if picked is not None:
        engine = scalars.get(SNMP_ENGINE_TIME)
        rebooted = state.clock.update(*picked, at, float(engine) if isinstance(
            engine, int) and picked[0] != SNMP_ENGINE_TIME else None)
    elif state.clock.source is not None:
        state.clock = BootClock()  # the uptime we followed is gone: look for others again
        rebooted = True
    change = scalars.get(IF_TABLE_LAST_CHANGE)
    moved = is_present(change) if change is not None else False
    moved = moved and state.last_change is not None and change != state.last_change
    return rebooted or moved


def _computed(state: DeviceState) -> list[Sample]:
    out: list[Sample] = [("netwatch_device_info", state.info_labels, 1)]
    if state.clock.boot_time is not None and state.clock.uptime is not None:
        out.append(("netwatch_device_boot_time_seconds", "", state.clock.boot_time))
        out.append(("netwatch_device_uptime_seconds", "", state.clock.uptime))
    if state.peers is not None and state.profile is not None and any(
            per_peer(m) for t in state.profile.tables for m in t.metrics):
        out.append(("netwatch_radio_peers_over_limit", "", state.peers.over))
    if state.topology is not None and state.topology.neighbors:
        out += state.neighbor_series
        out.append(("netwatch_neighbors_over_limit", "", state.neighbor_limit.over))
    return out


async def _refresh(client: SnmpClient, state: DeviceState, profiles: dict[str, Profile],
                   scalars: dict[Oid, Value], at: float) -> None:
    sys_object_id = scalars.get(SYS_OBJECT_ID)
    sys_descr = as_text(scalars.get(SYS_DESCR, MISSING), 1024)
    if state.profile_setting == "auto":
        profile = await detect(client, profiles, sys_object_id if isinstance(
            sys_object_id, tuple) else None, sys_descr)
    else:
        profile = profiles[state.profile_setting]
    identity = await _identity(client, profile, scalars)
    identity["sysname"] = as_text(scalars.get(SYS_NAME, MISSING), 128)
    identity["profile"] = profile.name
    lookups = Lookups()
    columns = list(dict.fromkeys([*(oid for t in profile.tables for oid in lookup_oids(t)),
                                  *neighbor_oids(profile)]))
    if columns:
        hint = max(state.rows.values(), default=DEFAULT_ROWS)
        max_rows = max(t.max_rows for t in profile.tables)
        await walk_columns(client, columns, hint, lookups.columns, max_rows)
    if profile is not state.profile:
        state.choice.clear()
        state.rows.clear()
    state.profile = profile
    state.decoder = Decoder(profile, lookups)
    state.info_labels = label_text(INFO_LABELS, (identity.get(k, "") for k in INFO_LABELS))
    state.topology = observe(profile, state.decoder, identity["sysname"]) \
        if profile.neighbors else None
    state.neighbor_series = info_samples(state.topology, state.neighbor_limit) \
        if state.topology else []
    state.absent.clear()
    state.empty_tables.clear()
    state.refreshed_at = at
    state.refresh_due = False
    state.last_change = scalars.get(IF_TABLE_LAST_CHANGE)


async def _identity(client: SnmpClient, profile: Profile,
                    scalars: dict[Oid, Value]) -> dict[str, str]:
    sources = [s for field_sources in profile.identity.values() for s in field_sources]
    wanted = [s.oid for s in sources if s.oid is not None and s.oid not in scalars]
    values = dict(scalars)
    if wanted:
        values.update(await get_values(client, list(dict.fromkeys(wanted))))
    roots = list(dict.fromkeys(s.first for s in sources if s.first is not None))
    firsts = await first_below(client, roots) if roots else {}
    out: dict[str, str] = {}
    for name, field_sources in profile.identity.items():
        for source in field_sources:
            if source.value is not None:
                text = source.value
            elif source.oid is not None:
                text = as_text(values.get(source.oid, MISSING), 1024)
            else:
                assert source.first is not None
                hit = firsts.get(source.first)
                text = as_text(hit[1], 1024) if hit else ""
            if text and source.regex is not None:
                match = re.search(source.regex, text)
                text = (match.group(1) if match.groups() else match.group(0)) if match else ""
            if text.strip():
                out[name] = text.strip()[:128]
                break
    return out


async def _poll_table(client: SnmpClient, state: DeviceState, table: TableSpec,
                      tables: dict[str, TableData], truncated: set[str]) -> None:
    if table.name in state.empty_tables:
        return
    assert state.decoder is not None
    data = tables.setdefault(table.name, {})
    walk: list[Oid] = []
    gets: list[tuple[Oid, Oid]] = []  # (column, index)
    for position, metric in enumerate(table.metrics):
        if not state.polls(metric):
            continue
        source = metric.sources[state.choice.get((table.name, position), 0)]
        rows = filtered_rows(metric, state.decoder.lookups)
        if rows is None:
            walk += polled_oids(source)
        else:
            gets += [(column, index) for column in polled_oids(source) for index in rows]
    walk += polled_info_oids(table) if walk or gets else []
    hint = state.rows.get(table.name, DEFAULT_ROWS)
    cut: set[Oid] = set()
    if walk:
        await walk_columns(client, list(dict.fromkeys(walk)), hint, data, table.max_rows, cut)
    if gets:
        await _get_rows(client, gets, data)
    if not any(data.values()):
        if walk:
            state.empty_tables.add(table.name)  # until the next refresh
        return
    state.rows[table.name] = max(len(rows) for rows in data.values())
    if walk and _new_rows(state, table, data):
        state.refresh_due = True  # labels for the new rows come with the next poll
    await _fall_back(client, state, table, data, cut)
    if cut:
        truncated.add(table.name)


def _new_rows(state: DeviceState, table: TableSpec, data: TableData) -> bool:
    assert state.decoder is not None
    columns = state.decoder.lookups.columns
    known: set[Oid] = set()
    for oid in lookup_oids(table):
        known.update(columns.get(oid, ()))
    return bool(known) and any(index not in known for rows in data.values() for index in rows)


async def _get_rows(client: SnmpClient, gets: list[tuple[Oid, Oid]], data: TableData) -> None:
    values = await get_values(client, [column + index for column, index in gets])
    for column, index in gets:
        value = values.get(column + index, MISSING)
        rows = data.setdefault(column, {})
        if is_present(value):
            rows[index] = value


async def _fall_back(client: SnmpClient, state: DeviceState, table: TableSpec,
                     data: TableData, cut: set[Oid]) -> None:
    """A metric's chosen column came back empty while the table has rows: the device lacks
    it (no ifHC* columns, say): use the next source from now on, and read it right away."""
    for position, metric in enumerate(table.metrics):
        key = (table.name, position)
        chosen = state.choice.get(key, 0)
        if data.get(metric.sources[chosen].oid) or chosen + 1 >= len(metric.sources) or \
                not state.polls(metric):
            continue
        state.choice[key] = chosen + 1
        source = metric.sources[chosen + 1]
        assert state.decoder is not None
        rows = filtered_rows(metric, state.decoder.lookups)
        if rows is None:
            await walk_columns(client, polled_oids(source), state.rows[table.name], data,
                               table.max_rows, cut)
        else:
            await _get_rows(client, [(c, i) for c in polled_oids(source) for i in rows], data)
