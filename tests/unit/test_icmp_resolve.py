"""Addresses to socket literals: literals once, names re-resolved, last good kept on failure."""

from __future__ import annotations

import asyncio
import socket

import pytest

from netwatch.base.addresses import Resolver
from netwatch.base.errors import Unreachable


class FakeDns:
    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[socket.AddressFamily, str]]] = {}
        self.calls = 0

    async def __call__(self, name: str) -> list[tuple[socket.AddressFamily, str]]:
        self.calls += 1
        if name not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[name]


async def test_literals_are_normalised_as_the_kernel_spells_sources() -> None:
    resolver = Resolver(lookup=FakeDns())
    entry = await resolver.resolve("0:0::0001")
    assert (entry.family, entry.address) == (socket.AF_INET6, "::1")
    assert (await resolver.resolve("127.0.0.5")).family == socket.AF_INET


async def test_names_prefer_the_first_usable_family() -> None:
    dns = FakeDns()
    dns.answers["rtr.lab"] = [(socket.AF_INET6, "2001:2::0:5"), (socket.AF_INET, "198.18.0.5")]
    resolver = Resolver(lookup=dns)
    assert (await resolver.resolve("rtr.lab")).address == "198.18.0.5"
    v6_only = Resolver(lookup=dns, families=(socket.AF_INET6,))
    assert (await v6_only.resolve("rtr.lab")).address == "2001:2::5"


async def test_unknown_name_is_unreachable() -> None:
    with pytest.raises(Unreachable, match=r"cannot resolve nowhere\.lab"):
        await Resolver(lookup=FakeDns()).resolve("nowhere.lab")


async def test_due_entries_refresh_in_the_background_and_keep_the_last_good() -> None:
    dns = FakeDns()
    dns.answers["rtr.lab"] = [(socket.AF_INET, "198.18.0.5")]
    resolver = Resolver(refresh=60, lookup=dns)
    loop = asyncio.get_running_loop()
    entry = await resolver.resolve("rtr.lab")
    assert resolver.cached("rtr.lab", loop.time()) is entry and dns.calls == 1  # not due yet
    dns.answers["rtr.lab"] = [(socket.AF_INET, "198.18.0.6")]
    due = resolver.cached("rtr.lab", loop.time() + 61)
    assert due is not None and due.address == "198.18.0.5"  # no waiting
    assert entry.refreshing is not None
    await entry.refreshing
    assert entry.address == "198.18.0.6" and dns.calls == 2
    del dns.answers["rtr.lab"]  # the name server loses the record
    entry.expires = 0
    resolver.cached("rtr.lab", loop.time())
    assert entry.refreshing is not None
    await entry.refreshing
    assert entry.address == "198.18.0.6" and entry.failing
