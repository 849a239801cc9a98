"""Split one inventory across N netwatch instances: `netwatch run --shard K/N CONFIG`.

The unit of sharding is the upstream group (`Device.group`: the root of a site's upstream
chain, or the site itself when it hangs off none), so a site, its upstream and every site
behind that upstream are polled by the same instance and topology (suppression, area
outages) stays within one shard. Groups go to shards by rendezvous (highest-random-weight)
hashing: each group picks the shard whose hash of (group, shard) is highest. Going from N to
N+1 instances moves only the groups the new shard wins (about 1/(N+1) of them), and nothing
between the old shards. Canaries are polled by every shard: each poller must know whether it
is cut off itself.

    shard = Shard.parse("2/3")
    shard.owns("pop-kedaton")               # True on exactly one of 1/3, 2/3, 3/3
    select(inventory, shard) -> Inventory   # only this shard's sites, upstreams and targets
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass

from netwatch.inventory.model import Inventory

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 1024


def weight(group: str, index: int) -> int:
    """The rendezvous weight of a group on shard `index`: stable across runs and machines."""
    digest = hashlib.blake2b(f"{group}\0{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(group: str, count: int) -> int:
    """The shard (1..count) that polls this group."""
    return max(range(1, count + 1), key=lambda index: weight(group, index))


@dataclass(frozen=True, slots=True)
class Shard:
    """Instance `index` of `count` (1-based: `--shard 1/3` is the first of three)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ValueError(f"shard count must be 1..{MAX_SHARDS}, not {self.count}")
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard number must be 1..{self.count}, not {self.index}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` as typed on the command line; ValueError says what is wrong."""
        match = _SPEC.match(text)
        if not match:
            raise ValueError(f"not a shard: {text!r} (use K/N, e.g. 1/3 for the first of three)")
        return cls(int(match.group(1)), int(match.group(2)))

    def owns(self, group: str) -> bool:
        return owner(group, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def groups(inventory: Inventory) -> set[str]:
    """Every upstream group of the inventory (canaries belong to none)."""
    return {device.group for device in inventory.devices.values()}


def select(inventory: Inventory, shard: Shard | None) -> Inventory:
    """The part of the inventory this shard polls: its groups' devices, sites, upstreams and
    targets, plus every canary. With no shard (or 1/1) the inventory is returned as is."""
    if shard is None or shard.count == 1:
        return inventory
    owned = {group for group in groups(inventory) if shard.owns(group)}
    devices = {key: d for key, d in inventory.devices.items() if d.group in owned}
    owners = {site for site, _ in devices}
    targets = {
        key: t for key, t in inventory.targets.items()
        if t.canary is not None or (t.device is not None and t.device.group in owned)
    }
    # replace(): whatever else the inventory carries (config, timezone, ...) is kept
    return dataclasses.replace(
        inventory,
        sites={k: s for k, s in inventory.sites.items() if k in owners},
        upstreams={k: u for k, u in inventory.upstreams.items() if k in owners},
        canaries=dict(inventory.canaries),
        devices=devices,
        targets=targets,
    )
