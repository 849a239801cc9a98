"""The lab: a simulated city on this machine, for `netwatch demo`, the tests and benchmarks.

    with Lab(default_scenario(city())) as lab:      # zones, agents, script, config written
        lab.config_path                              # point a Daemon at it
        lab.set_reachable("18.71.01.1003", False)    # tests: take a zone's site down now
    # namespaces, nftables rules, qdiscs, processes: gone, also when the body raised

Healthy devices answer ICMP on loopback and SNMP from one snmpsim process serving every
device's own copy of a real recording (its own community, counters growing at its own rate).
Devices in trouble live in zones (network namespaces, root only) with their own agents: the
zones whose readings change while the lab runs (netwatch.lab.stories: a fading link, a weak
LTE site, a power cut, a full flash; and reboots) are served by the lab's own agent
(netwatch.lab.responder), the others by snmpsim. A script thread plays the timed trouble
(flapping, reboots, stories). Without root, or without a tool, the lab says which trouble it
cannot play and runs the rest on loopback.

The daemon's config it writes names a thresholds file of the lab's (`lab-thresholds.yml`):
baselines in buckets of one SNMP interval, known after three, so a link has its normal
within minutes instead of half a day.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
import yaml

from netwatch.lab import netns
from netwatch.lab.agents import RECORDINGS, Agent, AgentSet, grow, prepare_recordings
from netwatch.lab.plan import RESPONDER_KINDS, LabDevice, LabPlan
from netwatch.lab.stories import Step, story
from netwatch.lab.zones import LOSSY_KINDS, Zone, missing_tools
from netwatch.snmp.snmprec import Record, read_records

log = structlog.get_logger("netwatch.lab")

SNMP_PORT = 1161  # unprivileged, on every simulated device's address
THRESHOLDS_FILE = "lab-thresholds.yml"  # beside the config: the lab's baselines
LAB_NETNS_TAG = "lab"
_UPTIME_OIDS = {(1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 2, 1, 25, 1, 1, 0),
                (1, 3, 6, 1, 6, 3, 10, 2, 1, 3, 0)}


def community(device: LabDevice) -> str:
    """Each simulated device answers its own community (snmpsim picks data by community)."""
    owner = device.owner.replace(".", "-") or "city"
    return f"{owner}-{device.name}"


def traffic_rate(device: LabDevice) -> int:
    """A plausible, stable per-device traffic rate: 20 kB/s .. 1 MB/s."""
    return 20_000 + zlib.crc32(community(device).encode()) % 980_000


def composed(recording: str) -> list[Record]:
    """A recording's records; `a+b`: a's, with the rows of b that a lacks (the lab's story
    routers: a real router's recording with a real radio's or LTE modem's rows)."""
    records: dict[tuple[int, ...], Record] = {}
    for name in recording.split("+"):
        for record in read_records(RECORDINGS / f"{name}.snmprec"):
            records.setdefault(record[0], record)
    return list(records.values())


class Lab:
    def __init__(self, plan: LabPlan, workdir: Path | str | None = None,
                 listen: str = "127.0.0.1:9430", use_namespaces: bool | None = None) -> None:
        self.plan = plan
        self.listen = listen
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="netwatch-lab-"))
        if use_namespaces is None:
            use_namespaces = netns.available() is None
        self.use_namespaces = use_namespaces
        self.agents = AgentSet(self.workdir / "agents")
        self.zones: dict[str, Zone] = {}
        self.addresses: dict[tuple[str, str], str] = {}
        self.device_agents: dict[tuple[str, str], Agent] = {}
        self.skipped: list[str] = []  # trouble this machine cannot play, and why
        self.config_path = self.workdir / "netwatch.yml"
        self._stop = threading.Event()
        self._script: threading.Thread | None = None
        self.events: list[tuple[float, str]] = []  # (time, what the script did)
        self._steps: list[tuple[float, str, Step]] = []  # (monotonic time, zone, step) to play
        self._steps_lock = threading.Lock()
        self._started_at = time.time()
        self._namespaces: list[str] = []  # every namespace this lab made (leftover check)

    # --- lifecycle ------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._decide_playable()
            self._make_zones()
            self._start_agents()
            self.write_config()
            pace = self.plan.timing.snmp_interval
            for trouble in self.plan.troubles:
                if trouble.start is not None and trouble.zone in self.zones \
                        and story(trouble.kind, pace):
                    self._plan_story(trouble.zone, trouble.start)
            if any(t.kind in ("flapping", "rebooting") or story(t.kind, pace)
                   for t in self.plan.troubles):
                self._script = threading.Thread(target=self._run_script, name="lab-script",
                                                daemon=True)
                self._script.start()
        except BaseException:
            self.stop()
            raise
        log.info("lab_started", sites=len(self.plan.sites), zones=len(self.zones),
                 skipped=self.skipped)

    def stop(self) -> None:
        self._stop.set()
        if self._script is not None:
            self._script.join(timeout=10)
        self.agents.close()
        for zone in self.zones.values():
            zone.delete()
        self.zones.clear()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """What the lab would have left behind (should be empty after stop)."""
        existing = set(netns.existing()) if self._namespaces else set()
        left = [f"namespace {n}" for n in self._namespaces if n in existing]
        left += [f"process {a.kind} pid {a.pid}" for a in self.agents.agents
                 if a.process is not None and a.process.poll() is None]
        return left

    # --- set-up -----------------------------------------------------------------------
    def _decide_playable(self) -> None:
        troubles = list(self.plan.troubles)
        reason = None if self.use_namespaces else (netns.available() or "namespaces disabled")
        missing = missing_tools(troubles) if reason is None else []
        playable = []
        for trouble in troubles:
            needs = ({"nft"} if trouble.kind in LOSSY_KINDS else
                     {"tc", "snmpd"} if trouble.kind == "saturated" else set())
            lacking = sorted(needs & set(missing))
            if reason is not None:
                self.skipped.append(f"{trouble.kind} on {', '.join(trouble.sites)}: {reason}")
            elif lacking:
                self.skipped.append(f"{trouble.kind} on {', '.join(trouble.sites)}: "
                                    f"needs {', '.join(lacking)}")
            else:
                playable.append(trouble.zone)
        if len(playable) != len(troubles):  # unplayable trouble: those devices stay healthy
            def keep(d: LabDevice) -> LabDevice:
                return d if d.zone in playable else replace(d, zone=None)
            self.plan = replace(
                self.plan,
                sites=tuple(replace(s, devices=tuple(keep(d) for d in s.devices))
                            for s in self.plan.sites),
                upstreams=tuple(replace(u, device=keep(u.device)) for u in self.plan.upstreams),
                troubles=tuple(t for t in troubles if t.zone in playable))

    def _make_zones(self) -> None:
        for device in self.plan.devices():
            if device.zone is None:
                self.addresses[(device.owner, device.name)] = device.loopback
        by_zone: dict[str, list[LabDevice]] = {}
        for device in self.plan.devices():
            if device.zone:
                by_zone.setdefault(device.zone, []).append(device)
        for trouble in self.plan.troubles:
            devices = by_zone.get(trouble.zone, [])
            zone = Zone.create(trouble, len(devices))
            self.zones[trouble.zone] = zone
            self._namespaces.append(zone.namespace.name)
            for device, address in zip(devices, zone.namespace.addresses, strict=False):
                self.addresses[(device.owner, device.name)] = address

    def _records(self, device: LabDevice) -> list[Record]:
        return grow(composed(device.recording), traffic_rate(device))

    def _start_agents(self) -> None:
        """One snmpsim for the loopback devices; per zone, agents inside the namespace."""
        groups: dict[str, list[LabDevice]] = {}
        for device in self.plan.devices():
            groups.setdefault(device.zone or "", []).append(device)
        for zone_name, devices in groups.items():
            zone = self.zones.get(zone_name)
            kind = zone.trouble.kind if zone else "healthy"
            # silent zones get their agents too: silence is ICMP's (the daemon's ICMP gate
            # stops SNMP polls of a down device), and a zone a test brings back must answer
            # SNMP like a healthy site, not raise NetwatchSnmpFailing
            if kind == "saturated":
                assert zone is not None
                devices = self._start_snmpd_router(zone, devices)
            if kind in RESPONDER_KINDS:
                assert zone is not None
                # the lab's own start is not a reboot (it would raise NetwatchDeviceRebooted):
                # the devices keep their recorded uptime until the script reboots them
                self._start_responder(zone, devices)
                continue
            if devices:
                self._start_sim(zone_name or "loopback", devices, zone)

    def _start_sim(self, name: str, devices: list[LabDevice], zone: Zone | None) -> Agent:
        data = prepare_recordings([], self.workdir / "data" / name, extra={
            community(d): self._records(d) for d in devices})
        addresses = [self.addresses[(d.owner, d.name)] for d in devices]
        agent = self.agents.snmpsim(data, addresses, SNMP_PORT, community(devices[0]),
                                    namespace=zone.namespace if zone else None)
        for device in devices:
            self.device_agents[(device.owner, device.name)] = agent
        return agent

    def _start_responder(self, zone: Zone, devices: list[LabDevice]) -> Agent:
        data = prepare_recordings([], self.workdir / "data" / zone.name, extra={
            community(d): self._records(d) for d in devices})
        agent = self.agents.responder(data, [self.addresses[(d.owner, d.name)]
                                             for d in devices], SNMP_PORT,
                                      community(devices[0]), namespace=zone.namespace)
        for device in devices:
            self.device_agents[(device.owner, device.name)] = agent
        return agent

    def _start_snmpd_router(self, zone: Zone, devices: list[LabDevice]) -> list[LabDevice]:
        """The saturated site's router: Debian snmpd on the namespace's real interfaces."""
        router = next(d for d in devices if d.role == "router")
        address = self.addresses[(router.owner, router.name)]
        self.device_agents[(router.owner, router.name)] = self.agents.snmpd(
            address, SNMP_PORT, community=community(router), namespace=zone.namespace)
        return [d for d in devices if d is not router]

    # --- the daemon's config -------------------------------------------------------------
    def device_config(self, device: LabDevice) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": device.name, "role": device.role,
                                 "address": self.addresses[(device.owner, device.name)]}
        if device.parent:
            entry["parent"] = device.parent
        if device.uplink:
            zone = self.zones.get(device.zone or "")
            ifname = zone.namespace.ns_if if zone and zone.trouble.kind == "saturated" else \
                device.uplink
            entry["uplink"] = {"ifname": ifname, "capacity": device.capacity} if device.capacity \
                else {"ifname": ifname}
        entry["snmp"] = {"auth": community(device)}
        if device.per_peer:
            entry["radio"] = {"per_peer": True}
        return entry

    def config(self) -> dict[str, Any]:
        t = self.plan.timing
        devices = self.plan.devices()
        return {
            "listen": self.listen,
            "thresholds": THRESHOLDS_FILE,
            "timezone": "Asia/Jakarta",
            "history": {"path": str(self.workdir / "history.sqlite")},  # gone with the lab
            "defaults": {
                "icmp": {"interval": t.icmp_interval, "count": t.icmp_count,
                         "spacing": t.icmp_spacing, "timeout": t.icmp_timeout},
                "snmp": {"interval": t.snmp_interval, "timeout": t.snmp_timeout, "retries": 1,
                         "port": SNMP_PORT, "profile": "auto"},
                "state": {"down_after": t.down_after, "up_after": t.up_after},
            },
            "auths": {community(d): {"version": "2c", "community": community(d)}
                      for d in devices},
            "canaries": [{"name": "core", "address": self.addresses[("", "core")]}],
            "upstreams": [{"id": u.id, "name": u.name, "kecamatan": u.kecamatan,
                           "devices": [self.device_config(u.device)]}
                          for u in self.plan.upstreams],
            "sites": [self._site_config(s) for s in self.plan.sites],
        }

    def _site_config(self, site: Any) -> dict[str, Any]:
        entry = {"id": site.id, "name": site.name, "kecamatan": site.kecamatan,
                 "location": {"lat": round(site.lat, 6), "lon": round(site.lon, 6)},
                 "isp": site.isp, "upstream": site.upstream, "sla_target": 0.99,
                 "devices": [self.device_config(d) for d in site.devices]}
        if site.power_feed:
            entry["power_feed"] = site.power_feed
        if site.id in self.plan.maintenance:
            entry["maintenance"] = [{"start": self.started.isoformat(), "duration": "2h",
                                     "reason": "lab: scheduled work"}]
        return entry

    @property
    def started(self) -> datetime:
        return datetime.fromtimestamp(self._started_at, UTC).replace(microsecond=0)

    def thresholds(self) -> dict[str, Any]:
        """The lab's thresholds over the packaged ones: baselines within minutes."""
        return {"baselines": {"bucket": self.plan.timing.snmp_interval, "window_days": 1,
                              "min_buckets": 3}}

    def write_config(self) -> Path:
        (self.workdir / THRESHOLDS_FILE).write_text(yaml.safe_dump(self.thresholds()))
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        return self.config_path

    # --- control ---------------------------------------------------------------------------
    def zone_of(self, site_id: str) -> Zone:
        for zone in self.zones.values():
            if site_id in zone.trouble.sites:
                return zone
        raise KeyError(f"site {site_id} is not in a trouble zone")

    def set_reachable(self, site_id: str, reachable: bool) -> None:
        """Switch a zone's kernel echo (tests: a site goes down or comes back now)."""
        self.zone_of(site_id).set_echo(reachable)
        self.events.append((time.time(), f"{site_id} {'reachable' if reachable else 'silent'}"))

    # --- the script ----------------------------------------------------------------------
    def begin(self, site_id: str, after: float = 0.0) -> None:
        """Tests: the story of the site's zone begins `after` seconds from now."""
        self._plan_story(self.zone_of(site_id).name, after)

    def _plan_story(self, zone: str, after: float) -> None:
        trouble = self.zones[zone].trouble
        start = time.monotonic() + after
        with self._steps_lock:
            self._steps += [(start + step.at, zone, step)
                            for step in story(trouble.kind, self.plan.timing.snmp_interval)]
            self._steps.sort(key=lambda s: s[0])

    def reboot_blackout(self) -> float:
        """How long a rebooting device is dark: enough rounds for its site to go down."""
        timing = self.plan.timing
        return (timing.down_after + 1.5) * timing.icmp_interval

    def _run_script(self) -> None:
        """Flapping zones toggle every half period; rebooting devices restart every period
        (dark for reboot_blackout(), then back with their uptime from zero); stories play
        their steps."""
        next_at: dict[str, float] = {}
        now = time.monotonic()
        for zone in self.zones.values():
            if zone.trouble.kind == "flapping":
                next_at[zone.name] = now + zone.trouble.period / 2
            elif zone.trouble.kind == "rebooting":
                next_at[zone.name] = now + zone.trouble.period
        while not self._stop.wait(0.25):
            now = time.monotonic()
            for name, when in list(next_at.items()):
                if now < when:
                    continue
                zone = self.zones[name]
                if zone.trouble.kind == "flapping":
                    zone.set_echo(not zone.echo_on)
                    next_at[name] = now + zone.trouble.period / 2
                    state = "on" if zone.echo_on else "off"
                    self.events.append((time.time(), f"{name} echo {state}"))
                elif zone.echo_on:
                    self._power(zone, False)
                    next_at[name] = now + self.reboot_blackout()
                else:
                    self._power(zone, True, rebooted=True)
                    self.events.append((time.time(), f"{zone.name} rebooted"))
                    next_at[name] = now + zone.trouble.period
            with self._steps_lock:
                due = [s for s in self._steps if s[0] <= now]
                self._steps = [s for s in self._steps if s[0] > now]
            for _, name, step in due:
                self._play(self.zones[name], step)

    def _power(self, zone: Zone, on: bool, rebooted: bool = False) -> None:
        """A zone's devices off (agents silent, echo off) or on again (after a reboot: their
        uptime and counters from zero)."""
        for site_id in zone.trouble.sites:
            for device in self.plan.site(site_id).devices:
                agent = self.device_agents.get((device.owner, device.name))
                if agent is not None and agent.control is not None:
                    agent.control.send(community(device), silent=not on, reboot=rebooted)
        zone.set_echo(on)

    def _play(self, zone: Zone, step: Step) -> None:
        site = self.plan.site(zone.trouble.sites[0])
        device = next(d for d in site.devices if d.name == step.device)
        agent = self.device_agents.get((device.owner, device.name))
        if (step.set or step.silent is not None) and agent is not None \
                and agent.control is not None:
            agent.control.send(community(device), set=[list(s) for s in step.set],
                               **({} if step.silent is None else {"silent": step.silent}))
        if step.echo is not None:
            zone.set_echo(step.echo)
        if step.loss is not None:
            zone.set_loss(step.loss)
        if step.blast:
            zone.start_blast()
        self.events.append((time.time(), f"{zone.name} {step}"))
