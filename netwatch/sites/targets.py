"""The latest state of every target: hysteresis, counters, and its rendered series.

`State.record(target, outcome)` is called by the scheduler after every poll. It updates the
target's up/down verdict with hysteresis (down after `down_after` bad polls, up after
`up_after` good ones), logs each transition once, and re-renders the target's lines into the
MetricStore. `State.sync(inventory)` follows a reload: unchanged targets keep their counters,
removed targets' series disappear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from netwatch.base.errors import REASONS, Reason
from netwatch.base.exposition import Family, Fragment, MetricStore, fmt, label_text
from netwatch.inventory.model import DeviceLabels, Inventory, Probe, Target, TargetKey
from netwatch.scheduler.prober import Outcome, Prober, ProbeSeries

log = structlog.get_logger("netwatch.sites.targets")

Status = Literal["unknown", "up", "down"]


@dataclass(frozen=True, slots=True)
class Transition:
    key: TargetKey
    old: Status
    new: Status
    reason: Reason | None


class CoreFamilies:
    """The per-target families of the catalog (origin "target"), declared once per store."""

    def __init__(self, store: MetricStore) -> None:
        self.up = store.family("netwatch_up")
        self.duration = store.family("netwatch_poll_duration_seconds")
        self.errors = store.family("netwatch_poll_errors_total", lazy=True)
        self.changes = store.family("netwatch_state_changes_total")
        self.canary_up = store.family("netwatch_canary_up")


class TargetState:
    """Everything the daemon keeps about one target between polls."""

    __slots__ = (
        "changed",
        "changes",
        "down_after",
        "errors",
        "fail_streak",
        "labels",
        "last",
        "ok_streak",
        "previous_ok",
        "series",
        "status",
        "target",
        "up_after",
    )

    def __init__(self, target: Target, labels: str, series: ProbeSeries | None,
                 down_after: int, up_after: int) -> None:
        self.target = target
        self.labels = labels  # label text incl. probe="...", or canary="..." for canaries
        self.series = series
        self.status: Status = "unknown"
        self.ok_streak = 0
        self.fail_streak = 0
        self.changes = 0
        self.errors: dict[Reason, int] = dict.fromkeys(REASONS, 0)
        self.last: Outcome | None = None
        self.down_after = down_after
        self.up_after = up_after
        self.previous_ok: bool | None = None  # the poll before the last one (render deltas)
        self.changed = False  # the last poll changed the status

    def apply(self, outcome: Outcome) -> Transition | None:
        self.previous_ok = self.last.ok if self.last is not None else None
        self.last = outcome
        if self.series is not None:
            self.series.apply(outcome.result)
        old = self.status
        if outcome.ok:
            self.ok_streak += 1
            self.fail_streak = 0
            if old != "up" and (old == "unknown" or self.ok_streak >= self.up_after):
                self.status = "up"
        else:
            assert outcome.reason is not None
            self.errors[outcome.reason] += 1
            self.fail_streak += 1
            self.ok_streak = 0
            if old != "down" and self.fail_streak >= self.down_after:
                self.status = "down"
        self.changed = self.status != old
        if not self.changed:
            return None
        if old != "unknown":
            self.changes += 1
        return Transition(self.target.key, old, self.status, outcome.reason)

    def errors_text(self) -> str:
        """Errors by reason, rendered at scrape time (lazy: mostly zeros that rarely move)."""
        labels = self.labels
        return "".join(f'netwatch_poll_errors_total{{{labels},reason="{r}"}} {n}\n'
                       for r, n in list(self.errors.items()))

    def render(self, fam: CoreFamilies, full: bool = True) -> list[tuple[Family, Fragment]]:
        """The target's lines; after a poll (`full=False`) only those the poll can have
        changed: duration and the probe's series always, up/errors/changes when they moved."""
        labels, last = self.labels, self.last
        if self.target.canary is not None:
            up = int(self.status != "down")
            return [(fam.canary_up, f"{fam.canary_up.name}{{{labels}}} {up}\n")]
        out: list[tuple[Family, Fragment]] = []
        if last is not None:
            previous_ok = self.previous_ok
            if full or previous_ok is None or previous_ok != last.ok:
                out.append((fam.up, f"{fam.up.name}{{{labels}}} {int(last.ok)}\n"))
            out.append((fam.duration, f"{fam.duration.name}{{{labels}}} {fmt(last.duration)}\n"))
        if full:
            out.append((fam.errors, self.errors_text))
        if full or self.changed:
            out.append((fam.changes, f"{fam.changes.name}{{{labels}}} {self.changes}\n"))
        if self.series is not None:
            out.extend(self.series.render(full))
        return out


