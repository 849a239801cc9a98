"""The high-availability stack of deploy/ on loopback ports, for the failover tests and
benchmarks: a Prometheus pair, a two-member Alertmanager cluster and VictoriaMetrics, all
Debian's packages, configured from the shipped files (deploy/prometheus/prometheus-ha.yml,
deploy/alertmanager/prometheus-alertmanager.default, deploy/victoria-metrics/
victoria-metrics.default) with only addresses, data directories and test timings replaced.

Both Prometheus servers scrape every netwatch twin (`targets`: replica label -> host:port),
evaluate the rules rendered through a timing profile, send every alert to both
Alertmanagers and remote_write everything to VictoriaMetrics. The Alertmanagers gossip on
loopback ports; every receiver is a webhook into this object, which records each
notification (`Notification.payload["externalURL"]` names the member that sent it). Nothing
leaves the machine. A single Prometheus and Alertmanager: netwatch.lab.stack.PromStack.

    async with HaStack(tmp_path, {"a": "127.0.0.1:9431", "b": "127.0.0.1:9432"}) as ha:
        await ha.wait_for(lambda: ha.firing("noc-telegram", "NetwatchSiteDown"), 60)
        ha.kill(ha.alertmanager_names[0])
"""

from __future__ import annotations

import json
import re
import shlex
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from netwatch.generators import rules as alerting
from netwatch.generators.rules import CHECKOUT
from netwatch.lab.ports import free_port
from netwatch.lab.stack import (
    ALERTMANAGER,
    PROMETHEUS,
    Notification,
    ProcessStack,
)

VICTORIA_METRICS = "victoria-metrics"
DEPLOY = CHECKOUT / "deploy"
PROMETHEUS_HA = DEPLOY / "prometheus" / "prometheus-ha.yml"
PROMETHEUS_DEFAULT = DEPLOY / "prometheus" / "prometheus.default"
ALERTMANAGER_DEFAULT = DEPLOY / "alertmanager" / "prometheus-alertmanager.default"
VICTORIA_METRICS_DEFAULT = DEPLOY / "victoria-metrics" / "victoria-metrics.default"
PAIR = ("prom-a", "prom-b")
CLUSTER = ("am-a", "am-b")
# How long a second member waits for the first to notify before it notifies itself. The
# default (15s) only delays the takeover; gossip on loopback takes milliseconds.
PEER_TIMEOUT = "5s"


def default_args(path: Path) -> list[str]:
    """The flags of a Debian /etc/default file's ARGS="..." line."""
    match = re.search(r'^ARGS="([^"]*)"', path.read_text(encoding="utf-8"), re.M)
    if match is None:
        raise ValueError(f"{path}: no ARGS= line")
    return shlex.split(match.group(1))


def with_flags(args: list[str], values: Mapping[str, str]) -> list[str]:
    """`args` with each flag in `values` set to its value (removed when the value is empty,
    added when missing); prefixes as written (`--` or `-`)."""
    out, seen = [], set()
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in values:
            if name not in seen and values[name]:
                out.append(f"{name}={values[name]}")
            seen.add(name)
        else:
            out.append(arg)
    out += [f"{name}={value}" for name, value in values.items() if name not in seen and value]
    return out


