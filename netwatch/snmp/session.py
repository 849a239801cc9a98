"""Sessions per target, and what they share: sockets, engines, the bound on requests.

    pool = EnginePool()
    session = await pool.session(address, port, auth, timeout, retries)   # an SnmpClient
    pool.close()

- v1/v2c (`community.py`): one UDP socket per address family shared by every community
  target, messages encoded and decoded by `ber.py` (pysnmp's pyasn1 decoding was ~75 % of
  a poll's CPU).
- SNMPv3 (`v3.py`): pysnmp engines, one per credential set; imported at the first v3
  target, so a v1/v2c fleet never loads pysnmp.
- Requests in flight are bounded by one semaphore across all of them; undecodable datagrams
  are counted per source address (`junk`), so a request that then times out says `protocol`.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from netwatch.base.addresses import literal, system_lookup
from netwatch.base.errors import Unreachable
from netwatch.config.model import AuthConfig
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.community import CommunitySession, CommunityTransport
from netwatch.snmp.shared import SessionShared

if TYPE_CHECKING:
    from netwatch.snmp.v3 import V3Engines

MAX_IN_FLIGHT = 128


async def resolve(address: str) -> tuple[socket.AddressFamily, str]:
    """An IP literal as the kernel spells it, or a host name looked up once per session."""
    known = literal(address)
    if known is not None:
        return known.family, known.address
    try:
        found = await system_lookup(address)
    except OSError as exc:
        raise Unreachable(f"cannot resolve {address}: {exc.strerror or exc}") from None
    if not found:
        raise Unreachable(f"cannot resolve {address}: no IPv4 or IPv6 address")
    return found[0]


class EnginePool(SessionShared):
    """The sockets and engines of one prober, and the bound on requests in flight."""

    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        super().__init__(max_in_flight)
        self._community: dict[socket.AddressFamily, CommunityTransport] = {}
        self._v3: V3Engines | None = None
        self._opening = asyncio.Lock()

    async def community_transport(self, family: socket.AddressFamily) -> CommunityTransport:
        async with self._opening:
            transport = self._community.get(family)
            if transport is None:
                transport = await CommunityTransport.open(family, self.junk)
                self._community[family] = transport
            return transport

    async def session(self, address: str, port: int, auth: AuthConfig, timeout: float,
                      retries: int) -> SnmpClient:
        family, ip = await resolve(address)
        if auth.version in ("1", "2c"):
            transport = await self.community_transport(family)
            return CommunitySession(self, transport, (ip, port), auth, timeout, retries)
        if self._v3 is None:
            from netwatch.snmp.v3 import V3Engines  # pysnmp: only for v3 targets

            self._v3 = V3Engines(self.junk)
        return await self._v3.session(self, (ip, port), family == socket.AF_INET6, auth,
                                      timeout, retries)

    def close(self) -> None:
        for transport in self._community.values():
            transport.close()
        self._community.clear()
        if self._v3 is not None:
            self._v3.close()
            self._v3 = None
