"""`netwatch demo` as a person runs it: the banner with links that work, and a port clash
that names the demo's own flag."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from netwatch.lab.agents import snmpsim_available
from netwatch.lab.ports import free_port
from tests.conftest import ROOT, require

pytestmark = pytest.mark.integration


def demo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netwatch", "demo", "--kecamatan", "Kedaton",
                           *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          check=False, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_a_taken_port_names_the_demos_flag() -> None:
    require(snmpsim_available())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = demo("--no-trouble", "--listen", f"127.0.0.1:{port}", "--duration", "5")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "--listen 127.0.0.1:" in proc.stderr and "listen: in the config" not in proc.stderr
    assert "nothing left behind" in proc.stderr


def test_the_banner_names_the_pages() -> None:
    require(snmpsim_available())
    port = free_port()
    proc = demo("--no-trouble", "--listen", f"127.0.0.1:{port}", "--duration", "6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"status page   http://127.0.0.1:{port}/" in proc.stderr
    assert "kelurahan of Kota Bandar Lampung" in proc.stderr
    assert "nothing left behind" in proc.stderr
