"""ICMP benchmark: N loopback targets (127.x.y.z), count 3, in two modes (issue 2, item 9).

    burst      every target polled at once through IcmpProber: wall time of one round
    scheduled  the real netwatch.daemon.service.Daemon on a generated config at a 15 s
               interval, scraped once per interval (gzip, as Prometheus asks): CPU cores
               used on average, lateness, skipped polls (bench/daemon.py measures; with root,
               25 "RTT truth" targets answering after exactly 20 ms ride along, and --dead 0.2
               swaps 20 % of the targets for silent ones in a namespace)

Each (mode, N) runs in a fresh process so RSS figures are its own. Reported: CPU seconds per
10,000 echoes (everything in the process: scheduling, state, histograms, rendering), RTT
p50/p99 from the raw RTTs (true loopback RTT is tens of microseconds: anything above is
measurement error), RSS steady (median of samples after the warm-up) and peak (VmHWM).

    .venv/bin/python bench/icmp.py              N = 1,000 / 5,000 / 10,000, 3 intervals each
    .venv/bin/python bench/icmp.py --quick      N = 1,000 and 10,000, 1 interval
    .venv/bin/python bench/icmp.py --worker burst 10000     one measurement, JSON on stdout
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    cpu_seconds,
    delete_routed,
    loopback_addresses,
    peak_rss_bytes,
    percentile,
    routed_namespace,
    rss_bytes,
    run_json,
)
from bench.daemon import run_fleet

if TYPE_CHECKING:  # annotations only: the functions below import netwatch where they run
    from netwatch.icmp.prober import IcmpProber
    from netwatch.icmp.result import IcmpResult
    from netwatch.inventory.model import IcmpPolicy, Target

COUNT = 3
INTERVAL = 15.0
TRUTH_DELAY = 0.020


def _quiet_logs() -> None:
    from netwatch.base import logs

    logs.configure("warning", json=True)


def _recording_prober(rtts: list[float], sent: list[int]) -> IcmpProber:
    from netwatch.icmp.prober import IcmpProber

    class RecordingProber(IcmpProber):
        """Keeps every raw RTT and counts echoes (a list append per round)."""

        async def poll(self, target: Target) -> IcmpResult:
            result = await super().poll(target)
            rtts.extend(result.rtts)
            sent[0] += result.sent
            return result

    return RecordingProber()


async def burst(n: int) -> dict[str, object]:
    from netwatch.inventory.model import IcmpPolicy, Target

    policy = IcmpPolicy(interval=INTERVAL, count=COUNT, spacing=1.0, timeout=2.0, size=56,
                        deadline=12.0)
    targets = [Target((f"s{i}", "rtr", "icmp"), "icmp", a, policy)
               for i, a in enumerate(loopback_addresses(n))]
    rtts: list[float] = []
    prober = _recording_prober(rtts, [0])
    await prober.start()
    try:
        await asyncio.gather(*(prober.poll(t) for t in targets))  # warm-up round
        rtts.clear()
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        results = await asyncio.gather(*(prober.poll(t) for t in targets))
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        figures = {"received": len(rtts), "p50": percentile(rtts, 50),
                   "p99": percentile(rtts, 99)}
        errors = await _truth_round(prober, targets, policy)
    finally:
        await prober.close()
    sent = sum(r.sent for r in results)
    return {"mode": "burst", "n": n, "wall": wall, "cpu": cpu, "echoes": sent, **figures,
            "rss": rss_bytes(), "peak": peak_rss_bytes(),
            "truth_p50": percentile(errors, 50), "truth_p99": percentile(errors, 99)}


async def _truth_round(prober: IcmpProber, targets: list[Target],
                       policy: IcmpPolicy) -> list[float]:
    """RTT truth: the lab echo responder answers after exactly TRUTH_DELAY inside a namespace;
    polled in one round with all loopback targets, measured minus TRUTH_DELAY is the error
    under load. Needs root (namespaces); [] otherwise."""
    from netwatch.inventory.model import Target

    with truth_addresses(10) as addresses:
        truth = [Target((f"truth{i}", "rtr", "icmp"), "icmp", a, policy)
                 for i, a in enumerate(addresses)]
        results = await asyncio.gather(*(prober.poll(t) for t in [*targets, *truth]))
    return [rtt - TRUTH_DELAY for r in results[len(targets):] for rtt in r.rtts]


@contextlib.contextmanager
def truth_addresses(hosts: int = 25, delay: float = TRUTH_DELAY) -> Iterator[list[str]]:
    """Addresses in a namespace whose echo replies come from the lab echo responder after
    exactly `delay` (SCHED_FIFO sender); [] without root."""
    from netwatch.lab import netns

    if netns.available() is not None:
        yield []
        return
    with netns.Namespace.create(hosts=hosts, silent=True, tag="truth") as ns:
        responder = ns.spawn([sys.executable, "-m", "netwatch.lab.echo", "--delay",
                              f"{delay * 1000:g}ms", "--realtime", "--lifetime", "4h"],
                             stdout=subprocess.PIPE, cwd=str(ROOT))
        assert responder.stdout is not None and responder.stdout.readline().strip() == b"ready"
        yield list(ns.addresses)


@contextlib.contextmanager
def dead_addresses(count: int) -> Iterator[list[str]]:
    """`count` addresses that never answer (a namespace with its kernel echo off)."""
    if count <= 0:
        yield []
        return
    ns, addresses = routed_namespace(count, silent=True, tag="dead")
    try:
        yield addresses
    finally:
        delete_routed(ns)


def scheduled(n: int, window: float, truth: Sequence[str] = (), dead: Sequence[str] = (),
              warmup: float = INTERVAL + 1) -> dict[str, Any]:
    """The daemon polling n targets: n - len(dead) loopback ones and the dead, plus truth."""
    loopback = loopback_addresses(n - len(dead))
    classes = dict.fromkeys(truth, "truth") | dict.fromkeys(dead, "dead")
    result = run_fleet([*loopback, *dead, *truth], [], classes, warmup=warmup, window=window,
                       icmp_interval=INTERVAL, count=COUNT)
    result.update(mode="scheduled", n=n, dead=len(dead), truth=len(truth))
    return result


def burst_row(r: dict[str, Any]) -> str:
    per10k = r["cpu"] / r["echoes"] * 10_000 if r["echoes"] else float("nan")
    loss = 1 - r["received"] / r["echoes"] if r["echoes"] else float("nan")
    truth = (f"  truth +{r['truth_p50'] * 1e3:.3f}/+{r['truth_p99'] * 1e3:.3f} ms"
             if r.get("truth_p50") == r.get("truth_p50") else "")
    return (f"burst      {r['n']:>6}  {r['wall']:6.2f} s wall    {per10k:7.3f} s  "
            f"{r['p50'] * 1e3:7.3f} {r['p99'] * 1e3:7.3f} ms  {loss:6.2%}  "
            f"{r['rss'] / 1e6:5.0f} {r['peak'] / 1e6:5.0f} MB{truth}")


def scheduled_row(r: dict[str, Any]) -> str:
    rtt, truth = r["rtt"].get("loopback", {}), r["rtt"].get("truth")
    late = r["lateness"].get("icmp", {})
    loss = 1 - rtt.get("n", 0) / max(1, r["sent"].get("loopback", 0))
    extra = (f"  truth +{(truth['p50'] - TRUTH_DELAY) * 1e3:.3f}/"
             f"+{(truth['p99'] - TRUTH_DELAY) * 1e3:.3f} ms" if truth else "")
    return (f"scheduled  {r['n']:>6}  {r['cores']:6.3f} cores    {r['per10k']:7.3f} s  "
            f"{rtt.get('p50', 0) * 1e3:7.3f} {rtt.get('p99', 0) * 1e3:7.3f} ms  {loss:6.2%}  "
            f"{r['rss'] / 1e6:5.0f} {r['peak'] / 1e6:5.0f} MB  late p99 "
            f"{late.get('p99', 0) * 1e3:.0f} ms, skipped {r['skipped']['icmp']:.0f}, "
            f"/metrics {r['scrape_gzip_s']:.2f} s {r['scrape_gzip_bytes'] / 1e6:.1f} MB gz"
            f"{extra}" + (f"  ({r['dead']} dead)" if r["dead"] else ""))


HEADER = (f"{'mode':<10} {'N':>6}  {'wall / cores':>14}  {'CPU/10k':>9}  {'p50':>7} {'p99':>7}"
          f"     {'loss':>6}  {'RSS':>5} {'peak':>5}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and 10,000, 1 interval")
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--intervals", type=int, default=2, help="measured scheduled intervals")
    parser.add_argument("--modes", default="burst,scheduled")
    parser.add_argument("--dead", type=float, default=0.0, help="share of dead targets")
    parser.add_argument("--worker", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import json

        _quiet_logs()
        print(json.dumps(asyncio.run(burst(args.worker))))
        return 0
    sizes = [1000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    intervals = 1 if args.quick else args.intervals
    print(f"netwatch ICMP benchmark: count {COUNT}, loopback targets, {os.cpu_count()} cores, "
          f"scheduled at {INTERVAL:g} s over {intervals} interval(s)")
    print(HEADER)
    modes = args.modes.split(",")
    if "burst" in modes:
        for n in sizes:
            print(burst_row(run_json([__file__, "--worker", str(n)], timeout=180)), flush=True)
    if "scheduled" in modes:
        with truth_addresses() as truth:
            for n in sizes:
                with dead_addresses(round(n * args.dead)) as dead:
                    print(scheduled_row(scheduled(n, INTERVAL * intervals, truth, dead)),
                          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
