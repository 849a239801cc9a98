"""The verdict for one site, as a pure function of its devices' states (table-tested).

    evaluate(devices, upstream_down=..., maintenance=..., thresholds=...) -> Verdict

Precedence: maintenance > unreachable (upstream down and own roots down) > down (own roots
down, upstream fine) > degraded (loss or RTT p90 over the thresholds on a root device, or a
device down through its own fault) > up. Devices behind a down parent, or behind a down
upstream, are suppressed with the reason, so their trouble is not alerted as their own.
Degraded hysteresis and poller isolation are applied by `netwatch.sites.engine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from netwatch.config.types import format_duration
from netwatch.sites.targets import Status

SiteStateName = Literal["up", "degraded", "down", "unreachable", "maintenance"]
SITE_STATES: tuple[SiteStateName, ...] = ("up", "degraded", "down", "unreachable", "maintenance")
Suppression = Literal["parent_down", "upstream_down", "maintenance", "poller_isolated"]
SUPPRESSIONS: tuple[Suppression, ...] = ("parent_down", "upstream_down", "maintenance",
                                         "poller_isolated")


@dataclass(frozen=True, slots=True)
class DeviceView:
    """What the site logic needs to know about one device."""

    name: str
    status: Status  # by ICMP when the device is pinged, else by SNMP
    parent: str | None = None
    loss_ratio: float | None = None  # over the recent rounds; None without ICMP data
    rtt_p90: float | None = None


@dataclass(frozen=True, slots=True)
class Thresholds:
    loss_ratio: float
    rtt_p90: float


@dataclass(frozen=True, slots=True)
class Verdict:
    state: SiteStateName | None  # None: nothing known yet
    cause: str
    breach: str | None = None  # loss/RTT threshold exceeded now (hysteresis not yet applied)
    suppressed: dict[str, Suppression] = field(default_factory=dict)


def _behind_down_parent(device: DeviceView, by_name: dict[str, DeviceView]) -> str | None:
    """Name of the nearest down ancestor of `device`, if any (parents form no cycles)."""
    parent = device.parent
    for _ in range(len(by_name)):
        if parent is None or parent not in by_name:
            return None
        if by_name[parent].status == "down":
            return parent
        parent = by_name[parent].parent
    return None


def _threshold_breach(device: DeviceView, limits: Thresholds) -> str | None:
    if device.loss_ratio is not None and device.loss_ratio > limits.loss_ratio:
        return f"{device.name} loss {device.loss_ratio:.0%} > {limits.loss_ratio:.0%}"
    if device.rtt_p90 is not None and device.rtt_p90 > limits.rtt_p90:
        return (f"{device.name} rtt p90 {format_duration(round(device.rtt_p90, 4))} > "
                f"{format_duration(limits.rtt_p90)}")
    return None


def evaluate(devices: Sequence[DeviceView], *, upstream_down: str | None = None,
             maintenance: str | None = None, thresholds: Thresholds) -> Verdict:
    """The site's state now. `upstream_down`/`maintenance` name the cause when they apply."""
    if maintenance is not None:
        return Verdict("maintenance", f"maintenance: {maintenance}" if maintenance else
                       "maintenance", suppressed={d.name: "maintenance" for d in devices})
    by_name = {d.name: d for d in devices}
    behind_parent: dict[str, Suppression] = {
        d.name: "parent_down" for d in devices if _behind_down_parent(d, by_name) is not None}
    behind_upstream: dict[str, Suppression] = (
        {d.name: "upstream_down" for d in devices} if upstream_down is not None else behind_parent)
    roots = [d for d in devices if d.parent is None or d.parent not in by_name]
    statuses = {d.status for d in roots}
    if "up" not in statuses:
        if upstream_down is not None:
            return Verdict("unreachable", f"upstream {upstream_down} down",
                           suppressed=behind_upstream)
        if statuses == {"unknown"}:
            return Verdict(None, "no result yet", suppressed=behind_parent)
        down = ", ".join(d.name for d in roots if d.status == "down")
        return Verdict("down", f"{down} down", suppressed=behind_parent)
    # some root answers: the site is reachable; anything wrong below makes it degraded
    breach = next((b for r in roots if r.status == "up"
                   if (b := _threshold_breach(r, thresholds))), None)
    own_faults = [d.name for d in devices if d.status == "down" and d.name not in behind_parent]
    if own_faults:
        return Verdict("degraded", f"{', '.join(own_faults)} down", breach,
                       suppressed=behind_parent)
    if breach:
        return Verdict("degraded", breach, breach, suppressed=behind_parent)
    return Verdict("up", "", suppressed=behind_parent)
