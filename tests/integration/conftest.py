"""The probers the integration tests share: each started once per module (SNMP) or per
test (ICMP: its late and duplicate replies must not reach the next test), always closed."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from netwatch.base.errors import StartupError
from netwatch.icmp.prober import IcmpProber
from netwatch.snmp.prober import SnmpProber
from tests.conftest import ROOT, program, unavailable


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


@pytest.fixture(scope="session")
def deb() -> Path:
    """The Debian package of this checkout, built once per run by scripts/build-deb.sh."""
    program("dpkg-buildpackage", "sh scripts/bootstrap.sh test (debhelper)")
    started = time.monotonic()
    proc = subprocess.run(["sh", "scripts/build-deb.sh"], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = Path(proc.stdout.strip().splitlines()[-1])
    print(f"build-deb.sh: {path.name} ({path.stat().st_size / 1e6:.1f} MB) "
          f"in {time.monotonic() - started:.0f} s")
    assert path.parent == ROOT / "dist"
    assert re.fullmatch(r"netwatch_[\w.+~-]+_amd64\.deb", path.name)
    return path
