"""Helpers the benchmarks share: CPU and memory from /proc, percentiles, loopback targets,
generated configs. Benchmarks print figures; they are not tests.

    before = cpu_seconds()            # this process (or cpu_seconds(pid))
    ...; used = cpu_seconds() - before
    rss_bytes(), peak_rss_bytes()     # VmRSS, VmHWM
    loopback_addresses(10_000)        # 127.1.0.1, 127.1.0.2, ... (never 127.0.0.0/16)
    write_config(path, addresses, interval="15s", count=3)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU of a process (children excluded), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / CLOCK_TICKS


def _status(pid: int | str, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid: int | str = "self") -> int:
    return _status(pid, "VmRSS")


def peak_rss_bytes(pid: int | str = "self") -> int:
    return _status(pid, "VmHWM")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def loopback_addresses(n: int, second_octet: int = 1) -> list[str]:
    """n distinct loopback addresses 127.S.y.z (z in 1..254), spread beyond 127.0.0.1."""
    if n > 254 * 256 * (256 - second_octet):
        raise ValueError(f"too many loopback addresses: {n}")
    out = []
    for i in range(n):
        block, host = divmod(i, 254)
        out.append(f"127.{second_octet + block // 256}.{block % 256}.{host + 1}")
    return out


def site_id(i: int) -> str:
    return f"bench.{i:05d}"


def config_text(addresses: Iterable[str], interval: str = "15s", count: int = 3,
                spacing: str = "1s", timeout: str = "2s", listen: str = "127.0.0.1:0",
                snmp: bool = False, kecamatan_count: int = 20) -> str:
    """A netwatch config with one site and one ICMP device (router `rtr`) per address."""
    lines = [
        f"listen: {json.dumps(listen)}",
        "defaults:",
        f"  icmp: {{interval: {interval}, count: {count}, spacing: {spacing}, timeout: {timeout}}}",
        f"  snmp: {{enabled: {'true' if snmp else 'false'}}}",
        "sites:",
    ]
    for i, address in enumerate(addresses):
        lines.append(f"  - {{id: {json.dumps(site_id(i))}, name: Site {i}, "
                     f"kecamatan: K{i % kecamatan_count}, "
                     f"devices: [{{name: rtr, role: router, address: {json.dumps(address)}}}]}}")
    return "\n".join(lines) + "\n"


def write_config(path: str | Path, addresses: Iterable[str], **kwargs: object) -> Path:
    path = Path(path)
    path.write_text(config_text(addresses, **kwargs))  # type: ignore[arg-type]
    return path


def run_json(argv: Sequence[str], timeout: float) -> dict[str, object]:
    """Run a benchmark worker (a fresh process: clean RSS figures), parse its JSON stdout."""
    result = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"
