"""The probers the integration tests share: each started once per module (SNMP) or per
test (ICMP: its late and duplicate replies must not reach the next test), always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from netwatch.base.errors import StartupError
from netwatch.icmp.prober import IcmpProber
from netwatch.snmp.prober import SnmpProber
from tests.conftest import unavailable


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def snmp_prober() -> AsyncIterator[SnmpProber]:
    prober = SnmpProber()
    await prober.start()
    yield prober
    await prober.close()


@pytest.fixture
async def icmp_prober() -> AsyncIterator[IcmpProber]:
    prober = IcmpProber()
    try:
        await prober.start()
    except StartupError as exc:  # no raw socket and no ping sockets on this machine
        unavailable(f"ICMP not permitted here: {exc}")
    yield prober
    await prober.close()
