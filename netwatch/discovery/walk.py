"""`netwatch discover`: read what devices say about themselves and their neighbours.

    readings = await read_devices(targets)        # Target objects: the config's, or adhoc
    print(neighbor_table(reading))

The SNMP prober and profiles of the daemon do the reading, with each profile reduced to
what discovery needs (`light_profiles`): detection, identity, the neighbour tables, the
device's own MACs and the interface names they refer to; no metric is walked. So a device
costs about a refresh's system GET and one walk of a few columns.

Only the targets given are contacted: addresses from the command line or the config. An
address a neighbour advertises is printed, never polled.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from netwatch.base.errors import ProbeError
from netwatch.base.exposition import parse_labels
from netwatch.discovery.topology import DeviceKey
from netwatch.inventory.model import Target
from netwatch.snmp.neighbors import Topology
from netwatch.snmp.prober import SnmpProber
from netwatch.snmp.profile import NEIGHBOR_FIELDS, Profile
from netwatch.snmp.result import SnmpResult

CONCURRENCY = 32  # devices read at once


@dataclass(frozen=True, slots=True)
class Reading:
    """One device as discovery read it (`error` set when it did not answer)."""

    address: str
    key: DeviceKey | None  # the configured device, when read from a config
    profile: str = ""
    identity: dict[str, str] = dataclasses.field(default_factory=dict)
    topology: Topology | None = None
    error: str = ""

    @property
    def sysname(self) -> str:
        return self.identity.get("sysname", "")


def light_profiles(profiles: dict[str, Profile]) -> dict[str, Profile]:
    """Each profile with only what discovery reads (see the module docstring)."""
    out: dict[str, Profile] = {}
    for name, profile in profiles.items():
        referred = {s.ref.partition(".")[0] for t in profile.neighbors
                    for field in NEIGHBOR_FIELDS for s in getattr(t, field) if s.ref}
        tables = tuple(t.model_copy(update={"metrics": [], "info": None})
                       for t in profile.tables if t.name in referred)
        out[name] = dataclasses.replace(profile, scalars=(), tables=tables)
    return out


def _identity(result: SnmpResult) -> dict[str, str]:
    for name, labels, _ in result.samples:
        if name == "netwatch_device_info":
            return parse_labels(labels)
    return {}


async def _read(prober: SnmpProber, target: Target, slots: asyncio.Semaphore,
                configured: bool) -> Reading:
    key = target.device.key if configured and target.device is not None else None
    async with slots:
        try:
            result = await prober.poll(target)
        except ProbeError as exc:
            return Reading(target.address, key, error=f"{exc.reason}: {exc}")
    return Reading(target.address, key, result.profile, _identity(result), result.topology,
                   "" if result.ok else f"{result.reason}: {result.detail}")


async def read_devices(targets: list[Target], configured: bool = False,
                       concurrency: int = CONCURRENCY,
                       profiles: dict[str, Profile] | None = None) -> list[Reading]:
    """Read every target (at most `concurrency` at once), in the order given; `configured`:
    the targets are the config's (readings carry their device keys)."""
    prober = SnmpProber(profiles=light_profiles(profiles or SnmpProber().profiles))
    await prober.start()
    slots = asyncio.Semaphore(concurrency)
    try:
        return list(await asyncio.gather(*(_read(prober, t, slots, configured)
                                            for t in targets)))
    finally:
        await prober.close()


def _cells(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]


def neighbor_table(reading: Reading) -> str:
    """A device's neighbours as `netwatch discover ADDRESS` prints them."""
    who = reading.sysname or "-"
    if reading.error and reading.topology is None:
        return f"{reading.address}  FAILED ({reading.error})"
    model = " ".join(v for v in (reading.identity.get("vendor"), reading.identity.get("model"))
                     if v)
    lines = [f"{reading.address}  {who}  ({model or 'unknown model'}, profile "
             f"{reading.profile})"]
    neighbors = reading.topology.neighbors if reading.topology else ()
    if not neighbors:
        lines.append("  (no neighbours reported)")
    else:
        rows: list[tuple[str, ...]] = [("interface", "protocol", "neighbour", "port", "chassis",
                                        "addresses", "platform")]
        rows += [(n.ifname or "-", n.protocol, n.name or "-", n.port or "-", n.chassis or "-",
                  ",".join(n.addresses) or "-", n.description[:40] or "-") for n in neighbors]
        lines += _cells(rows)
    if reading.error:
        lines.append(f"  INCOMPLETE: {reading.error}")
    return "\n".join(lines)
