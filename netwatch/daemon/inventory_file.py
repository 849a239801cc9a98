"""The config file turned into the inventory the daemon polls: in this process, or apart.

    read_inventory(path, shard) -> Inventory          read_config + read_thresholds +
                                                      build_inventory + select
    read_inventory_apart(path, shard) -> Inventory    the same in a child interpreter

Reading apart keeps the parse's peak memory out of the daemon. PyYAML's nodes and marks and
pydantic's intermediate objects for a 10,000-site config peak at a few hundred MB; freed in the
daemon, most of that memory would stay mapped (a fragmented heap) for the daemon's whole life.
A child interpreter parses and validates and sends back the compact Inventory (pickled on its
stdout); a ConfigError comes back as itself. Used at start-up and on every reload.

The child is bounded: an address-space limit (RLIMIT_AS, CHILD_MEMORY) and a time limit
(CHILD_SECONDS, wall clock, and the same in CPU seconds). Whatever file it is pointed at, a
reload then fails cleanly (LoadError, one line) instead of taking the machine's memory or
hanging the reload for ever; the daemon keeps its running config.
"""

from __future__ import annotations

import pickle
import resource
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

# 10,000 sites peak at ~400 MB of address space in the child; 2 GiB leaves room to grow
CHILD_MEMORY = 2 << 30
CHILD_SECONDS = 120.0  # 10,000 sites load in ~10 s on this machine
_OUT_OF_MEMORY = 3  # the child's exit status when it hit its memory limit


class LoadError(NetwatchError):
    """The loading child failed for a reason other than the config (a bug, no memory)."""


def read_inventory(path: str | Path, shard: Shard | None = None,
                   warnings: list[ConfigIssue] | None = None) -> Inventory:
    """The whole config (and its thresholds file) validated, then the part this shard polls.
    `warnings` (check-config): collect what only the running service can settle."""
    config, sources = read_config(path, warnings)
    thresholds = read_thresholds(Path(config.thresholds) if config.thresholds else None)
    inventory = select(build_inventory(config, sources, profiles.available(), thresholds), shard)
    inventory.warnings = [str(w) for w in sources.warnings]
    return inventory


def read_inventory_apart(path: str | Path, shard: Shard | None = None,
                         timeout: float = CHILD_SECONDS, memory: int = CHILD_MEMORY
                         ) -> Inventory:
    """read_inventory() in a fresh interpreter with bounded memory and time; returns its
    Inventory or raises its ConfigError, else LoadError."""
    argv = [sys.executable, "-m", "netwatch.daemon.inventory_file", str(path), str(memory),
            f"{timeout:g}"]
    if shard is not None:
        argv.append(str(shard))
    try:
        child = subprocess.run(argv, capture_output=True, timeout=timeout, check=False,
                               stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise LoadError(f"loading {path} took longer than {timeout:g}s") from None
    if child.returncode == _OUT_OF_MEMORY:
        raise LoadError(f"loading {path} needed more than {memory >> 20} MiB of memory")
    if child.returncode < 0:  # SIGXCPU (its CPU limit) or a kill
        raise LoadError(f"loading {path} was stopped by signal {-child.returncode}")
    if child.returncode != 0:
        tail = child.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise LoadError(f"loading {path} failed (exit status {child.returncode}): {tail[0]}")
    try:
        result = pickle.loads(child.stdout)
    except Exception as exc:  # a truncated or garbled reply: the child died part way
        raise LoadError(f"loading {path} failed: unreadable reply ({exc})") from None
    if isinstance(result, ConfigError):
        raise result
    if not isinstance(result, Inventory):
        raise LoadError(f"loading {path} failed: unexpected reply {type(result).__name__}")
    return result


def _limit(memory: int, seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def _child(argv: list[str]) -> int:
    path, memory, seconds = argv[0], int(argv[1]), float(argv[2])
    shard = Shard.parse(argv[3]) if len(argv) > 3 else None
    _limit(memory, seconds)
    try:
        result: object = read_inventory(path, shard)
    except ConfigError as exc:
        result = exc
    except MemoryError:
        return _OUT_OF_MEMORY
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
