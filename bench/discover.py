"""`netwatch discover --config` on the lab city (issue 19, item 6: within 30 s).

    .venv/bin/python bench/discover.py              # the whole lab city, 3 runs
    .venv/bin/python bench/discover.py --runs 1 --kecamatan 18.71.01,18.71.02

The lab (netwatch.lab: every kelurahan of the city with its router and access point, the
POPs and the core, served by one snmpsim on loopback addresses; no namespaces, no trouble)
is started once; `netwatch discover --config` then runs against its config as an operator
would run it (a fresh process, the real CLI), each run timed on the wall clock, its CPU
taken from the child's rusage. Printed: devices, seconds per run (median, min-max), CPU,
and what the proposal holds. The lab topology (netwatch.lab.topologies) runs once beside
it, for its findings. Only the addresses in the configs are contacted (loopback).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netwatch.lab.lab import Lab
from netwatch.lab.plan import LabPlan, city
from netwatch.lab.topologies import topology_plan

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 30.0


@dataclass
class Run:
    seconds: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str


def discover(config: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "netwatch", "discover", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, cpu, done.returncode, done.stdout, done.stderr)


def summary(run: Run) -> str:
    """What the proposal holds: sites to change, moved devices, unknown neighbours."""
    proposal = yaml.safe_load(run.stdout) or {}
    footer = [line for line in run.stdout.splitlines() if line.startswith("#")][-3:]
    return (f"{len(proposal.get('sites') or [])} sites with proposed links, "
            f"{len(proposal.get('moved_devices') or [])} moved devices, "
            f"{len(proposal.get('unknown_neighbors') or [])} unknown neighbours; "
            + " / ".join(line.lstrip("# ") for line in footer))


def measure(name: str, plan: LabPlan, runs: int) -> list[Run]:
    devices = len(plan.devices())
    with Lab(plan, use_namespaces=False) as lab:
        done = [discover(lab.config_path) for _ in range(runs)]
    failed = [r for r in done if r.returncode != 0]
    if failed:
        print(f"  {name}: discover failed ({failed[0].returncode}): {failed[0].stderr[-500:]}")
        return done
    seconds = [r.seconds for r in done]
    print(f"  {name}: {devices} devices: {statistics.median(seconds):.1f} s "
          f"({min(seconds):.1f}-{max(seconds):.1f} s over {runs} runs; target <= "
          f"{TARGET_SECONDS:.0f} s), CPU {statistics.median(r.cpu for r in done):.1f} s")
    print(f"    {summary(done[-1])}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kecamatan", help="comma-separated kecamatan codes (default: all)")
    args = parser.parse_args()
    plan = city(args.kecamatan.split(",") if args.kecamatan else None)
    print(f"netwatch discover --config: the lab city ({len(plan.sites)} sites, "
          f"{len(plan.upstreams)} POPs) and the lab topology, loopback, snmpsim")
    measure("lab city", plan, args.runs)
    measure("lab topology", topology_plan(), 1)


if __name__ == "__main__":
    main()
