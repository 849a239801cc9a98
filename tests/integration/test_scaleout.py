"""Scale-out on existing engines, end to end on this machine.

Two `netwatch run --shard K/2` daemons poll the lab's city (126 kelurahan, each behind its
kecamatan's POP: 20 upstream groups, all on 127.x); a real Prometheus (Debian's, with the
retention flag deploy/ ships) scrapes both as job="netwatch" and remote_writes to Debian's
VictoriaMetrics. A query there must see every site exactly once, from the shard rendezvous
hashing gave it, and the canary from both.
Everything listens on free loopback ports with temporary data directories.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netwatch.daemon.inventory_file import read_inventory
from netwatch.inventory.shard import Shard, select
from netwatch.lab.plan import LabDevice, city
from netwatch.lab.ports import free_port
from tests.conftest import ROOT, program

pytestmark = pytest.mark.integration

SHARDS = 2
WAIT = 45.0  # bound of each wait; the whole test takes ~15 s


def lab_city() -> dict[str, Any]:
    """The lab's city (netwatch/lab/plan.py: every kelurahan of Bandar Lampung, a router and an
    access point each, behind its kecamatan's POP, all on 127.x) as upstreams and sites."""
    plan = city()

    def device(d: LabDevice) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": d.name, "role": d.role, "address": d.loopback}
        if d.parent:
            entry["parent"] = d.parent
        return entry

    return {
        "upstreams": [{"id": u.id, "name": u.name, "kecamatan": u.kecamatan,
                       "devices": [device(u.device)]} for u in plan.upstreams],
        "sites": [{"id": s.id, "name": s.name, "kecamatan": s.kecamatan, "upstream": s.upstream,
                   "devices": [device(d) for d in s.devices]} for s in plan.sites],
    }


class Stack:
    """Processes started by the test; all stopped (and their logs shown) at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        # last started first: Prometheus flushes its remote_write queue while VM still listens
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                print(f"{name} ignored SIGTERM for 15 s: killed")
                proc.kill()
                proc.wait(5)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n" + (self.workdir / f"{name}.log").read_text()[-1500:]
                         for name, _ in self.procs)

    def alive(self) -> None:
        for name, proc in self.procs:
            assert proc.poll() is None, f"{name} exited ({proc.returncode}):\n{self.logs()}"


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_until(stack: Stack, what: str, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT
    last: Any = None
    while time.monotonic() < deadline:
        stack.alive()
        try:
            last = probe()
        except OSError as exc:  # not listening yet
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {WAIT}s (last: {last})\n{stack.logs()}")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    for binary in ("victoria-metrics", "prometheus"):
        program(binary)
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def debian_prometheus_args() -> list[str]:
    text = (ROOT / "deploy/prometheus/prometheus.default").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("ARGS="))
    return line.split("=", 1)[1].strip('"').split()


def prometheus_config(shard_ports: list[int], vm_port: int) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with the shards as targets, fast intervals, and
    remote_write to VictoriaMetrics (rules and Alertmanager left out: not under test)."""
    config: dict[str, Any] = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="900ms", evaluation_interval="1s")
    config.pop("rule_files", None)
    config.pop("alerting", None)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "netwatch")
    job.update(scrape_interval="1s", scrape_timeout="900ms",
               static_configs=[{"targets": [f"127.0.0.1:{p}" for p in shard_ports]}])
    config["scrape_configs"] = [job]
    config["remote_write"] = [{"url": f"http://127.0.0.1:{vm_port}/api/v1/write",
                               "queue_config": {"batch_send_deadline": "500ms"}}]
    return config


def vm_query(port: int, query: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    body = http_json(url)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def test_two_shards_through_prometheus_into_victoriametrics(stack: Stack, tmp_path: Path) -> None:
    # the city: a shared sites file, and one config per shard (each its own listen address)
    plan = lab_city()
    (tmp_path / "sites.yml").write_text(yaml.safe_dump({"sites": plan["sites"]}))
    shard_ports = [free_port() for _ in range(SHARDS)]
    configs = []
    for k, port in enumerate(shard_ports, start=1):
        config = tmp_path / f"shard{k}.yml"
        config.write_text(yaml.safe_dump({
            "listen": f"127.0.0.1:{port}",
            "defaults": {"icmp": {"interval": "1s", "count": 1, "timeout": "500ms"},
                         "snmp": {"enabled": False}},
            "canaries": [{"name": "core", "address": "127.0.0.1"}],
            "upstreams": plan["upstreams"],
            "sites_files": ["sites.yml"]}))
        configs.append(config)
    whole = read_inventory(configs[0])
    expected = {k: set(select(whole, Shard(k, SHARDS)).sites) for k in range(1, SHARDS + 1)}
    assert all(expected.values()) and len(whole.sites) == len(plan["sites"]) >= 100

    vm_port, prom_port = free_port(), free_port()
    stack.start("victoria-metrics", [
        "victoria-metrics", f"-httpListenAddr=127.0.0.1:{vm_port}",
        f"-storageDataPath={tmp_path / 'vm-data'}", "-retentionPeriod=1",
        "-search.latencyOffset=1s", "-search.disableCache", "-loggerLevel=WARN"])
    for k, config in enumerate(configs, start=1):
        stack.start(f"netwatch-{k}", [sys.executable, "-m", "netwatch", "--log-format", "json",
                                      "run", "--shard", f"{k}/{SHARDS}", str(config)])
    prometheus_yml = yaml.safe_dump(prometheus_config(shard_ports, vm_port))
    (tmp_path / "prometheus.yml").write_text(prometheus_yml)
    stack.start("prometheus", [
        "prometheus", *debian_prometheus_args(), f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}"])

    # the Prometheus of deploy/ keeps at least 35 days
    info = wait_until(stack, "Prometheus up", lambda: http_json(
        f"http://127.0.0.1:{prom_port}/api/v1/status/runtimeinfo"))
    assert info["data"]["storageRetention"] == "40d"

    # every site once, from the shard that owns its group
    query = 'count by (site, instance) (netwatch_up{job="netwatch", probe="icmp", role="router"})'

    def all_sites() -> list[dict[str, Any]]:
        result = vm_query(vm_port, query)
        return result if len({r["metric"]["site"] for r in result}) == len(whole.sites) else []

    result = wait_until(stack, "every site in VictoriaMetrics", all_sites)
    assert all(r["value"][1] == "1" for r in result), result
    by_site = {r["metric"]["site"]: r["metric"]["instance"] for r in result}
    assert len(result) == len(by_site), "a site came from two shards"
    for k, port in enumerate(shard_ports, start=1):
        assert {s for s, i in by_site.items() if i == f"127.0.0.1:{port}"} == expected[k]

    # site-level series too: one per site across the shards; the canary from every shard
    info_counts = vm_query(vm_port, 'count by (site) (netwatch_site_info{job="netwatch"})')
    assert {r["metric"]["site"]: r["value"][1] for r in info_counts} == \
        dict.fromkeys(whole.sites, "1")
    canary = vm_query(vm_port, 'count(netwatch_canary_up{job="netwatch", canary="core"})')
    assert canary and canary[0]["value"][1] == str(SHARDS)
    # and the external labels the global view deduplicates on
    labels = vm_query(vm_port,
                      'count by (city, prometheus_replica) (netwatch_up{job="netwatch"})')
    assert [(r["metric"].get("city"), r["metric"].get("prometheus_replica"))
            for r in labels] == [("bandarlampung", "prom-1")]
    print(f"scale-out: {len(whole.sites)} sites, shard sizes "
          f"{[len(expected[k]) for k in sorted(expected)]}, each seen once in VictoriaMetrics")
