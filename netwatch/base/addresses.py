"""Target addresses to socket literals: IP literals once, host names re-resolved on a schedule.

A poll never waits for DNS once a name has been resolved: when an entry is older than
`refresh` seconds, one background lookup replaces it, and a failed refresh keeps the last
good address (logged once per failure streak). Only a name never resolved makes polls fail.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from netwatch.base.errors import Unreachable

log = structlog.get_logger("netwatch.icmp")

Lookup = Callable[[str], Awaitable[list[tuple[socket.AddressFamily, str]]]]
REFRESH = 300.0


@dataclass(slots=True)
class Resolved:
    family: socket.AddressFamily
    address: str  # spelled as the kernel spells source addresses
    expires: float  # loop time; +inf for literals
    refreshing: asyncio.Task[None] | None = None
    failing: bool = False


def literal(address: str) -> Resolved | None:
    """A Resolved for an IP literal, or None when `address` is a host name."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    text = socket.inet_ntop(family, ip.packed)
    return Resolved(family, text, float("inf"))


async def system_lookup(name: str) -> list[tuple[socket.AddressFamily, str]]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(name, None, type=socket.SOCK_DGRAM)
    return [(socket.AddressFamily(info[0]), str(info[4][0])) for info in infos
            if info[0] in (socket.AF_INET, socket.AF_INET6)]


class Resolver:
    def __init__(self, refresh: float = REFRESH, lookup: Lookup = system_lookup,
                 families: tuple[socket.AddressFamily, ...] = (socket.AF_INET, socket.AF_INET6)
                 ) -> None:
        self.refresh = refresh
        self.lookup = lookup
        self.families = families  # usable families, in order of preference for names
        self._entries: dict[str, Resolved] = {}

    def cached(self, address: str, now: float) -> Resolved | None:
        """The entry to use right now (starting a background refresh when it is due)."""
        entry = self._entries.get(address)
        if entry is None:
            entry = literal(address)
            if entry is None:
                return None
            self._entries[address] = entry
        if entry.expires <= now and entry.refreshing is None:
            entry.refreshing = asyncio.create_task(self._refresh(address, entry))
        return entry

    async def resolve(self, address: str) -> Resolved:
        loop = asyncio.get_running_loop()
        entry = self.cached(address, loop.time())
        if entry is not None:
            return entry
        family, text = await self._lookup(address)
        entry = Resolved(family, text, loop.time() + self.refresh)
        self._entries[address] = entry
        return entry

    def forget(self, keep: set[str]) -> None:
        """Drop names no target uses any more."""
        for address in [a for a in self._entries if a not in keep]:
            del self._entries[address]

    async def _lookup(self, name: str) -> tuple[socket.AddressFamily, str]:
        try:
            found = await self.lookup(name)
        except OSError as exc:
            raise Unreachable(f"cannot resolve {name}: {exc}") from None
        for family in self.families:
            for got_family, text in found:
                if got_family == family:
                    resolved = literal(text)
                    assert resolved is not None
                    return family, resolved.address
        raise Unreachable(f"{name} has no address of a usable family")

    async def _refresh(self, name: str, entry: Resolved) -> None:
        loop = asyncio.get_running_loop()
        try:
            family, text = await self._lookup(name)
        except Unreachable as exc:
            if not entry.failing:
                log.warning("resolve_failed_keeping_last", name=name, address=entry.address,
                            error=str(exc))
            entry.failing = True
        else:
            if (family, text) != (entry.family, entry.address):
                log.info("address_changed", name=name, old=entry.address, new=text)
            entry.family, entry.address, entry.failing = family, text, False
        finally:
            entry.expires = loop.time() + self.refresh
            entry.refreshing = None
