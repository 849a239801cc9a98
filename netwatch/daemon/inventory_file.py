"""The config file turned into the inventory the daemon polls: in this process, or apart.

    read_inventory(path, shard) -> Inventory          read_config + read_thresholds +
                                                      build_inventory + select
    read_inventory_apart(path, shard) -> Inventory    the same in a child interpreter

Reading apart keeps the parse's peak memory out of the daemon. PyYAML's nodes and marks and
pydantic's intermediate objects for a 10,000-site config peak at a few hundred MB; freed in the
daemon, most of that memory would stay mapped (a fragmented heap) for the daemon's whole life.
A child interpreter parses and validates and sends back the compact Inventory (pickled on its
stdout); a ConfigError comes back as itself. Used at start-up and on every reload.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

from netwatch.base.errors import ConfigError, ConfigIssue, NetwatchError
from netwatch.config.read import read_config
from netwatch.config.thresholds import read_thresholds
from netwatch.inventory.build import build_inventory
from netwatch.inventory.model import Inventory
from netwatch.inventory.shard import Shard, select
from netwatch.snmp import profiles


class LoadError(NetwatchError):
    """The loading child failed for a reason other than the config (a bug, no memory)."""


def read_inventory(path: str | Path, shard: Shard | None = None,
                   warnings: list[ConfigIssue] | None = None) -> Inventory:
    """The whole config (and its thresholds file) validated, then the part this shard polls.
    `warnings` (check-config): collect what only the running service can settle."""
    config, sources = read_config(path, warnings)
    thresholds = read_thresholds(Path(config.thresholds) if config.thresholds else None)
    return select(build_inventory(config, sources, profiles.available(), thresholds), shard)


def read_inventory_apart(path: str | Path, shard: Shard | None = None,
                         timeout: float = 600.0) -> Inventory:
    """read_inventory() in a fresh interpreter; returns its Inventory or raises its ConfigError."""
    argv = [sys.executable, "-m", "netwatch.daemon.inventory_file", str(path)]
    if shard is not None:
        argv.append(str(shard))
    child = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if child.returncode != 0:
        raise LoadError(f"loading {path} failed: {child.stderr.decode(errors='replace')[-2000:]}")
    result = pickle.loads(child.stdout)
    if isinstance(result, ConfigError):
        raise result
    assert isinstance(result, Inventory)
    return result


def _child(argv: list[str]) -> int:
    shard = Shard.parse(argv[1]) if len(argv) > 1 else None
    try:
        result: object = read_inventory(argv[0], shard)
    except ConfigError as exc:
        result = exc
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
