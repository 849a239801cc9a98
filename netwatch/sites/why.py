"""The site engine's side that says why: readings, baselines, and the series they feed.

`SiteEngine` owns one `Why`. After every poll it hands the poll over (`observe`): an SNMP
poll's readings are kept (netwatch.sites.readings) and its baselined values observed, a root
or upstream device's ICMP round adds its median RTT to that device's RTT baseline
(netwatch.sites.baseline). A reboot the poll reveals is returned, so the engine can count the
site transitions it explains. `explain` turns a site's facts into a Cause with the thresholds
file's rules (netwatch.sites.causes). The baselines of the series that have a catalog family
(signal, CCQ, RSRP, SINR, RTT) are exported per device, re-rendered when a bucket closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from statistics import median

import structlog

from netwatch.base.catalog import METRICS
from netwatch.base.exposition import Family, MetricStore, fmt, label_text
from netwatch.config.thresholds import BaselineSettings, CauseRule, ThresholdsFile
from netwatch.icmp.result import IcmpResult
from netwatch.inventory.model import Device, DeviceLabels, Inventory
from netwatch.sites.baseline import RTT, Baselines, DeviceKey, baseline_family
from netwatch.sites.causes import Cause, SiteFacts, baselined, explain, read
from netwatch.sites.readings import Readings
from netwatch.sites.targets import TargetState
from netwatch.snmp.result import SnmpResult

log = structlog.get_logger("netwatch.sites.why")


def _exported(metric: str) -> str | None:
    """The catalog family of a series' baseline, if it is exported."""
    source = METRICS.get(metric)
    if source is None:
        return None
    name = baseline_family(metric, source.unit)
    return name if name in METRICS else None


class Why:
    def __init__(self, store: MetricStore, thresholds: ThresholdsFile,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.rules: Mapping[str, CauseRule] = thresholds.causes
        self.cause_names = thresholds.cause_names
        self.baselines = Baselines(thresholds.baselines)
        self.baselines.on_normal.append(self._render_baselines)
        self.readings = Readings(read(self.rules))
        self.baselined = frozenset(baselined(self.rules))
        self.cause_family = store.family("netwatch_site_cause", lazy=True)
        self.reboots_family = store.family("netwatch_site_reboot_state_changes_total")
        self.families: dict[str, Family] = {
            metric: store.family(name) for metric in (*self.baselined, RTT)
            if (name := _exported(metric)) is not None}
        self.devices: dict[DeviceKey, Device] = {}
        kept = store.family("netwatch_baseline_series", lazy=True)
        refused = store.family("netwatch_baseline_series_refused_total", lazy=True)
        store.set(kept, "baselines", lambda: f"{kept.name} {len(self.baselines.series)}\n")
        store.set(refused, "baselines", lambda: f"{refused.name} {self.baselines.refused}\n")

    def configure(self, inventory: Inventory, thresholds: ThresholdsFile) -> None:
        """Follow a (re)load: the rules and settings in effect, the devices configured."""
        self.rules = thresholds.causes
        self.cause_names = thresholds.cause_names
        self.baselines.configure(thresholds.baselines)
        self.readings.want(read(self.rules))
        baselined_now = frozenset(baselined(self.rules))
        for metric in baselined_now - self.baselined:
            name = _exported(metric)
            if name is not None:
                self.families[metric] = self.store.family(name)
        self.baselined = baselined_now
        for key in set(self.devices) - set(inventory.devices):
            self.store.drop_owner(("baseline", *key))
        self.devices = dict(inventory.devices)
        self.baselines.keep(self.devices)
        self.readings.keep(self.devices)

    # --- polls --------------------------------------------------------------------------
    def observe(self, tstate: TargetState, rtt_too: bool, learn: bool = True) -> float | None:
        """One poll of a device: keep what the causes read; the new boot time when the poll
        shows a reboot. `rtt_too`: the device's RTT has a baseline (roots, upstreams).
        `learn`: its values feed the baselines (not while its site is in trouble: a link's
        normal is what it does while the site is fine, so a fade that lasts stays a fade)."""
        target, last = tstate.target, tstate.last
        device = target.device
        if device is None or last is None:
            return None
        result = last.result
        now = self.clock()
        site, name = device.key
        if isinstance(result, SnmpResult):
            recorded = self.readings.record(device, result, now)
            if recorded is None:
                return None
            if not learn:
                return recorded.rebooted
            observe, wanted = self.baselines.observe, self.baselined
            for (metric, labels), value in recorded.readings.values.items():
                if metric in wanted:
                    observe((site, name, metric, labels), value, now)
            return recorded.rebooted
        if learn and rtt_too and isinstance(result, IcmpResult) and result.rtts:
            self.baselines.observe((site, name, RTT, ""), median(result.rtts), now)
        return None

    def restore_baselines(self, dumps: Mapping[DeviceKey, str],
                          settings: BaselineSettings) -> int:
        """The baselines the history kept (Baselines.dump per device), read with the settings
        in effect (dumps of other buckets or windows are ignored); returns the series
        restored. Devices no longer configured are dropped at the next sync."""
        self.baselines.configure(settings)
        now = self.clock()
        restored = sum(self.baselines.load(device, text, now) for device, text in dumps.items())
        if dumps:
            log.info("baselines_restored", devices=len(dumps), series=restored)
        return restored

    def normal(self, site: str, device: str, metric: str, labels: str) -> float | None:
        return self.baselines.normal((site, device, metric, labels))

    def explain(self, facts: SiteFacts) -> Cause:
        return explain(facts, self.rules)

    # --- series -------------------------------------------------------------------------
    def _render_baselines(self, key: DeviceKey) -> None:
        device = self.devices.get(key)
        if device is None:
            return
        lines: dict[str, list[str]] = {}
        dlabels = label_text(DeviceLabels.NAMES, device.labels.values())
        for (_, _, metric, labels), value in self.baselines.of_device(key):
            family = self.families.get(metric)
            if family is not None:
                text = f"{dlabels},{labels}" if labels else dlabels
                lines.setdefault(metric, []).append(f"{family.name}{{{text}}} {fmt(value)}\n")
        owner = ("baseline", *key)
        for metric, family in self.families.items():
            self.store.set(family, owner, "".join(lines.get(metric, ())))

    def render_site(self, owner: object, labels: str, changes: Callable[[], int],
                    cause: Callable[[], str | None]) -> None:
        """A site's cause state set (rendered at scrape time) and its reboot-explained
        transitions."""
        self.store.set(self.cause_family, owner, partial(self._cause_text, labels, cause))
        self.store.set(self.reboots_family, owner,
                       f"{self.reboots_family.name}{{{labels}}} {changes()}\n")

    def _cause_text(self, labels: str, cause: Callable[[], str | None]) -> str:
        current = cause()
        if current is None:
            return ""
        name = self.cause_family.name
        return "".join(f'{name}{{{labels},cause="{c}"}} {int(c == current)}\n'
                       for c in self.cause_names)
