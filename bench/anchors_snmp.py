"""SNMP anchors on netwatch's own requests: prometheus-snmp-exporter (0.21) with a module
generated from the requests of a steady-state netwatch poll (bench/snmp.py
`steady_requests`), and net-snmp's CLI sending those requests one command each
(snmpget / snmpbulkget). Agents and devices come from bench/snmp.py.

    module = exporter_module(requests)      # {"get": [...], "walk": [...], "metrics": [...]}
    run = run_snmp_exporter(procs, module, endpoints, rounds=3)   # one ProbeRun per round
    run = run_cli(requests, endpoints[:200], rounds=3)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.anchors import ProbeRun, _rusage_run, _wait_http, drive
from bench.common import Processes, cpu_seconds, rss_bytes
from netwatch.lab.ports import free_port

Request = tuple[str, list[str], int]  # (get | bulk | next, dotted OIDs, max-repetitions)
Endpoint = tuple[str, int]
COMMUNITY = "public"


def _name(oid: str) -> str:
    return "oid_" + oid.replace(".", "_")


def exporter_module(requests: list[Request]) -> dict[str, Any]:
    """An snmp_exporter 0.21 module asking for exactly these OIDs: GETs as `get`, the
    columns of GETBULKs as `walk` (snmp_exporter walks each column on its own), with
    max-repetitions as netwatch's (rows + 1: one request ends a column)."""
    gets = [oid for kind, oids, _ in requests if kind == "get" for oid in oids]
    walks = [oid for kind, oids, _ in requests if kind in ("bulk", "next") for oid in oids]
    reps = max((r for kind, _, r in requests if kind == "bulk"), default=25)
    metrics: dict[str, dict[str, Any]] = {}
    for oid in gets:
        base, _, last = oid.rpartition(".")
        if last == "0":  # a scalar
            metrics[base] = {"name": _name(base), "oid": base, "type": "gauge"}
        else:  # one row of a table (a filtered row netwatch GETs)
            metrics[base] = {"name": _name(base), "oid": base, "type": "gauge",
                             "indexes": [{"labelname": "index", "type": "gauge"}]}
    for oid in walks:
        metrics[oid] = {"name": _name(oid), "oid": oid, "type": "gauge",
                        "indexes": [{"labelname": "ifIndex", "type": "gauge"}]}
    return {"netwatch": {"version": 2, "auth": {"community": COMMUNITY},
                         "max_repetitions": reps, "retries": 1, "timeout": "2s",
                         "get": gets, "walk": walks, "metrics": list(metrics.values())}}


def run_snmp_exporter(procs: Processes, module: dict[str, Any], endpoints: list[Endpoint],
                      rounds: int, agents_cpu: Any) -> tuple[list[ProbeRun], str]:
    """Scrape /snmp once per device per round (up to 64 at once, like a Prometheus with
    many targets); one ProbeRun per measured round, after a warm-up round."""
    binary = shutil.which("prometheus-snmp-exporter")
    if binary is None:
        return [], "not installed"
    port = free_port()
    runs: list[ProbeRun] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "snmp.yml"
        config.write_text(json.dumps(module, indent=1))  # YAML is a superset of JSON
        process = procs.spawn([binary, f"--config.file={config}", "--log.level=error",
                               f"--web.listen-address=127.0.0.1:{port}"])
        try:
            _wait_http(f"http://127.0.0.1:{port}/", process)
            for k in range(rounds + 1):
                run = ProbeRun("snmp_exporter")
                values = [0]

                def parse(address: str, body: str, values: list[int] = values) -> bool:
                    count = sum(1 for line in body.splitlines()
                                if line.startswith("oid_"))
                    values[0] += count
                    return count > 0

                def url(address: str) -> str:
                    host, _, port_text = address.rpartition(":")
                    return (f"http://127.0.0.1:{port}/snmp?module=netwatch&target="
                            f"{host}:{port_text}")

                events = [(0.0, f"{a}:{p}") for a, p in endpoints]
                cpu0, agents0, wall0 = cpu_seconds(process.pid), agents_cpu(), time.monotonic()
                done, failed = asyncio.run(drive(url, events, 1e9, 0.001, parse, concurrency=64))
                run.cpu, run.wall = cpu_seconds(process.pid) - cpu0, time.monotonic() - wall0
                run.rss, run.work, run.failed = rss_bytes(process.pid), done, failed
                run.note = f"{values[0] / max(1, done):.0f} series per poll; agents " \
                           f"{(agents_cpu() - agents0) / max(1, done) * 1000:.2f} ms per poll"
                if k:  # the first round warms up connections and goroutines
                    runs.append(run)
        finally:
            procs.stop(process)
    return runs, ""


def cli_commands(requests: list[Request], endpoint: Endpoint) -> list[list[str]]:
    """net-snmp commands sending the same PDUs as one netwatch poll."""
    address, port = endpoint
    common = ["-v2c", "-c", COMMUNITY, "-m", "", "-On", "-t", "2", "-r", "1",
              f"udp:{address}:{port}"]
    out = []
    for kind, oids, reps in requests:
        if kind == "get":
            out.append(["snmpget", *common, *oids])
        elif kind == "bulk":
            out.append(["snmpbulkget", "-Cn0", f"-Cr{reps}", *common, *oids])
        else:
            out.append(["snmpgetnext", *common, *oids])
    return out


def run_cli(requests: list[Request], endpoints: list[Endpoint], rounds: int,
            parallel: int = 4) -> list[ProbeRun]:
    """Every device polled with the CLI once per round (`parallel` commands at once); CPU
    of every command from its rusage."""
    runs = []
    for _ in range(rounds):
        run = ProbeRun("net-snmp CLI")
        started = time.monotonic()
        jobs = [argv for endpoint in endpoints for argv in cli_commands(requests, endpoint)]
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            for cpu, out, _err in pool.map(lambda argv: _rusage_run(argv, 30), jobs):
                run.cpu += cpu
                run.failed += 0 if out.strip() else 1
        run.wall = time.monotonic() - started
        run.work = len(endpoints)
        run.note = f"{len(jobs) // max(1, len(endpoints))} commands per poll"
        runs.append(run)
    return runs