class HaStack(ProcessStack):
    def __init__(self, workdir: Path, targets: Mapping[str, str], profile: str = "test",
                 scrape_interval: str = "1s") -> None:
        super().__init__(workdir)
        self.targets = dict(targets)  # replica label -> host:port of that netwatch twin
        self.profile = profile
        self.scrape_interval = scrape_interval
        self.prometheus_urls: dict[str, str] = {}
        self.alertmanager_urls: dict[str, str] = {}
        self.vm_url = ""

    @property
    def alertmanager_names(self) -> list[str]:
        return list(self.alertmanager_urls)

    async def _start(self) -> None:
        self._start_victoria_metrics()
        hook = free_port()
        await self._start_webhook(hook)
        self._start_alertmanagers(f"http://127.0.0.1:{hook}/hook")
        self._start_prometheus_pair()
        for url in [self.vm_url + "/health", *(u + "/-/ready" for u in
                                              [*self.alertmanager_urls.values(),
                                               *self.prometheus_urls.values()])]:
            await self._wait_ready(url)

    def _start_victoria_metrics(self) -> None:
        port = free_port()
        self.vm_url = f"http://127.0.0.1:{port}"
        args = with_flags(default_args(VICTORIA_METRICS_DEFAULT), {
            "-storageDataPath": str(self.workdir / "vm-data"),
            "-dedup.minScrapeInterval": self.scrape_interval,  # = the scrape interval, as shipped
            "-httpListenAddr": f"127.0.0.1:{port}",
            "-search.latencyOffset": "1s",  # serve samples a second old (default 30s)
            "-search.disableCache": "true",
            "-loggerLevel": "WARN"})
        self._spawn("victoria-metrics", [VICTORIA_METRICS, *args])

    def _start_alertmanagers(self, hook: str) -> None:
        config = alerting.alertmanager_config(hook, profile=self.profile)
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        web_ports = {name: free_port() for name in CLUSTER}
        gossip = {name: free_port() for name in CLUSTER}
        for name in CLUSTER:
            peers = [f"127.0.0.1:{gossip[other]}" for other in CLUSTER if other != name]
            url = f"http://127.0.0.1:{web_ports[name]}"
            self.alertmanager_urls[name] = url
            args = with_flags(default_args(ALERTMANAGER_DEFAULT), {
                "--cluster.listen-address": f"127.0.0.1:{gossip[name]}",
                "--cluster.peer": peers[0],
                "--cluster.peer-timeout": PEER_TIMEOUT})
            self._spawn(name, [
                ALERTMANAGER, *args, f"--config.file={self.workdir / 'alertmanager.yml'}",
                f"--storage.path={self.workdir / name}",
                f"--web.listen-address=127.0.0.1:{web_ports[name]}",
                f"--web.external-url={url}"])

    def prometheus_config(self, replica: str, alertmanagers: list[str],
                          rule_files: list[str]) -> dict[str, Any]:
        """prometheus-ha.yml for the pair member `replica`, with loopback addresses, this
        stack's intervals and rules; the relabelling that keeps the twins apart and the pair
        together is kept as shipped."""
        config: dict[str, Any] = yaml.safe_load(PROMETHEUS_HA.read_text(encoding="utf-8"))
        interval = self.scrape_interval
        config["global"].update(scrape_interval=interval, scrape_timeout=interval,
                                evaluation_interval=interval)
        config["global"]["external_labels"]["prometheus_replica"] = replica
        config["rule_files"] = rule_files
        config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": alertmanagers}]
        job = next(j for j in config["scrape_configs"] if j["job_name"] == "netwatch")
        labels = {c["labels"]["replica"]: c["labels"] for c in job["static_configs"]}
        job.update(scrape_interval=interval, scrape_timeout=interval, static_configs=[
            {"targets": [target], "labels": {**labels.get(twin, {}), "replica": twin}}
            for twin, target in self.targets.items()])
        config["scrape_configs"] = [job]
        (write,) = config["remote_write"]
        write["url"] = f"{self.vm_url}/api/v1/write"
        write["queue_config"] = {**write.get("queue_config", {}), "batch_send_deadline": "500ms"}
        return config

    def _start_prometheus_pair(self) -> None:
        rules = [str(p) for p in alerting.write_rules(self.workdir / "rules", self.profile)]
        managers = [u.removeprefix("http://") for u in self.alertmanager_urls.values()]
        for name in PAIR:
            port = free_port()
            self.prometheus_urls[name] = f"http://127.0.0.1:{port}"
            path = self.workdir / f"{name}.yml"
            path.write_text(yaml.safe_dump(self.prometheus_config(name, managers, rules)))
            self._spawn(name, [
                PROMETHEUS, *default_args(PROMETHEUS_DEFAULT), f"--config.file={path}",
                f"--storage.tsdb.path={self.workdir / (name + '-data')}",
                f"--web.listen-address=127.0.0.1:{port}"])

    def _stop_order(self) -> list[str]:
        # Prometheus first, so it flushes its remote_write queue while VictoriaMetrics listens
        order = [*PAIR, *CLUSTER, "victoria-metrics"]
        return sorted(self.processes, key=order.index)

    def kill(self, name: str) -> None:
        """SIGKILL one process of the stack (a crash: no shutdown, no goodbye to the peers)."""
        proc = self.processes[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    @staticmethod
    def sender(notification: Notification) -> str:
        """The Alertmanager that sent a notification (its --web.external-url)."""
        return str(notification.payload.get("externalURL", ""))

    async def cluster_ready(self) -> bool:
        """Every running Alertmanager has settled in one cluster of all running members."""
        running = [n for n in self.alertmanager_names if self.processes[n].poll() is None]
        for name in running:
            status = await self.get(f"{self.alertmanager_urls[name]}/api/v2/status")
            cluster = status.get("cluster", {})
            if cluster.get("status") != "ready" or len(cluster.get("peers") or []) != len(running):
                return False
        return True

    @staticmethod
    def duplicates(notifications: list[Notification]) -> list[Notification]:
        """Notifications that repeat an earlier one: the same receiver, alert group and alerts
        in the same status (what a cluster must never send twice; group updates differ)."""
        seen: set[tuple[object, ...]] = set()
        repeated = []
        for n in notifications:
            alerts = tuple(sorted((a.get("fingerprint", ""), a.get("status", ""))
                                  for a in n.payload.get("alerts", [])))
            key = (n.receiver, n.payload.get("groupKey"), alerts)
            if key in seen:
                repeated.append(n)
            seen.add(key)
        return repeated

    # --- queries ------------------------------------------------------------------------------
    @staticmethod
    async def get(url: str, **params: str) -> Any:
        async with aiohttp.ClientSession() as session, \
                session.get(url, params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def query(self, base: str, expr: str) -> list[dict[str, Any]]:
        """An instant query against a Prometheus of the pair or VictoriaMetrics (`base` URL)."""
        body = await self.get(f"{base}/api/v1/query", query=expr)
        return list(body["data"]["result"])

    async def alerts_in(self, alertmanager: str) -> list[dict[str, Any]]:
        """The alerts an Alertmanager of the cluster holds (API v2)."""
        return list(await self.get(f"{self.alertmanager_urls[alertmanager]}/api/v2/alerts"))

    async def export(self, match: str, start: float) -> list[dict[str, Any]]:
        """Every raw sample VictoriaMetrics holds for `match` since `start` (Unix time):
        [{"metric": {...}, "values": [...], "timestamps": [ms, ...]}], after deduplication."""
        async with aiohttp.ClientSession() as session, session.get(
                f"{self.vm_url}/api/v1/export",
                params={"match[]": match, "start": str(int(start))}) as response:
            response.raise_for_status()
            text = await response.text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]
