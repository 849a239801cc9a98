"""Sites as first-class objects: the daemon's verdict per kelurahan, and why.

After every poll the site of the polled device is re-evaluated (`netwatch.sites.verdict.evaluate`),
with degraded hysteresis (enter after `down_after` bad rounds of a root device, leave after
`up_after` good ones), maintenance windows, and upstreams: a change on an upstream device
re-evaluates every site below it. Every change of a site's state is handed to the `on_change`
listeners as a SiteEvent (the history stores it) with the evidence the verdict rested on.
States restored from the history at start (`restore`) hold, with their "since", until the
site's devices have been judged again: a restart neither resets durations nor blinks.
Canaries guard the poller itself: when every canary is down
the poller is isolated, site states freeze and every device is suppressed with
`poller_isolated`; after recovery the frozen states are held until each site's root devices
have had fresh rounds, so reconnecting never causes a burst of transitions.

While a site is not up it has a cause (netwatch_site_cause): `Why` keeps what the polls said
and each link's baselines, and explains the site from its facts with the thresholds file's
rules each time it is evaluated. A reboot a later SNMP poll reveals explains the transitions of
the outage it caused: they are counted apart (netwatch_site_reboot_state_changes_total), so
flapping is told from rebooting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

import structlog

from netwatch.base.exposition import MetricStore, fmt, label_text, sample
from netwatch.config.model import MaintenanceWindow
from netwatch.config.thresholds import UNKNOWN_CAUSE, read_thresholds
from netwatch.history.events import UNKNOWN, SiteEvent
from netwatch.icmp.result import IcmpResult
from netwatch.inventory.model import Device, DeviceLabels, Inventory, StatePolicy, TargetKey
from netwatch.sites.baseline import RTT
from netwatch.sites.causes import Cause, Finding, LinkView, SiteFacts
from netwatch.sites.maintenance import active_window
from netwatch.sites.targets import State, TargetState, Transition
from netwatch.sites.verdict import (
    SITE_STATES,
    SUPPRESSIONS,
    DeviceView,
    SiteStateName,
    Suppression,
    Thresholds,
    Verdict,
    evaluate,
)
from netwatch.sites.why import Why

log = structlog.get_logger("netwatch.sites.engine")

REBOOT_OUTAGE = 600.0  # an outage that began at most this long before a boot was that reboot
WINDOW_ROUNDS = 4  # loss and RTT p90 for "degraded" are taken over this many recent rounds
REFRESH_SECONDS = 5.0  # how often maintenance windows are re-checked


class SiteFamilies:
    """The site families of the catalog (origin "site"), declared once per store; state sets
    are lazy (rendered at scrape time: many lines that rarely change)."""

    def __init__(self, store: MetricStore) -> None:
        f = store.family
        self.state = f("netwatch_site_state", lazy=True)
        self.changes = f("netwatch_site_state_changes_total")
        self.info = f("netwatch_site_info")
        self.sla = f("netwatch_site_sla_target_ratio")
        self.maintenance = f("netwatch_maintenance_active")
        self.suppressed = f("netwatch_device_suppressed", lazy=True)
        self.uplink = f("netwatch_interface_uplink")
        self.capacity = f("netwatch_interface_capacity_bytes")
        self.isolated = f("netwatch_poller_isolated")


@dataclass
class Group:
    """A site, or an upstream (whose verdict only drives suppression of its devices)."""

    id: str
    kecamatan: str
    devices: tuple[Device, ...]
    upstream: str | None
    policy: StatePolicy
    is_site: bool
    maintenance: tuple[MaintenanceWindow, ...] = ()
    feed: str | None = None  # the power feed the site hangs off
    # what the engine decided
    state: SiteStateName | None = None
    cause: str = ""  # the verdict's words ("rtr down")
    since: float | None = None  # Unix time the state began (restored across restarts)
    restored: bool = False  # the state came from the history; held until judged again
    why: Cause | None = None  # while not up: the cause and its evidence
    trouble_since: float = 0.0  # Unix time the site left `up`
    transitions: deque[tuple[float, str, str]] = field(
        default_factory=lambda: deque(maxlen=32))  # (at, old, new): recent, for reboots
    reboot_changes: int = 0  # transitions a reboot explains
    explained: deque[float] = field(
        default_factory=lambda: deque(maxlen=32))  # when they were: the pages' flap marker
    reboot_open: bool = False  # a reboot explains this outage: its transitions are the reboot's
    changes: int = 0
    degraded: bool = False
    bad_rounds: int = 0
    good_rounds: int = 0
    last_breach: str = ""
    hold_rounds: int = 0  # after isolation: root rounds to wait before judging again
    suppressed: dict[str, Suppression] = field(default_factory=dict)
    roots: frozenset[str] = frozenset()  # devices without a parent here (set after init)

    @property
    def labels(self) -> str:
        return label_text(("site", "kecamatan"), (self.id, self.kecamatan))

    @property
    def explained_until(self) -> float:
        """Transitions up to here are explained already."""
        return self.explained[-1] if self.explained else 0.0

    def explained_since(self, since: float) -> int:
        """Transitions since `since` that a reboot explains (as
        netwatch_site_reboot_state_changes_total counts them: not flapping)."""
        return sum(1 for at in self.explained if at >= since)

    def __post_init__(self) -> None:
        names = {d.labels.device for d in self.devices}
        self.roots = frozenset(d.labels.device for d in self.devices
                               if d.parent is None or d.parent not in names)


def _evidence(views: list[DeviceView], verdict: Verdict | None) -> dict[str, object]:
    """What the verdict rested on: each device's status, and its loss and RTT p90 over the
    recent rounds where they were judged; the threshold a degraded site is over."""
    devices: dict[str, dict[str, object]] = {}
    for view in views:
        facts: dict[str, object] = {"status": view.status}
        if view.status != "up":  # the window before it went down says nothing now
            devices[view.name] = facts
            continue
        if view.loss_ratio is not None:
            facts["loss_ratio"] = round(view.loss_ratio, 4)
        if view.rtt_p90 is not None:
            facts["rtt_p90_seconds"] = round(view.rtt_p90, 6)
        devices[view.name] = facts
    evidence: dict[str, object] = {"devices": devices}
    if verdict is not None and verdict.breach:
        evidence["threshold"] = verdict.breach
    return evidence


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


class SiteEngine:
    def __init__(self, store: MetricStore, state: State,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.state = state
        self.clock = clock
        self.families = SiteFamilies(store)
        self.groups: dict[str, Group] = {}
        self.below: dict[str, list[str]] = {}  # upstream id -> groups hanging off it
        self.windows: dict[TargetKey, list[IcmpResult]] = {}  # the last rounds, oldest first
        self.canaries: list[TargetKey] = []
        self.isolated = False
        self.tz = ZoneInfo("Asia/Jakarta")
        self.on_change: list[Callable[[SiteEvent], None]] = []
        self.version = 0  # moves whenever a site's state, cause or suppressions change
        self.saved: dict[str, SiteEvent] = {}  # restored at the next sync (the first)
        self.why = Why(store, read_thresholds(), lambda: self.clock().timestamp())
        self.feeds: dict[str, list[str]] = {}  # power feed -> its sites
        state.listeners.append(self.on_target)

    def restore(self, saved: Mapping[str, SiteEvent]) -> None:
        """Each site's last transition from the history, applied by the next `sync`."""
        self.saved = dict(saved)

    # --- config -----------------------------------------------------------------
    def sync(self, inventory: Inventory) -> None:
        """Follow a (re)load: rebuild groups, keep the verdicts of groups that stay."""
        self.tz = ZoneInfo(inventory.timezone)
        self.version += 1
        old = self.groups
        self.groups = {}
        for up in inventory.upstreams.values():
            devices = tuple(inventory.devices[(up.id, n)] for n in up.devices)
            policy = devices[0].state
            self.groups[up.id] = Group(up.id, up.kecamatan, devices, up.upstream, policy, False)
        for site in inventory.sites.values():
            devices = tuple(inventory.devices[(site.id, n)] for n in site.devices)
            self.groups[site.id] = Group(site.id, site.kecamatan, devices, site.upstream,
                                         site.state, True, site.maintenance, site.power_feed)
        self.below, self.feeds = {}, {}
        for group in self.groups.values():
            if group.upstream is not None:
                self.below.setdefault(group.upstream, []).append(group.id)
            if group.feed is not None:
                self.feeds.setdefault(group.feed, []).append(group.id)
        self.why.configure(inventory, inventory.thresholds)
        for gid, group in self.groups.items():
            previous = old.get(gid)
            if previous is not None and previous.kecamatan == group.kecamatan:
                for name in ("state", "cause", "since", "restored", "changes", "degraded",
                             "hold_rounds", "why", "trouble_since", "transitions",
                             "reboot_changes", "explained", "reboot_open"):
                    setattr(group, name, getattr(previous, name))
            elif group.is_site and gid in self.saved \
                    and self.saved[gid].kecamatan == group.kecamatan:
                self._restore(group, self.saved[gid])
        # a site that left the config (or moved to another kecamatan: a new site there) stops
        # counting: its history ends in "unknown", as its series end in Prometheus; also one
        # that left while the daemon was stopped
        for gid, previous in old.items():
            current = self.groups.get(gid)
            if previous.is_site and previous.state is not None and (
                    current is None or current.kecamatan != previous.kecamatan):
                self._left(gid, previous.kecamatan, previous.state)
        for gid, event in self.saved.items():
            current = self.groups.get(gid)
            if event.new != UNKNOWN and (current is None or current.kecamatan != event.kecamatan):
                self._left(gid, event.kecamatan, event.new)
        self.saved = {}
        for gid in set(old) - set(self.groups):
            self._drop(old[gid])
        self.canaries = [k for k, t in inventory.targets.items() if t.canary is not None]
        self.windows = {k: w for k, w in self.windows.items() if k in inventory.targets}
        for group in self.groups.values():
            self._render_static(group, inventory)
            self.evaluate(group.id)
            self._render(group)
        self._render_isolation()

    @staticmethod
    def _restore(group: Group, event: SiteEvent) -> None:
        if event.new not in SITE_STATES:
            return
        group.state = event.new
        group.cause, group.since, group.restored = event.cause, event.at, True
        if event.new != "up":  # its cause holds with it (netwatch_site_cause is never empty)
            group.trouble_since = event.at
            group.why = Cause(event.cause_name or UNKNOWN_CAUSE, tuple(
                Finding(str(f.pop("kind", "")), str(f.pop("text", "")), f)
                for f in (dict(x) for x in event.evidence.get("findings", ()))))
        if group.state == "degraded":  # leave it only after up_after good rounds, as before
            group.degraded, group.last_breach = True, event.cause

    def _left(self, gid: str, kecamatan: str, state: str) -> None:
        cause = "not in the config"
        log.info("site_state", site=gid, kecamatan=kecamatan, old=state, new=UNKNOWN,
                 cause=cause)
        event = SiteEvent(self.clock().timestamp(), gid, kecamatan, state, UNKNOWN, cause)
        for listener in self.on_change:
            listener(event)

    def _drop(self, group: Group) -> None:
        self.store.drop_owner(("site", group.id))
        for device in group.devices:
            self.store.drop_owner(("device", *device.key))

    # --- events -------------------------------------------------------------------
    def on_target(self, tstate: TargetState, transition: Transition | None) -> None:
        target = tstate.target
        if target.canary is not None:
            if transition is not None:
                self._check_isolation()
            return
        last = tstate.last
        if last is not None and isinstance(last.result, IcmpResult):
            window = self.windows.setdefault(target.key, [])
            if tstate.status == "down":
                window.clear()  # an outage is "down", not loss: none of it degrades the site later
            elif transition is not None and transition.old == "down":
                # the round that ends an outage straddles its end: the echoes it lost are the
                # outage's (a partly answered first round made a recovered site degraded, then
                # up again: transitions that looked like flapping)
                window.clear()
            else:
                window.append(last.result)
                if len(window) > WINDOW_ROUNDS:
                    del window[0]  # a plain list: 10,000 deques would cost 6 MB
        device = target.device
        if device is None:
            return
        owner = device.labels.site
        group = self.groups.get(owner)
        if group is None:
            return
        rebooted = self.why.observe(tstate, not group.is_site
                                    or device.labels.device in group.roots,
                                    learn=group.state in (None, "up"))
        if rebooted is not None and group.is_site:
            self._reboot_seen(group, rebooted)
        primary = "icmp" if device.icmp is not None else "snmp"
        is_round = target.probe == primary and device.labels.device in group.roots
        if transition is None and self._quiet(group, is_round, target.key):
            return  # nothing the verdict depends on has moved (the common case, kept cheap)
        self.evaluate(owner, root_round=is_round)
        if transition is not None and not group.is_site:
            for below in self.below.get(owner, []):
                self.evaluate(below)

    async def run_refresh(self) -> None:
        """Re-check maintenance windows on a timer (they start and end without any poll)."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            for gid, group in list(self.groups.items()):
                if group.maintenance or group.state == "maintenance":
                    self.evaluate(gid)

    def _quiet(self, group: Group, root_round: bool, key: TargetKey) -> bool:
        """True when a poll without a transition cannot change the group's verdict: the group
        is plainly up (no hysteresis running, nothing suppressed, no maintenance to watch, not
        held after an isolation), and either the poll was not a root round, or its window
        shows no loss and no RTT above the threshold (so no breach is possible)."""
        if (group.state != "up" or group.degraded or group.bad_rounds or group.hold_rounds
                or group.suppressed or group.maintenance or self.isolated):
            return False
        if not root_round:
            return True
        limit = group.policy.degraded_rtt_p90
        for result in self.windows.get(key, ()):
            if len(result.rtts) < result.sent or (result.rtts and max(result.rtts) > limit):
                return False
        group.good_rounds += 1
        return True

    # --- decisions --------------------------------------------------------------
    def device_view(self, device: Device, with_window: bool) -> DeviceView:
        site, name = device.key
        probe = "icmp" if device.icmp is not None else "snmp"
        status = self.state.status((site, name, probe))
        loss = p90 = None
        window = self.windows.get((site, name, "icmp")) if with_window else None
        if window:
            sent = sum(r.sent for r in window)
            loss = 1.0 - sum(r.received for r in window) / sent if sent else None
            p90 = _p90([rtt for r in window for rtt in r.rtts])
        return DeviceView(name, status, device.parent, loss, p90)

    def upstream_down(self, upstream: str | None) -> str | None:
        group = self.groups.get(upstream) if upstream else None
        if group is None:
            return None
        probes = [self.device_view(d, False).status for d in group.devices]
        return group.id if probes and all(s == "down" for s in probes) else None

    def evaluate(self, gid: str, root_round: bool = False) -> None:
        group = self.groups[gid]
        views = [self.device_view(d, d.labels.device in group.roots) for d in group.devices]
        window = active_window(group.maintenance, self.clock(), self.tz)
        verdict = evaluate(
            views, upstream_down=self.upstream_down(group.upstream),
            maintenance=(window.reason or "") if window is not None else None,
            thresholds=Thresholds(group.policy.degraded_loss_ratio, group.policy.degraded_rtt_p90))
        if self.isolated or (group.hold_rounds > 0 and verdict.state != "maintenance"):
            if root_round and not self.isolated:
                group.hold_rounds -= 1
            self._set(group, group.state, group.cause,
                      {d.labels.device: "poller_isolated" for d in group.devices}, group.why)
            return
        if verdict.state is None and group.restored:
            self._set(group, group.state, group.cause, verdict.suppressed, group.why)
            return  # nothing judged since the restart: the restored state holds
        group.restored = False
        state, cause = verdict.state, verdict.cause
        if state in ("up", "degraded"):
            confirmed = self._threshold_hysteresis(group, verdict.breach, root_round)
            if verdict.breach and not confirmed and cause == verdict.breach:
                state, cause = "up", ""  # over the threshold, not for long enough yet
            elif confirmed and state == "up":
                state, cause = "degraded", f"recovering from {group.last_breach}"
        else:
            group.degraded, group.bad_rounds, group.good_rounds = False, 0, 0
        why = None if state in (None, "up") else self._explain(group, state, views)
        self._set(group, state, cause, verdict.suppressed, why, views, verdict)

    def _threshold_hysteresis(self, group: Group, breach: str | None, root_round: bool) -> bool:
        """Degraded by thresholds: after `down_after` bad root rounds, until `up_after` good."""
        if root_round:
            group.bad_rounds = group.bad_rounds + 1 if breach else 0
            group.good_rounds = 0 if breach else group.good_rounds + 1
        if breach:
            group.last_breach = breach
            if group.bad_rounds >= group.policy.down_after:
                group.degraded = True
        elif group.good_rounds >= group.policy.up_after:
            group.degraded = False
        return group.degraded

    def _explain(self, group: Group, state: SiteStateName, views: list[DeviceView]) -> Cause:
        """The site's cause from its facts now (netwatch.sites.causes)."""
        now = self.clock().timestamp()
        why = self.why
        since = group.trouble_since if group.state not in (None, "up") else now
        links = tuple(LinkView(v.name, v.loss_ratio, v.rtt_p90,
                               why.normal(group.id, v.name, RTT, ""))
                      for v in views if v.name in group.roots)
        upstream = self.groups.get(group.upstream) if group.upstream else None
        upstream_links = () if upstream is None else tuple(
            LinkView(v.name, v.loss_ratio, v.rtt_p90)
            for v in (self.device_view(d, True) for d in upstream.devices))
        feed_down = tuple((other.id, other.trouble_since)
                          for other in (self.groups[g] for g in self.feeds.get(group.feed or "",
                                                                                ()))
                          if other is not group and other.state in ("down", "unreachable"))
        readings = {d.labels.device: r for d in group.devices
                    if (r := why.readings.of(d.key)) is not None}
        return why.explain(SiteFacts(
            state, now, since, links, group.upstream, state == "unreachable", upstream_links,
            readings, partial(why.normal, group.id), group.feed, feed_down))

    def _reboot_seen(self, group: Group, boot: float) -> None:
        """A device of the site booted at `boot`: the transitions of the outage that began
        at most REBOOT_OUTAGE before it (or after it) are the reboot's, not flapping."""
        start = boot
        for at, old, new in group.transitions:
            if boot - REBOOT_OUTAGE <= at <= boot and old == "up" and new != "up":
                start = at
        counted = [t for t in group.transitions
                   if t[0] >= start and t[0] > group.explained_until]
        if counted:
            group.reboot_changes += len(counted)
            group.explained.extend(t[0] for t in counted)
            self.version += 1  # the site list's flap marker may drop
            log.info("site_reboot_explained", site=group.id, kecamatan=group.kecamatan,
                     boot_time=boot, transitions=len(counted))
            self._render(group)
        if group.state not in (None, "up"):
            group.reboot_open = True  # its way back up is the reboot's too
            self.evaluate(group.id)  # the reboot may be its cause now

    def _set(self, group: Group, state: SiteStateName | None, cause: str,
             suppressed: dict[str, Suppression], why: Cause | None = None,
             views: list[DeviceView] | None = None, verdict: Verdict | None = None) -> None:
        now = self.clock().timestamp()
        if state != group.state and group.is_site:
            if group.state is not None:
                group.changes += 1
                group.transitions.append((now, group.state, state or UNKNOWN))
                if group.reboot_open:
                    group.reboot_changes += 1
                    group.explained.append(now)
                    group.reboot_open = state not in (None, "up")
            if group.state in (None, "up"):
                group.trouble_since = now
            evidence = _evidence(views or [], verdict if state == "degraded" else None)
            if why is not None:
                evidence["findings"] = [f.as_json() for f in why.findings]
            log.info("site_state", site=group.id, kecamatan=group.kecamatan,
                     old=group.state or UNKNOWN, new=state or UNKNOWN, cause=cause,
                     cause_name=why.name if why else None, evidence=evidence)
            event = SiteEvent(now, group.id, group.kecamatan, group.state or UNKNOWN,
                              state or UNKNOWN, cause, evidence, why.name if why else None)
            group.since = now
            for listener in self.on_change:
                listener(event)
        elif group.is_site and why is not None and group.why is not None \
                and why.name != group.why.name:
            log.info("site_cause", site=group.id, kecamatan=group.kecamatan, state=state,
                     old=group.why.name, cause_name=why.name, cause=cause,
                     evidence=[f.as_json() for f in why.findings])
        changed = (state, cause, suppressed, why) != (group.state, group.cause,
                                                      group.suppressed, group.why)
        went_dark = state != group.state and state in ("down", "unreachable")
        group.state, group.cause, group.suppressed, group.why = state, cause, suppressed, why
        if changed:
            self.version += 1
            self._render(group)
        if went_dark and group.feed is not None:
            self._feed_moved(group)

    def _feed_moved(self, group: Group) -> None:
        """A site of a power feed went dark: its neighbours on the feed are judged again."""
        for gid in self.feeds.get(group.feed or "", ()):
            other = self.groups.get(gid)
            if other is not None and other is not group and other.state in ("down",
                                                                              "unreachable"):
                other_views = [self.device_view(d, d.labels.device in other.roots)
                               for d in other.devices]
                why = self._explain(other, other.state, other_views)
                self._set(other, other.state, other.cause, other.suppressed, why)

    def _check_isolation(self) -> None:
        statuses = [self.state.status(k) for k in self.canaries]
        isolated = bool(statuses) and all(s == "down" for s in statuses)
        if isolated == self.isolated:
            return
        self.isolated = isolated
        names = [k[1] for k in self.canaries]
        if isolated:
            log.warning("poller_isolated", canaries=names,
                        effect="site states frozen, every device suppressed")
        else:
            log.info("poller_reconnected", canaries=names)
            for group in self.groups.values():
                group.hold_rounds = max(group.policy.down_after, group.policy.up_after)
        self._render_isolation()
        for gid in self.groups:
            self.evaluate(gid)

    # --- rendering -------------------------------------------------------------
    def _render_isolation(self) -> None:
        f = self.families.isolated
        self.store.set(f, "poller", f"{f.name} {int(self.isolated)}\n")

    def _render(self, group: Group) -> None:
        fam, labels, owner = self.families, group.labels, ("site", group.id)
        if group.is_site:
            self.store.set(fam.state, owner, partial(self._state_text, group))
            self.why.render_site(owner, labels, lambda: group.reboot_changes,
                                 partial(self._cause_now, group))
            self.store.set(fam.changes, owner, sample(fam.changes.name, labels, group.changes))
            in_window = int(group.state == "maintenance")
            self.store.set(fam.maintenance, owner, sample(fam.maintenance.name, labels, in_window))
        for device in group.devices:
            self.store.set(fam.suppressed, ("device", *device.key),
                           partial(self._suppressed_text, group, device))

    # lazy families (rendered at scrape time): state sets are many lines that rarely change
    def _state_text(self, group: Group) -> str:
        if group.state is None:
            return ""
        name, labels, current = self.families.state.name, group.labels, group.state
        return "".join(f'{name}{{{labels},state="{s}"}} {int(s == current)}\n'
                       for s in SITE_STATES)

    @staticmethod
    def _cause_now(group: Group) -> str | None:
        """netwatch_site_cause's 1 (None: no series yet; "": up, every cause 0)."""
        if group.state is None:
            return None
        return group.why.name if group.why is not None and group.state != "up" else ""

    def _suppressed_text(self, group: Group, device: Device) -> str:
        name = self.families.suppressed.name
        labels = label_text(DeviceLabels.NAMES, device.labels.values())
        reason = group.suppressed.get(device.labels.device)
        return "".join(f'{name}{{{labels},reason="{r}"}} {int(r == reason)}\n'
                       for r in SUPPRESSIONS)

    def _render_static(self, group: Group, inventory: Inventory) -> None:
        fam, owner = self.families, ("site", group.id)
        site = inventory.sites.get(group.id)
        if site is not None:
            loc = site.location
            info = label_text(
                fam.info.metric.labels,
                (site.id, site.name, site.kecamatan, fmt(loc.lat) if loc else "",
                 fmt(loc.lon) if loc else "", site.isp or "", site.upstream or ""))
            self.store.set(fam.info, owner, f"{fam.info.name}{{{info}}} 1\n")
            sla = site.sla_target
            self.store.set(fam.sla, owner, sample(fam.sla.name, group.labels, sla) if sla else "")
        for device in group.devices:
            uplink = device.uplink
            dlabels = label_text(fam.uplink.metric.labels,
                                 (*device.labels.values(), uplink.ifname if uplink else ""))
            downer = ("device", *device.key)
            capacity = uplink.capacity if uplink is not None else None
            self.store.set(fam.uplink, downer,
                           sample(fam.uplink.name, dlabels, 1) if uplink else "")
            self.store.set(fam.capacity, downer,
                           sample(fam.capacity.name, dlabels, capacity) if capacity else "")

    # --- the demo's status line ------------------------------------------------------
    def status_rows(self, inventory: Inventory) -> list[tuple[str, ...]]:
        rows = []
        for site in inventory.sites.values():
            group = self.groups.get(site.id)
            state = (group.state if group else None) or "unknown"
            why = group.why if group else None
            rows.append((site.id, site.name, site.kecamatan, state, group.cause if group else "",
                         why.name if why else ""))
        order = {s: i for i, s in enumerate(("down", "unreachable", "degraded", "maintenance",
                                             "unknown", "up"))}
        return sorted(rows, key=lambda r: (order.get(r[3], 9), r[2], r[1]))
