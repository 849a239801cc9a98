"""The narrow interface the poller talks to, and the request patterns built on it.

    class SnmpClient(Protocol): version; get(oids); get_next(oids); get_bulk(oids, reps)

Implementations: `community.CommunitySession` (v1/v2c), `v3.PysnmpSession` (SNMPv3 on
pysnmp) and `recorded.RecordedClient` (a recording served from memory, for pure tests).
All raise ProbeTimeout, SnmpAuthError or SnmpProtocolError (PduError for a PDU error status).

    await get_values(client, oids)                  {oid: value}; v1 noSuchName handled
    await walk_columns(client, columns, rows, out)  several columns at once (GETBULK)
    await first_below(client, roots)                {root: first (oid, value) below it}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from netwatch.base.errors import SnmpProtocolError
from netwatch.snmp.oid import END_OF_MIB, MISSING, Oid, Value, VarBind, in_subtree

MAX_GET_OIDS = 48  # varbinds per GET: keeps replies well under one 1500-byte frame or so
MAX_BULK_VALUES = 128  # columns x repetitions per GETBULK (11 IF-MIB columns x 11 rows)
MAX_WALK_REQUESTS = 200  # per walk_columns call: a lying agent cannot keep us forever
NO_SUCH_NAME = 2  # SNMPv1 error status
TOO_BIG = 1


class PduError(SnmpProtocolError):
    """The agent answered with an error status (genErr, noSuchName in v1, ...)."""

    def __init__(self, status: int, index: int, detail: str = "") -> None:
        super().__init__(detail or f"error status {status} at varbind {index}")
        self.status = status
        self.index = index  # 1-based, 0 when the agent named none


class SnmpClient(Protocol):
    version: str  # "1", "2c" or "3"

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]: ...

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]: ...

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[VarBind]: ...


async def get_values(client: SnmpClient, oids: Sequence[Oid]) -> dict[Oid, Value]:
    """GET in chunks. In v1 a missing OID fails the whole PDU (noSuchName): drop it, record
    it as MISSING and ask again."""
    out: dict[Oid, Value] = {}
    pending = list(dict.fromkeys(oids))
    while pending:
        chunk, pending = pending[:MAX_GET_OIDS], pending[MAX_GET_OIDS:]
        for _ in range(len(chunk) + 1):
            try:
                for oid, value in await client.get(chunk):
                    out[oid] = value
                break
            except PduError as exc:
                if exc.status != NO_SUCH_NAME or not 1 <= exc.index <= len(chunk):
                    raise
                out[chunk.pop(exc.index - 1)] = MISSING
                if not chunk:
                    break
    return out


async def walk_columns(client: SnmpClient, columns: Sequence[Oid], rows_hint: int,
                       out: dict[Oid, dict[Oid, Value]], max_rows: int = 2000,
                       truncated: set[Oid] | None = None) -> None:
    """Read whole columns (index -> value) into `out`, several columns per request.

    GETBULK with max-repetitions sized to the expected rows (+1, so one reply usually ends
    every column); v1 uses GETNEXT. A reply may be cut short (agents cap their replies):
    unfinished columns continue from their last OID, asking only for the rows still
    expected and no more values than the agent just sent (snmpsim and many devices send at
    most 63: asking a 16-row, 4-column table for 17 rows again would fetch 50 values of the
    next columns, more than the table itself). Results land in `out` as they come, so a
    walk failing half way still leaves what it got. A column stopped at `max_rows` is
    added to `truncated`.
    """
    last: dict[Oid, Oid] = {}
    for column in columns:
        out.setdefault(column, {})
        last[column] = column
    before = {column: len(out[column]) for column in columns}
    budget = MAX_BULK_VALUES
    for _ in range(MAX_WALK_REQUESTS):
        if not last:
            return
        active = list(last)
        try:
            if client.version == "1":
                reply = await client.get_next([last[c] for c in active])
            else:
                got = min(len(out[c]) - before[c] for c in active)
                wanted = rows_hint + 1 - got if got <= rows_hint else budget
                reps = max(1, min(wanted, budget // len(active)))
                reply = await client.get_bulk([last[c] for c in active], reps)
                if len(reply) < len(active) * reps:  # the agent caps its replies
                    budget = max(len(active), len(reply))
        except PduError as exc:
            v1_past_end = exc.status == NO_SUCH_NAME and client.version == "1"
            if v1_past_end and 1 <= exc.index <= len(active):
                del last[active[exc.index - 1]]  # v1 says "past the end" this way
                continue
            if exc.status == TOO_BIG and budget > len(active):
                budget = max(len(active), budget // 2)
                continue
            raise
        if not reply:
            raise SnmpProtocolError("empty reply to a walk request")
        _take(reply, active, last, out, max_rows, truncated)
    if last:
        raise SnmpProtocolError(f"walk did not end after {MAX_WALK_REQUESTS} requests")


def _take(reply: list[VarBind], active: list[Oid], last: dict[Oid, Oid],
          out: dict[Oid, dict[Oid, Value]], max_rows: int, truncated: set[Oid] | None) -> None:
    """Distribute a row-major reply over its columns; end columns that left their subtree."""
    width = len(active)
    ended: set[Oid] = set()
    for position, (oid, value) in enumerate(reply):
        column = active[position % width]
        if column in ended:
            continue
        if value is END_OF_MIB or not in_subtree(oid, column):
            ended.add(column)
            continue
        if oid <= last[column]:
            raise SnmpProtocolError("agent returned OIDs out of order (not increasing)")
        rows = out[column]
        rows[oid[len(column):]] = value
        last[column] = oid
        if len(rows) >= max_rows:
            ended.add(column)
            if truncated is not None:
                truncated.add(column)
    for column in ended:
        last.pop(column, None)


async def first_below(client: SnmpClient, roots: Sequence[Oid]) -> dict[Oid, VarBind | None]:
    """One GETNEXT: the first object below each root, or None when there is none."""
    if not roots:
        return {}
    reply = await client.get_next(list(roots))
    out: dict[Oid, VarBind | None] = {}
    for root, (oid, value) in zip(roots, reply, strict=False):
        inside = value is not END_OF_MIB and value is not MISSING and in_subtree(oid, root)
        out[root] = (oid, value) if inside else None
    return out
