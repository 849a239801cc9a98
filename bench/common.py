"""Helpers the benchmarks share: CPU and memory from /proc, percentiles and medians,
loopback and namespace address lists, generated configs, processes cleaned up on exit.
Benchmarks print figures; they are not tests.

    before = cpu_seconds()            # this process (or cpu_seconds(pid): all its threads)
    ...; used = cpu_seconds() - before
    rss_bytes(), peak_rss_bytes()     # VmRSS, VmHWM
    loopback_addresses(10_000)        # 127.1.0.1, 127.1.0.2, ... (never 127.0.0.0/16)
    write_config(path, addresses, interval="15s", count=3)
    write_fleet(path, icmp=[...], snmp=[(address, port), ...])   # ICMP and SNMP devices
    Spread.of([1.2, 1.0, 1.4])        # median 1.2 (1.0-1.4)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU of a process, all its threads (children excluded), /proc/PID/stat."""
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


def icmp_echo_replies() -> int:
    """Echo replies this network namespace has received so far (/proc/net/snmp InEchoReps):
    with a raw ICMP socket every one of them reaches the process, ours or not."""
    rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()
            if line.startswith("Icmp:")]
    return int(rows[1][rows[0].index("InEchoReps")]) if len(rows) >= 2 else 0


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements, and their range."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        got = [v for v in values if not math.isnan(v)]
        if not got:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(got), min(got), max(got), len(got))

    def text(self, scale: float = 1.0, digits: int = 2) -> str:
        if not self.n:
            return "n/a"
        if self.n == 1:
            return f"{self.median * scale:.{digits}f}"
        return (f"{self.median * scale:.{digits}f} ({self.low * scale:.{digits}f}-"
                f"{self.high * scale:.{digits}f})")


def ratio(a: Spread, b: Spread) -> Spread:
    """a/b with the range of the quotient (low/high, high/low)."""
    if not a.n or not b.n or not b.median or not b.low:
        return Spread(math.nan, math.nan, math.nan, 0)
    return Spread(a.median / b.median, a.low / b.high, a.high / b.low, min(a.n, b.n))


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
    return fleet_text(list(addresses), [], icmp_interval=interval, count=count, spacing=spacing,
                      timeout=timeout, listen=listen, snmp_default=snmp,
                      kecamatan_count=kecamatan_count)


def fleet_text(icmp: Sequence[str], snmp: Sequence[tuple[str, int]], icmp_interval: str = "15s",
               count: int = 3, spacing: str = "1s", timeout: str = "2s",
               snmp_interval: str = "60s", snmp_timeout: str = "2s", snmp_retries: int = 1,
               community: str = "public", listen: str = "127.0.0.1:0",
               snmp_default: bool = False, kecamatan_count: int = 20) -> str:
    """A config with one site per device: ICMP-only devices at `icmp` addresses, then
    SNMP-only devices (ICMP off, profile auto) at `snmp` (address, port) endpoints."""
    lines = [
        f"listen: {json.dumps(listen)}",
        "defaults:",
        (f"  icmp: {{interval: {icmp_interval}, count: {count}, spacing: {spacing}, "
         f"timeout: {timeout}}}"),
        (f"  snmp: {{enabled: {'true' if snmp_default else 'false'}, "
         f"interval: {snmp_interval}, timeout: {snmp_timeout}, retries: {snmp_retries}, "
         "auth: bench}"),
        "auths:",
        f"  bench: {{version: 2c, community: {json.dumps(community)}}}",
        "sites:",
    ]
    for i, address in enumerate(icmp):
        lines.append(f"  - {{id: {json.dumps(site_id(i))}, name: Site {i}, "
                     f"kecamatan: K{i % kecamatan_count}, "
                     f"devices: [{{name: rtr, role: router, address: {json.dumps(address)}}}]}}")
    for j, (address, port) in enumerate(snmp):
        i = len(icmp) + j
        lines.append(f"  - {{id: {json.dumps(site_id(i))}, name: Site {i}, "
                     f"kecamatan: K{i % kecamatan_count}, devices: [{{name: rtr, role: router, "
                     f"address: {json.dumps(address)}, icmp: {{enabled: false}}, "
                     f"snmp: {{enabled: true, port: {port}}}}}]}}")
    return "\n".join(lines) + "\n"


