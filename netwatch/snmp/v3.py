"""SNMPv3 through pysnmp 7 (asyncio): engines per credential set, one session per target.

Imported only when a v3 target is polled (pysnmp and pyasn1 are ~30 MB of a process).

- One SnmpEngine per credential set, because pysnmp caches v3 users per (user name, engine
  id): two devices with the same user name and different keys on one engine fail each other.
- Requests go through pysnmp's command generators directly (no MIB lookups, no per-request
  ObjectType resolution: raw OIDs in, plain values out, see `oid.py`); the transport target
  is configured once per session.
- The engines' sockets get a large receive buffer; requests in flight are bounded by the
  pool's semaphore, shared with the v1/v2c socket.
- A datagram that is not even a BER SEQUENCE of its own length is dropped by pysnmp without
  a word; we count such junk per source, so a request that then times out says `protocol`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config as pysnmp_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import auth as hlauth
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
from pysnmp.hlapi.v3arch.asyncio.transport import Udp6TransportTarget, UdpTransportTarget
from pysnmp.proto import errind, rfc1905
from pysnmp.proto.rfc1902 import ObjectName

from netwatch.base.errors import ProbeError, ProbeTimeout, SnmpAuthError, SnmpProtocolError
from netwatch.config.model import AuthConfig
from netwatch.snmp.ber import looks_like_snmp
from netwatch.snmp.client import PduError
from netwatch.snmp.oid import END_OF_MIB, MISSING, Oid, Value, VarBind
from netwatch.snmp.shared import SessionShared, enlarge_receive_buffer

_NULL = univ.Null("")

_AUTH = {
    "MD5": hlauth.usmHMACMD5AuthProtocol, "SHA": hlauth.usmHMACSHAAuthProtocol,
    "SHA224": hlauth.usmHMAC128SHA224AuthProtocol, "SHA256": hlauth.usmHMAC192SHA256AuthProtocol,
    "SHA384": hlauth.usmHMAC256SHA384AuthProtocol, "SHA512": hlauth.usmHMAC384SHA512AuthProtocol,
}
_PRIV = {  # AES-192/256 with the key extension net-snmp uses (draft-blumenthal)
    "DES": hlauth.usmDESPrivProtocol, "3DES": hlauth.usm3DESEDEPrivProtocol,
    "AES": hlauth.usmAesCfb128Protocol, "AES128": hlauth.usmAesCfb128Protocol,
    "AES192": hlauth.usmAesBlumenthalCfb192Protocol,
    "AES256": hlauth.usmAesBlumenthalCfb256Protocol,
}
_AUTH_ERRORS = (errind.WrongDigest, errind.UnknownUserName, errind.UnknownSecurityName,
                errind.AuthenticationError, errind.AuthenticationFailure, errind.DecryptionError,
                errind.UnsupportedSecurityLevel, errind.NotInTimeWindow,
                errind.UnsupportedAuthProtocol, errind.UnsupportedPrivProtocol)


class _Watch:
    """Receive-side hooks for pysnmp's v4 and v6 transports (listed first: these override)."""

    junk: dict[str, int]

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:
        enlarge_receive_buffer(transport)
        super().connection_made(transport)  # type: ignore[misc]

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        """Straight to the engine (pysnmp defers each datagram by a loop turn); nothing
        once the engine is closed (late replies after shutdown)."""
        if not looks_like_snmp(datagram):
            self.junk[address[0]] = self.junk.get(address[0], 0) + 1
            return
        deliver = self._callback_function  # type: ignore[attr-defined]
        if deliver is not None:
            deliver(self, address, datagram)


class _Udp(_Watch, udp.UdpAsyncioTransport):  # type: ignore[misc]
    pass