def device_labels(target: Target) -> str:
    """site, kecamatan, device, role: the labels of every per-device series."""
    assert target.device is not None
    return label_text(DeviceLabels.NAMES, target.device.labels.values())


def target_labels(target: Target) -> str:
    """Labels of the per-target core series: the device's plus probe (or canary alone)."""
    if target.canary is not None:
        return label_text(("canary",), (target.canary.name,))
    return f'{device_labels(target)},probe="{target.probe}"'


def _same_identity(a: Target, b: Target) -> bool:
    """Counters survive a reload when the series keep the same labels."""
    return target_labels(a) == target_labels(b)


class State:
    """All target states, keyed like the inventory's targets."""

    def __init__(self, store: MetricStore, probers: dict[Probe, Prober]) -> None:
        self.store = store
        self.families = CoreFamilies(store)
        self.probers = probers
        self.targets: dict[TargetKey, TargetState] = {}
        self.listeners: list[Callable[[TargetState, Transition | None], None]] = []

    def sync(self, inventory: Inventory) -> None:
        """Follow a (re)load: add new targets, drop removed ones, keep unchanged counters."""
        for key in [k for k in self.targets if k not in inventory.targets]:
            del self.targets[key]
            self.store.drop_owner(key)
        for key, target in inventory.targets.items():
            current = self.targets.get(key)
            if current is not None and _same_identity(current.target, target):
                current.target = target
                if target.device is not None:
                    current.down_after = target.device.state.down_after
                    current.up_after = target.device.state.up_after
                continue
            if current is not None:
                self.store.drop_owner(key)
            self.targets[key] = self._new_state(target)
            self._render(self.targets[key])

    def _new_state(self, target: Target) -> TargetState:
        labels = target_labels(target)
        prober = self.probers.get(target.probe)
        series = None
        if target.device is not None and prober is not None:
            series = prober.series(target, device_labels(target), self.store)
        if target.device is not None:
            down_after, up_after = target.device.state.down_after, target.device.state.up_after
        else:  # canaries: react on the second bad round, recover on the first good one
            down_after, up_after = 2, 1
        return TargetState(target, labels, series, down_after, up_after)

    def record(self, target: Target, outcome: Outcome) -> Transition | None:
        state = self.targets.get(target.key)
        if state is None:
            return None  # removed by a reload while the poll ran
        transition = state.apply(outcome)
        self._render(state, full=False)
        if transition is not None:
            _log_transition(state, transition, outcome)
        for listener in self.listeners:
            listener(state, transition)
        return transition

    def _render(self, state: TargetState, full: bool = True) -> None:
        key, store_set = state.target.key, self.store.set
        for family, text in state.render(self.families, full):
            store_set(family, key, text)

    def status(self, key: TargetKey) -> Status:
        state = self.targets.get(key)
        return state.status if state is not None else "unknown"


def _log_transition(state: TargetState, transition: Transition, outcome: Outcome) -> None:
    target = state.target
    owner, device, probe = target.key
    fields = {"site": owner, "device": device, "probe": probe} if owner else {"canary": device}
    if transition.new == "down":
        log.warning("target_down", **fields, reason=transition.reason,
                    after_failures=state.fail_streak)
    elif transition.old == "down":
        log.info("target_recovered", **fields, after_successes=state.ok_streak)
    else:
        log.debug("target_up", **fields)
