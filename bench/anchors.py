"""The anchors netwatch is measured against, run on the same work: fping,
prometheus-blackbox-exporter, prometheus-smokeping-prober and icmplib for ICMP;
prometheus-snmp-exporter and net-snmp's CLI for SNMP (bench/snmp.py builds their requests).

Whole-process CPU: long-running exporters from /proc/PID/stat over the measured window (all
threads); short-lived commands (fping rounds, snmpget) from the kernel's rusage at their
exit (os.wait4: the same counters, microsecond resolution). Every process started here is
stopped by the Processes registry, also on errors and Ctrl-C.

    echo_round = schedule(addresses, count=3, spacing=1.0, interval=15.0)  # when to probe
    FpingResult = run_fping(addresses, count=3, spacing=1.0, interval=15.0, rounds=2)
    ProbeRun = run_blackbox(procs, addresses, ..., window=30.0)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Processes, cpu_seconds, rss_bytes
from netwatch.lab.ports import free_port


@dataclass
class ProbeRun:
    """What one tool did in a measured window: CPU, echoes (or polls), RTTs per address."""

    tool: str
    cpu: float = 0.0
    work: int = 0  # echoes sent, or devices polled
    wall: float = 0.0
    rss: int = 0
    failed: int = 0
    rtts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    note: str = ""

    @property
    def per_unit(self) -> float:
        return self.cpu / self.work if self.work else float("nan")

    def rtts_of(self, addresses: list[str]) -> list[float]:
        return [r for a in addresses for r in self.rtts.get(a, ())]


last_maxrss = 0


def _rusage_run(argv: list[str], timeout: float) -> tuple[float, str, str]:
    """Run a command to its end; (CPU seconds from its rusage, stdout, stderr). The peak
    RSS of the last command run is kept in `last_maxrss`."""
    global last_maxrss
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        process.returncode = os.waitstatus_to_exitcode(status)
        last_maxrss = usage.ru_maxrss * 1024
        out.seek(0)
        err.seek(0)
        return usage.ru_utime + usage.ru_stime, out.read().decode(), err.read().decode()


# --- fping --------------------------------------------------------------------------------
_FPING_LINE = re.compile(r"^(\S+)\s+:\s+(.*)$")


def run_fping(addresses: list[str], count: int, spacing: float, interval: float,
              rounds: int, timeout: float = 2.0) -> ProbeRun:
    """`rounds` fping rounds (-C count, -p spacing) over all addresses, one process per round
    as a cron- or exporter-driven fping runs; sends spread over 80 % of the interval (-i)."""
    run = ProbeRun("fping")
    gap_ms = max(0.01, interval * 1000 * 0.8 / max(1, len(addresses) * count))
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as targets:
        targets.write("\n".join(addresses) + "\n")
        targets.flush()
        argv = ["fping", "-C", str(count), "-p", f"{spacing * 1000:g}", "-i", f"{gap_ms:.3f}",
                "-t", f"{timeout * 1000:g}", "-q", "-f", targets.name]
        started = time.monotonic()
        for _ in range(rounds):
            cpu, _out, err = _rusage_run(argv, timeout=interval * 3 + 60)
            run.cpu += cpu
            run.rss = max(run.rss, last_maxrss)
            run.work += len(addresses) * count
            for line in err.splitlines():
                match = _FPING_LINE.match(line.strip())
                if match:
                    for value in match.group(2).split():
                        if value == "-":
                            run.failed += 1
                        else:
                            run.rtts[match.group(1)].append(float(value) / 1000)
        run.wall = time.monotonic() - started
    run.note = f"-i {gap_ms:.3f} ms, one process per round (start-up included)"
    return run


# --- request schedules for the HTTP-driven exporters ---------------------------------------
def schedule(addresses: list[str], count: int, spacing: float, interval: float
             ) -> list[tuple[float, str]]:
    """(offset within the interval, address) of every probe: each target at a stable phase
    (as netwatch's scheduler spreads them), `count` probes `spacing` apart."""
    events = []
    for address in addresses:
        phase = zlib.crc32(address.encode()) / 2**32 * interval
        events += [((phase + k * spacing) % interval, address) for k in range(count)]
    return sorted(events)


async def drive(url_of: Any, events: list[tuple[float, str]], interval: float, window: float,
                parse: Any, concurrency: int = 256) -> tuple[int, int]:
    """Fire the HTTP requests of `events` every interval for `window` seconds (bounded in
    flight); `parse(address, body)` takes each answer. Returns (requests, failures)."""
    import aiohttp

    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()
    done = [0, 0]
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        async def one(address: str) -> None:
            async with slots:
                try:
                    async with http.get(url_of(address)) as response:
                        body = await response.text()
                    ok = response.status == 200 and parse(address, body)
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
            done[0] += 1
            done[1] += 0 if ok else 1

        start = loop.time()
        ends = start + window
        base = start
        while base < ends:
            for offset, address in events:
                at = base + offset
                if at >= ends:
                    break
                if at > loop.time():
                    await asyncio.sleep(at - loop.time())
                task = asyncio.create_task(one(address))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            base += interval
        if tasks:
            await asyncio.wait(tasks, timeout=30)
    return done[0], done[1]


def _wait_http(url: str, process: subprocess.Popen[bytes], bound: float = 20.0) -> None:
    import urllib.error
    import urllib.request

    ends = time.monotonic() + bound
    while time.monotonic() < ends:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {bound} s")


# --- blackbox_exporter --------------------------------------------------------------------
_BB_RTT = re.compile(r'^probe_icmp_duration_seconds\{phase="rtt"\} (\S+)$', re.MULTILINE)
_BB_OK = re.compile(r"^probe_success (\S+)$", re.MULTILINE)


def run_blackbox(procs: Processes, addresses: list[str], count: int, spacing: float,
                 interval: float, window: float, warmup: float = 2.0) -> ProbeRun:
    """blackbox_exporter's icmp module, probed as Prometheus would: one HTTP /probe per echo,
    `count` per target per interval `spacing` apart (one echo per probe)."""
    run = ProbeRun("blackbox_exporter")
    binary = shutil.which("prometheus-blackbox-exporter")
    if binary is None:
        run.note = "not installed"
        return run
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "blackbox.yml"
        config.write_text("modules:\n  icmp:\n    prober: icmp\n    timeout: 2s\n"
                          "    icmp: {preferred_ip_protocol: ip4}\n")
        process = procs.spawn([binary, f"--config.file={config}",
                               f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"])
        try:
            _wait_http(f"http://127.0.0.1:{port}/-/healthy", process)

            def parse(address: str, body: str) -> bool:
                ok = _BB_OK.search(body)
                rtt = _BB_RTT.search(body)
                if ok and ok.group(1) == "1" and rtt:
                    run.rtts[address].append(float(rtt.group(1)))
                    return True
                return False

            def url(address: str) -> str:
                return f"http://127.0.0.1:{port}/probe?module=icmp&target={address}"

            events = schedule(addresses, count, spacing, interval)
            asyncio.run(drive(url, events[: max(1, len(events) // 20)], warmup, warmup,
                              lambda a, b: True))  # warm-up: connections, goroutines
            run.rtts.clear()
            cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
            sent, failed = asyncio.run(drive(url, events, interval, window, parse))
            run.cpu, run.wall = cpu_seconds(process.pid) - cpu0, time.monotonic() - wall0
            run.rss = rss_bytes(process.pid)
            run.work, run.failed = sent, failed
        finally:
            procs.stop(process)
    return run


# --- smokeping_prober ---------------------------------------------------------------------
def truth_buckets(delay: float) -> list[float]:
    """Histogram buckets: 0.1 ms steps from delay-0.5 ms to delay+2 ms, coarse elsewhere."""
    fine = [round(delay - 0.0005 + i * 0.0001, 6) for i in range(26)]
    coarse = [5e-05, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01]
    late = [delay + x for x in (0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)]
    return sorted(set(coarse + fine + late))


Histograms = dict[str, list[tuple[float, float]]]  # per address: (upper bound, cumulative)


def run_smokeping(procs: Processes, addresses: list[str], interval: float, window: float,
                  buckets: list[float], warmup: float) -> tuple[ProbeRun, Histograms]:
    """smokeping_prober pinging every address each `interval` (privileged ICMP); returns the
    run and, per address, its RTT histogram as (upper bound, cumulative count)."""
    run = ProbeRun("smokeping_prober")
    binary = shutil.which("prometheus-smokeping-prober")
    histograms: Histograms = defaultdict(list)
    if binary is None:
        run.note = "not installed"
        return run, histograms
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "smokeping.yml"
        config.write_text(json.dumps({"targets": [{
            "hosts": addresses, "interval": f"{interval:g}s", "network": "ip4",
            "protocol": "icmp"}]}))
        process = procs.spawn([binary, f"--config.file={config}", "--privileged",
                               f"--web.listen-address=127.0.0.1:{port}", "--log.level=error",
                               "--buckets=" + ",".join(f"{b:g}" for b in buckets)])
        try:
            _wait_http(f"http://127.0.0.1:{port}/metrics", process, bound=60)
            time.sleep(warmup)
            before = _smokeping_metrics(port)
            cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
            time.sleep(window)
            run.cpu, run.wall = cpu_seconds(process.pid) - cpu0, time.monotonic() - wall0
            run.rss = rss_bytes(process.pid)
            after = _smokeping_metrics(port)
        finally:
            procs.stop(process)
    run.work = int(sum(after["requests"].values()) - sum(before["requests"].values()))
    for (host, le), n in after["buckets"].items():
        histograms[host].append((le, n - before["buckets"].get((host, le), 0.0)))
    for cumulative in histograms.values():
        cumulative.sort()
    return run, histograms


def _smokeping_metrics(port: int) -> dict[str, dict[Any, float]]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as response:
        text = response.read().decode()
    out: dict[str, dict[Any, float]] = {"requests": {}, "buckets": {}}
    for line in text.splitlines():
        if line.startswith("smokeping_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            out["requests"][labels] = float(value)
        elif line.startswith("smokeping_response_duration_seconds_bucket{"):
            labels, value = line.rsplit(" ", 1)
            host = re.search(r'host="([^"]+)"', labels)
            le = re.search(r'le="([^"]+)"', labels)
            if host and le:
                out["buckets"][(host.group(1), float(le.group(1)))] = float(value)
    return out


def histogram_percentile(cumulative: list[tuple[float, float]], p: float) -> float:
    """Upper bound of the bucket holding the p-th percentile (cumulative counts)."""
    if not cumulative or cumulative[-1][1] <= 0:
        return float("nan")
    wanted = p / 100 * cumulative[-1][1]
    return next((le for le, n in cumulative if n >= wanted), float("inf"))


# --- icmplib (a fresh process) ------------------------------------------------------------
def run_icmplib(addresses: list[str], count: int, spacing: float, interval: float,
                rounds: int, concurrent: int) -> ProbeRun:
    """icmplib.async_multiping over the addresses, `rounds` times `interval` apart, in a
    fresh process (its CPU is the whole process's)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
        json.dump({"addresses": addresses, "count": count, "spacing": spacing,
                   "interval": interval, "rounds": rounds, "concurrent": concurrent}, spec)
        spec.flush()
        result = subprocess.run([sys.executable, __file__, "--icmplib", spec.name],
                                capture_output=True, text=True, cwd=str(ROOT),
                                timeout=rounds * interval * 4 + 600, check=False)
    run = ProbeRun("icmplib")
    if result.returncode != 0:
        run.note = f"failed: {result.stderr[-300:]}"
        return run
    data = json.loads(result.stdout.strip().splitlines()[-1])
    run.cpu, run.work, run.wall, run.failed = data["cpu"], data["sent"], data["wall"], data["lost"]
    run.rtts.update(data["rtts"])
    run.note = f"async_multiping, {concurrent} concurrent tasks"
    return run


async def _icmplib_worker(spec: dict[str, Any]) -> dict[str, Any]:
    import icmplib

    rtts: dict[str, list[float]] = defaultdict(list)
    sent = lost = 0
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    for k in range(spec["rounds"]):
        began = time.monotonic()
        hosts = await icmplib.async_multiping(
            spec["addresses"], count=spec["count"], interval=spec["spacing"], timeout=2,
            concurrent_tasks=spec["concurrent"], privileged=True)
        for host in hosts:
            sent += host.packets_sent
            lost += host.packets_sent - host.packets_received
            rtts[host.address] += [r / 1000 for r in host.rtts]
        if k + 1 < spec["rounds"]:
            await asyncio.sleep(max(0.0, spec["interval"] - (time.monotonic() - began)))
    return {"cpu": cpu_seconds() - cpu0, "wall": time.monotonic() - wall0, "sent": sent,
            "lost": lost, "rtts": rtts}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--icmplib":
        spec = json.loads(Path(sys.argv[2]).read_text())
        print(json.dumps(asyncio.run(_icmplib_worker(spec))))
