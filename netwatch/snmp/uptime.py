"""Uptime sources and the boot time derived from them, robust against jitter and wraps.

Sources in order of preference: hrSystemUptime (the host's own uptime), snmpEngineTime
(seconds since the SNMP agent started: no wrap for 68 years, but it restarts with the agent),
sysUpTime (the agent's uptime on most agents). hrSystemUptime comes first because only it
outlives an agent restart: a real CentOS recording (linux_ntc) has snmpEngineTime 1.3 days
and hrSystemUptime 84 days, and a boot time taken from the engine would call every agent
restart a reboot (the airFiber LTU and Wave recordings show the same: hrSystemUptime 27 and
6 days, sysUpTime 1.3 days and 34 minutes). hrSystemUptime and sysUpTime are TimeTicks:
hundredths of a second, wrapping after 2^32, i.e. 497.1 days; a first reading of
hrSystemUptime below the engine time has wrapped (the agent cannot have run longer than the
host), which `update` takes as a hint. The boot time (now - uptime) moves by network delay
and tick rounding on every poll; it is held still while uptime keeps counting, and only
moves when

- uptime went back (a reboot; a TimeTicks wrap is told apart by where the counter should
  have been), or
- the estimate drifted more than DRIFT seconds (the device's clock runs off; re-anchored).

So `changes(netwatch_device_boot_time_seconds[1h])` counts reboots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from netwatch.snmp.oid import Oid, Value

SNMP_ENGINE_TIME: Oid = (1, 3, 6, 1, 6, 3, 10, 2, 1, 3, 0)
HR_SYSTEM_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 25, 1, 1, 0)
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SOURCES: tuple[tuple[Oid, float], ...] = (  # (OID, seconds per unit)
    (HR_SYSTEM_UPTIME, 0.01),
    (SNMP_ENGINE_TIME, 1.0),
    (SYS_UPTIME, 0.01),
)
TICKS_WRAP = 2**32
DRIFT = 60.0  # seconds of disagreement tolerated before the boot time is re-anchored
WRAP_SLACK = 30.0  # seconds: how close to the expected post-wrap value a reading must be


def pick_uptime(values: Mapping[Oid, Value]) -> tuple[Oid, int, float] | None:
    """The preferred source present: (OID, raw value, seconds per unit). 0 counts as absent
    (an agent that does not keep the value; a real uptime of 0 is never read twice)."""
    for oid, unit in SOURCES:
        raw = values.get(oid)
        if isinstance(raw, int) and raw > 0:
            return oid, raw, unit
    return None


@dataclass
class BootClock:
    """Per-device boot time tracking (one per target, kept between polls)."""

    boot_time: float | None = None
    uptime: float | None = None  # seconds, as reported by the chosen source
    source: Oid | None = None
    wraps: int = 0
    _last_raw: int = 0
    _last_at: float = 0.0

    def update(self, source: Oid, raw: int, unit: float, now: float,
               at_least: float | None = None) -> bool:
        """Feed one reading; True when it shows a reboot since the previous one.
        `at_least`: seconds the device has certainly been up (the engine time), which tells
        how often a TimeTicks source read for the first time has wrapped."""
        rebooted = False
        if self.source == source and raw < self._last_raw:
            if unit < 1.0 and self._wrapped(raw, now):
                self.wraps += 1
            else:
                rebooted = True
                self.wraps = 0
        elif self.source != source:
            self.wraps = 0
            if at_least is not None and unit < 1.0:
                span = TICKS_WRAP * unit
                self.wraps = max(0, math.ceil((at_least - raw * unit - WRAP_SLACK) / span))
        seconds = (raw + self.wraps * TICKS_WRAP) * unit
        estimate = now - seconds
        if self.boot_time is not None and self.source == source and \
                estimate - self.boot_time > DRIFT:
            rebooted = True  # booted again while we were not looking (uptime grew past)
        if rebooted or self.boot_time is None or self.source != source or \
                abs(estimate - self.boot_time) > DRIFT:
            self.boot_time = float(round(estimate))
        self.source, self._last_raw, self._last_at = source, raw, now
        self.uptime = raw * unit
        return rebooted

    def _wrapped(self, raw: int, now: float) -> bool:
        expected = self._last_raw + (now - self._last_at) * 100
        return expected >= TICKS_WRAP - WRAP_SLACK * 100 and \
            abs(expected - TICKS_WRAP - raw) <= WRAP_SLACK * 100 + (now - self._last_at) * 5