class _Udp6(_Watch, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    pass


def _add_transport(engine: SnmpEngine, ipv6: bool, junk: dict[str, int]) -> None:
    """Open the engine's socket for one address family (once)."""
    domain, kind = (udp6.DOMAIN_NAME, _Udp6) if ipv6 else (udp.DOMAIN_NAME, _Udp)
    if pysnmp_config.get_transport(engine, domain) is None:
        transport = kind()
        transport.junk = junk
        pysnmp_config.add_transport(engine, domain, transport.open_client_mode())


_NAMES: dict[Oid, ObjectName] = {}


def _name(oid: Oid) -> ObjectName:
    """pyasn1 OID objects, built once per OID (building them costs more than sending)."""
    name = _NAMES.get(oid)
    if name is None:
        if len(_NAMES) > 200_000:
            _NAMES.clear()
        name = _NAMES[oid] = ObjectName(oid)
    return name


def auth_data(auth: AuthConfig) -> hlauth.UsmUserData:
    """pysnmp's view of a v3 credential set."""
    assert auth.username
    level = auth.level
    auth_key = priv_key = None
    if auth.auth_password and level != "noAuthNoPriv":
        auth_key = auth.auth_password.reveal()
    if auth.priv_password and level == "authPriv":
        priv_key = auth.priv_password.reveal()
    return hlauth.UsmUserData(
        auth.username, auth_key, priv_key,
        authProtocol=_AUTH[auth.auth_protocol or "SHA"] if auth_key else hlauth.usmNoAuthProtocol,
        privProtocol=_PRIV[auth.priv_protocol or "AES"] if priv_key else hlauth.usmNoPrivProtocol)


def credential_key(auth: AuthConfig) -> str:
    """Identifies a v3 credential set without keeping its secrets in the clear."""
    parts = [auth.username or "", auth.level, auth.auth_protocol or "", auth.priv_protocol or "",
             auth.auth_password.reveal() if auth.auth_password else "",
             auth.priv_password.reveal() if auth.priv_password else ""]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class V3Engines:
    """The pysnmp engines of one pool, one per credential set."""

    def __init__(self, junk: dict[str, int]) -> None:
        self._junk = junk
        self._engines: dict[str, SnmpEngine] = {}

    def engine(self, auth: AuthConfig, ipv6: bool) -> SnmpEngine:
        key = credential_key(auth)
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = SnmpEngine()
        _add_transport(engine, ipv6, self._junk)
        return engine

    async def session(self, pool: SessionShared, address: tuple[str, int], ipv6: bool,
                      auth: AuthConfig, timeout: float, retries: int) -> PysnmpSession:
        kind = Udp6TransportTarget if ipv6 else UdpTransportTarget
        target = await kind.create(address, timeout=timeout, retries=retries)
        return PysnmpSession(pool, self.engine(auth, ipv6), auth, target)

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()


def _value(value: Any) -> Value:
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.Null):  # before OctetString: pyasn1's Null is one
        return END_OF_MIB if isinstance(value, rfc1905.EndOfMibView) else MISSING
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return value.asTuple()  # type: ignore[no-any-return]
    return MISSING


def _done(engine: Any, handle: Any, indication: Any, status: Any, index: Any, varbinds: Any,
          future: asyncio.Future[tuple[Any, Any, Any, Any]]) -> None:
    if not future.done():
        future.set_result((indication, status, index, varbinds))


_GET = cmdgen.GetCommandGenerator()
_NEXT = cmdgen.NextCommandGeneratorSingleRun()
_BULK = cmdgen.BulkCommandGeneratorSingleRun()


class PysnmpSession:
    """One SNMPv3 target's requests; implements netwatch.snmp.client.SnmpClient."""

    def __init__(self, pool: SessionShared, engine: SnmpEngine, auth: AuthConfig,
                 target: UdpTransportTarget | Udp6TransportTarget) -> None:
        self.version: str = auth.version
        self._pool = pool
        self._engine = engine
        self._host = str(target.transport_address[0])
        self._context = auth.context_name.encode()
        self._addr, _ = LCD.configure(engine, auth_data(auth), target, self._context)

    async def _request(self, send: Callable[[asyncio.Future[Any]], object]) -> list[VarBind]:
        loop = asyncio.get_running_loop()
        async with self._pool.in_flight:
            future: asyncio.Future[tuple[Any, Any, Any, Any]] = loop.create_future()
            junk = self._pool.junk.get(self._host, 0)
            try:
                send(future)
            except Exception as exc:
                raise SnmpProtocolError(f"cannot send: {type(exc).__name__}") from None
            indication, status, index, varbinds = await future
        if indication:
            raise self._failure(indication, junk)
        if status:
            text = getattr(status, "prettyPrint", lambda: str(status))()
            raise PduError(int(status), int(index), f"{text} at varbind {index}")
        return [(name.asTuple(), _value(value)) for name, value in varbinds]

    def _failure(self, indication: Any, junk_before: int) -> ProbeError:
        if isinstance(indication, errind.RequestTimedOut):
            if self._pool.junk.get(self._host, 0) > junk_before:
                return SnmpProtocolError("only undecodable replies (not SNMP) from the agent")
            return ProbeTimeout("no reply (for v1/v2c also: wrong community)")
        if isinstance(indication, _AUTH_ERRORS):
            return SnmpAuthError(f"SNMPv3: {indication}")
        return SnmpProtocolError(str(indication))

    @staticmethod
    def _varbinds(oids: Sequence[Oid]) -> list[tuple[ObjectName, univ.Null]]:
        return [(_name(oid), _NULL) for oid in oids]

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]:
        vbs = self._varbinds(oids)
        return await self._request(lambda f: _GET.send_varbinds(
            self._engine, self._addr, None, self._context, vbs, _done, f))

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]:
        vbs = self._varbinds(oids)
        return await self._request(lambda f: _NEXT.send_varbinds(
            self._engine, self._addr, None, self._context, vbs, _done, f))

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[VarBind]:
        if self.version == "1":
            return await self.get_next(oids)
        vbs = self._varbinds(oids)
        return await self._request(lambda f: _BULK.send_varbinds(
            self._engine, self._addr, None, self._context, 0, max_repetitions, vbs, _done, f))
