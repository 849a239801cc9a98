"""A recording served from memory through the SnmpClient interface (for pure tests).

GET, GETNEXT and GETBULK behave as an SNMPv2c agent's would: noSuchObject for a missing
OID, endOfMibView past the end, GETBULK replies row-major and capped like snmpsim's. With
version="1" a missing OID (or the end of the MIB) fails the PDU with noSuchName instead.

    client = RecordedClient.from_file("netwatch/lab/recordings/routeros.snmprec")
    client.values[oid] = 42            # change the "device" between polls
    client.fail_after = 3              # the 4th request and later time out
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path

from netwatch.base.errors import ProbeTimeout
from netwatch.snmp.client import NO_SUCH_NAME, PduError
from netwatch.snmp.oid import END_OF_MIB, MISSING, Oid, Value, VarBind
from netwatch.snmp.snmprec import read_values


class RecordedClient:
    def __init__(self, values: dict[Oid, Value], version: str = "2c",
                 max_reply: int = 63) -> None:
        self.values = dict(values)
        self.version = version
        self.max_reply = max_reply
        self.requests: list[tuple[str, list[Oid]]] = []  # (kind, OIDs asked) per request
        self.fail_after: int | None = None
        self._keys: list[Oid] | None = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: object) -> RecordedClient:
        return cls(read_values(path), **kwargs)  # type: ignore[arg-type]

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name == "values":
            super().__setattr__("_keys", None)

    def set(self, oid: Oid, value: Value) -> None:
        """Change or add one value (keeps the OID index right)."""
        self.values[oid] = value
        self._keys = None

    def _sorted(self) -> list[Oid]:
        if self._keys is None or len(self._keys) != len(self.values):
            self._keys = sorted(self.values)
        return self._keys

    def _count(self, kind: str, oids: Sequence[Oid]) -> None:
        if self.fail_after is not None and len(self.requests) >= self.fail_after:
            raise ProbeTimeout("no reply (recorded agent told to fail)")
        self.requests.append((kind, list(oids)))

    def _next(self, oid: Oid) -> VarBind:
        keys = self._sorted()
        position = bisect.bisect_right(keys, oid)
        if position >= len(keys):
            return (oid, END_OF_MIB)
        found = keys[position]
        return (found, self.values[found])

    def _v1(self, reply: list[VarBind]) -> list[VarBind]:
        if self.version == "1":
            for position, (_, value) in enumerate(reply):
                if value is MISSING or value is END_OF_MIB:
                    raise PduError(NO_SUCH_NAME, position + 1)
        return reply

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]:
        self._count("get", oids)
        return self._v1([(oid, self.values.get(oid, MISSING)) for oid in oids])

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]:
        self._count("next", oids)
        return self._v1([self._next(oid) for oid in oids])

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[VarBind]:
        self._count("bulk", oids)
        out: list[VarBind] = []
        cursors = list(oids)
        for _ in range(max_repetitions):
            for i, oid in enumerate(cursors):
                found = self._next(oid)
                cursors[i] = found[0]
                out.append(found)
                if len(out) >= self.max_reply:
                    return out
        return out