def write_config(path: str | Path, addresses: Iterable[str], **kwargs: Any) -> Path:
    path = Path(path)
    path.write_text(config_text(addresses, **kwargs))
    return path


def write_fleet(path: str | Path, icmp: Sequence[str], snmp: Sequence[tuple[str, int]] = (),
                **kwargs: Any) -> Path:
    path = Path(path)
    path.write_text(fleet_text(icmp, snmp, **kwargs))
    return path


def run_json(argv: Sequence[str], timeout: float,
             env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a benchmark worker (a fresh process: clean RSS figures), parse its JSON stdout;
    `env`: variables added to this process's environment (PYTHONPATH: another checkout)."""
    result = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                            timeout=timeout, check=False, cwd=str(ROOT),
                            env={**os.environ, **env} if env else None)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"


# --- the machine --------------------------------------------------------------------------
def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError, ValueError):
        memory = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    return (f"{os.cpu_count()} cores ({model or platform.machine()}), {memory / 2**30:.1f} GiB, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def debian_version(package: str) -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                            text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def ensure_debian(packages: Sequence[str]) -> list[str]:
    """apt-get install the packages not installed yet (root); returns those still missing.
    Their services are kept from starting: the benchmark runs its own instances."""
    missing = [p for p in packages if not debian_version(p)]
    if not missing or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return missing
    print(f"installing Debian packages: {' '.join(missing)}", flush=True)
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       env=env, capture_output=True, check=False, timeout=600)
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    return [p for p in missing if not debian_version(p)]


# --- processes and clean-up ---------------------------------------------------------------
class Processes:
    """Processes a benchmark started: each stopped (SIGTERM, then SIGKILL) by stop_all()."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        process = subprocess.Popen(list(argv), **kwargs)
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        from netwatch.lab.stack import stop_process

        stop_process(process, grace=5)
        if process in self.started:
            self.started.remove(process)

    def stop_all(self) -> None:
        for process in list(self.started):
            self.stop(process)


@contextlib.contextmanager
def terminated_as_exit() -> Iterator[None]:
    """SIGTERM/SIGHUP raise SystemExit (like Ctrl-C raises KeyboardInterrupt), so every
    `finally` runs and namespaces and processes are removed."""
    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, leave) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# --- namespaces ---------------------------------------------------------------------------
def routed_namespace(count: int, silent: bool = False, veths: int = 0,
                     tag: str = "bench") -> tuple[Any, list[str]]:
    """A namespace holding `count` addresses on its `lo`, routed from the host via its veth:
    the host keeps one neighbour per namespace (1,000 on-link addresses overflow the
    neighbour table, gc_thresh3), as a poller reaching devices through a gateway does.
    `silent`: kernel echo replies off. `veths` extra veth pairs inside (an interface table
    with real rows: this kernel has no dummy links). Returns (namespace, addresses)."""
    from netwatch.lab import netns

    ns = netns.Namespace.create(hosts=1, tag=tag, silent=silent)
    addresses: list[str] = []
    try:
        while len(addresses) < count:
            part = min(250, count - len(addresses))
            subnet = netns._free_subnet(part)  # a /24 of the lab range nobody here uses
            block = [str(subnet.network_address + 1 + i) for i in range(part)]
            ns.run(["ip", "-batch", "-"],
                   input="".join(f"addr add {a}/32 dev lo\n" for a in block))
            netns.ip("route", "add", str(subnet), "via", ns.address)
            addresses += block
        commands = []
        for k in range(veths):
            commands += [f"link add va{k} type veth peer name vb{k}", f"link set va{k} up",
                         f"link set vb{k} up"]
        if commands:
            ns.run(["ip", "-batch", "-"], input="\n".join(commands) + "\n")
    except BaseException:
        delete_routed(ns)
        raise
    return ns, addresses


def delete_routed(ns: Any) -> None:
    """Remove a routed_namespace: its host routes first, then the namespace."""
    from netwatch.lab import netns

    routes = netns.ip("-4", "route", "show", "via", ns.address, check=False).stdout.split("\n")
    for route in routes:
        if route.strip():
            netns.ip("route", "del", route.split()[0], check=False)
    ns.delete()
