"""Load the inventory in a child process, so the parse's peak memory never becomes the daemon's.

PyYAML's nodes and marks and pydantic's intermediate objects for a 10,000-site config peak at
a few hundred MB; freed in the daemon, most of that memory would stay mapped (a fragmented
heap) for the daemon's whole life. A child interpreter parses and validates and sends back
the compact Inventory (pickled on its stdout); a ConfigError comes back as itself. Used at
start-up and on every reload.

    inventory = load_apart("/etc/netwatch/netwatch.yml", shard)
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

from netwatch import shard as sharding
from netwatch.errors import ConfigError, NetwatchError
from netwatch.inventory import Inventory


class LoadError(NetwatchError):
    """The loading child failed for a reason other than the config (a bug, no memory)."""


def load_apart(path: str | Path, shard: sharding.Shard | None = None,
               timeout: float = 600.0) -> Inventory:
    """shard.load() in a fresh interpreter; returns its Inventory or raises its ConfigError."""
    argv = [sys.executable, "-m", "netwatch.loading", str(path)]
    if shard is not None:
        argv.append(str(shard))
    child = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if child.returncode != 0:
        raise LoadError(f"loading {path} failed: {child.stderr.decode(errors='replace')[-2000:]}")
    result = pickle.loads(child.stdout)  # noqa: S301 (our own child's output)
    if isinstance(result, ConfigError):
        raise result
    assert isinstance(result, Inventory)
    return result


def _child(argv: list[str]) -> int:
    shard = sharding.Shard.parse(argv[1]) if len(argv) > 1 else None
    try:
        result: object = sharding.load(argv[0], shard)
    except ConfigError as exc:
        result = exc
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
