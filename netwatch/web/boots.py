"""Each device's last boot as SNMP reported it (netwatch_device_boot_time_seconds), kept as
polls arrive: the pages' recent-reboot markers read it without scanning poll results.

    boots = BootTimes()
    state.listeners.append(boots.on_target)      # the daemon wires it
    boots.of(("18.71.01.1003", "rtr"))           # Unix time, or None
    boots.version                                # moves when any boot time changes
"""

from __future__ import annotations

from collections.abc import Iterable

from netwatch.sites.targets import TargetState, Transition
from netwatch.snmp.result import SnmpResult

BOOT_TIME = "netwatch_device_boot_time_seconds"


class BootTimes:
    def __init__(self) -> None:
        self.times: dict[tuple[str, str], float] = {}
        self.version = 0

    def on_target(self, tstate: TargetState, transition: Transition | None) -> None:
        target, last = tstate.target, tstate.last
        if target.probe != "snmp" or target.device is None or last is None:
            return
        result = last.result
        if not isinstance(result, SnmpResult):
            return  # a failed poll says nothing about the boot: keep what we knew
        # the poller appends its computed samples (boot time among them) last
        boot = next((v for n, _, v in reversed(result.samples) if n == BOOT_TIME), None)
        key = target.device.key
        if boot is not None and self.times.get(key) != boot:
            self.times[key] = boot
            self.version += 1

    def of(self, device: tuple[str, str]) -> float | None:
        return self.times.get(device)

    def keep(self, devices: Iterable[tuple[str, str]]) -> None:
        """Follow a reload: devices that left are forgotten."""
        wanted = set(devices)
        for key in [k for k in self.times if k not in wanted]:
            del self.times[key]
            self.version += 1
