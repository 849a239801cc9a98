"""`netwatch probe ADDRESS...`: the one-shot table on stdout and the exit code."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from netwatch.cli import main as cli
from tests.conftest import ROOT, MakeNamespace, require

pytestmark = pytest.mark.integration


def _rows(out: str) -> dict[str, list[str]]:
    lines = out.strip().splitlines()
    assert lines[0].split()[:4] == ["ADDRESS", "SENT", "RECV", "LOSS"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


def test_answering_targets_print_a_table_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["probe", "127.0.0.1", "127.3.2.1", "::1", "--count", "3",
                     "--interval", "0.02", "--timeout", "1"])
    out = capsys.readouterr().out
    if code == 2:
        require("ICMP not permitted here")
    assert code == 0
    rows = _rows(out)
    assert set(rows) == {"127.0.0.1", "127.3.2.1", "::1"}
    for sent, received, loss, *rtts in rows.values():
        assert (sent, received, loss) == ("3", "3", "0.0%")
        low, avg, high, mdev = map(float, rtts[:4])
        assert 0 < low <= avg <= high and mdev >= 0


def test_a_silent_target_fails_the_command(make_namespace: MakeNamespace,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ns = make_namespace(silent=True)
    code = cli.main(["probe", "127.0.0.1", ns.address, "--count", "2", "--interval", "0.02",
                     "--timeout", "0.2"])
    rows = _rows(capsys.readouterr().out)
    assert code == 1
    assert rows[ns.address][:3] == ["2", "0", "100.0%"]
    assert rows["127.0.0.1"][:3] == ["2", "2", "0.0%"]


def test_no_icmp_permission_exits_2_with_the_fix(make_namespace: MakeNamespace) -> None:
    ns = make_namespace()
    ns.sysctl("net.ipv4.ping_group_range", "1 0")
    script = ("import os, sys; from netwatch.cli import main as cli; "
              "os.setgid(65534); os.setuid(65534); "
              "sys.exit(cli.main(['probe', '127.0.0.1', '--count', '1']))")
    done = subprocess.run(ns.command([sys.executable, "-c", script]), capture_output=True,
                          text=True, timeout=30, check=False, cwd=str(ROOT),
                          env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert "ping_group_range" in done.stderr and "CAP_NET_RAW" in done.stderr
