"""SNMP v1/v2c requests over one shared UDP socket per address family.

    transport = await CommunityTransport.open(socket.AF_INET, junk)
    session = CommunitySession(pool, transport, (ip, port), auth, timeout, retries)
    await session.get(oids)          # list of (oid, value); same interface as PysnmpSession

Replies are matched to requests by request-id and checked against the address asked, the
version and the community; anything else is dropped. Retries resend the same message with
the same request-id, so a late reply to the first try still completes the request. Timers
are plain loop callbacks: no task per request.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import structlog

from netwatch.base.errors import ProbeTimeout, SnmpProtocolError
from netwatch.snmp import ber
from netwatch.snmp.client import PduError
from netwatch.snmp.oid import Oid, VarBind
from netwatch.snmp.shared import SessionShared, enlarge_receive_buffer

if TYPE_CHECKING:
    from netwatch.config.model import AuthConfig

log = structlog.get_logger("netwatch.snmp")

_ERROR_NAMES = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr",
                "noAccess", "wrongType", "wrongLength", "wrongEncoding", "wrongValue",
                "noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
                "undoFailed", "authorizationError", "notWritable", "inconsistentName")


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[ber.Message | None]
    message: bytes
    address: tuple[str, int]
    version: int
    community: bytes
    tries_left: int
    timeout: float
    timer: asyncio.TimerHandle | None = field(default=None)


class CommunityTransport(asyncio.DatagramProtocol):
    """One socket, every v1/v2c request of a prober for one address family."""

    def __init__(self, junk: dict[str, int]) -> None:
        self.junk = junk  # undecodable datagrams per source address (shared with the pool)
        self._pending: dict[int, _Pending] = {}
        self._next_id = random.randrange(1, 1 << 30)
        self._transport: asyncio.DatagramTransport | None = None
        self._loop = asyncio.get_running_loop()

    @classmethod
    async def open(cls, family: socket.AddressFamily, junk: dict[str, int]) -> CommunityTransport:
        loop = asyncio.get_running_loop()
        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        _, protocol = await loop.create_datagram_endpoint(lambda: cls(junk), local_addr=local,
                                                          family=family)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        enlarge_receive_buffer(transport)

    def close(self) -> None:
        for rid in list(self._pending):
            self._finish(rid, None)
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def new_id(self) -> int:
        rid = self._next_id
        while rid in self._pending:
            rid = rid % ((1 << 31) - 1) + 1
        self._next_id = rid % ((1 << 31) - 1) + 1
        return rid

    def send(self, rid: int, message: bytes, address: tuple[str, int], version: int,
             community: bytes, timeout: float, retries: int) -> asyncio.Future[ber.Message | None]:
        """Send now, resend on each timeout while retries last; the future gets the reply,
        or None when every try timed out."""
        future: asyncio.Future[ber.Message | None] = self._loop.create_future()
        pending = _Pending(future, message, address, version, community, retries, timeout)
        self._pending[rid] = pending
        self._transmit(rid, pending)
        return future

    def forget(self, rid: int) -> None:
        """The caller stopped waiting (answered, timed out or cancelled)."""
        self._finish(rid, None)

    def _transmit(self, rid: int, pending: _Pending) -> None:
        if self._transport is None:
            self._finish(rid, None)
            return
        self._transport.sendto(pending.message, pending.address)
        pending.timer = self._loop.call_later(pending.timeout, self._expire, rid)

    def _expire(self, rid: int) -> None:
        pending = self._pending.get(rid)
        if pending is None:
            return
        if pending.tries_left > 0:
            pending.tries_left -= 1
            self._transmit(rid, pending)
        else:
            self._finish(rid, None)

    def _finish(self, rid: int, reply: ber.Message | None) -> None:
        pending = self._pending.pop(rid, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        if not pending.future.done():
            pending.future.set_result(reply)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            reply = ber.decode_message(data)
        except ber.BerError:
            self._count_junk(addr[0])
            return
        pending = self._pending.get(reply.request_id)
        if pending is None or addr[0] != pending.address[0] or addr[1] != pending.address[1]:
            return  # late (already answered or given up) or not from the agent we asked
        if (reply.pdu_type != ber.RESPONSE or reply.version != pending.version
                or reply.community != pending.community):
            self._count_junk(addr[0])
            return
        self._finish(reply.request_id, reply)

    def error_received(self, exc: Exception) -> None:
        log.debug("snmp_socket_error", error=str(exc))

    def _count_junk(self, host: str) -> None:
        self.junk[host] = self.junk.get(host, 0) + 1


class CommunitySession:
    """One v1/v2c target's requests; implements netwatch.snmp.client.SnmpClient."""

    def __init__(self, pool: SessionShared, transport: CommunityTransport,
                 address: tuple[str, int], auth: AuthConfig, timeout: float,
                 retries: int) -> None:
        assert auth.community is not None
        self.version: str = auth.version
        self._pool = pool
        self._transport = transport
        self._address = address
        self._number = ber.VERSIONS[auth.version]
        self._community = auth.community.reveal().encode()
        self._timeout = timeout
        self._retries = retries

    async def _request(self, pdu_type: int, oids: Sequence[Oid], non_repeaters: int = 0,
                       max_repetitions: int = 0) -> list[VarBind]:
        transport = self._transport
        host = self._address[0]
        async with self._pool.in_flight:
            junk = self._pool.junk.get(host, 0)
            rid = transport.new_id()
            message = ber.encode_request(self._number, self._community, pdu_type, rid, oids,
                                         non_repeaters, max_repetitions)
            future = transport.send(rid, message, self._address, self._number, self._community,
                                    self._timeout, self._retries)
            try:
                reply = await future
            finally:
                transport.forget(rid)
        if reply is None:
            if self._pool.junk.get(host, 0) > junk:
                raise SnmpProtocolError(
                    "only undecodable or mismatched replies (not SNMP, wrong PDU or community)")
            raise ProbeTimeout("no reply (for v1/v2c also: wrong community)")
        if reply.error_status:
            status, index = reply.error_status, reply.error_index
            name = _ERROR_NAMES[status] if 0 <= status < len(_ERROR_NAMES) else str(status)
            raise PduError(status, index, f"{name} at varbind {index}")
        return reply.varbinds

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]:
        return await self._request(ber.GET, oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]:
        return await self._request(ber.GET_NEXT, oids)

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[VarBind]:
        if self.version == "1":
            return await self.get_next(oids)
        return await self._request(ber.GET_BULK, oids, 0, max_repetitions)
