"""ICMP benchmark: N loopback targets (127.x.y.z), count 3, in two modes (issue 2, item 9).

    burst      every target polled at once through IcmpProber: wall time of one round
    scheduled  the real netwatch.app.Daemon on a generated config at a 15 s interval, scraped
               once per interval (gzip, as Prometheus asks): CPU cores used on average

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
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    cpu_seconds,
    loopback_addresses,
    peak_rss_bytes,
    percentile,
    rss_bytes,
    run_json,
    write_config,
)

COUNT = 3
INTERVAL = 15.0
TRUTH_DELAY = 0.020
ROOT = Path(__file__).resolve().parent.parent


def _quiet_logs() -> None:
    from netwatch import logs

    logs.configure("warning", json=True)


def _recording_prober(rtts: list[float], sent: list[int]):  # type: ignore[no-untyped-def]
    from netwatch.icmp.prober import IcmpProber

    class RecordingProber(IcmpProber):
        """Keeps every raw RTT and counts echoes (a list append per round)."""

        async def poll(self, target):  # type: ignore[no-untyped-def]
            result = await super().poll(target)
            rtts.extend(result.rtts)
            sent[0] += result.sent
            return result

    return RecordingProber()


async def burst(n: int) -> dict[str, object]:
    from netwatch.inventory import IcmpPolicy, Target

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


async def _truth_round(prober, targets, policy) -> list[float]:  # type: ignore[no-untyped-def]
    """RTT truth: the lab echo responder answers after exactly TRUTH_DELAY inside a namespace;
    polled in one round with all loopback targets, measured minus TRUTH_DELAY is the error
    under load. Needs root (namespaces); [] otherwise."""
    from netwatch import netns
    from netwatch.inventory import Target

    if netns.available() is not None:
        return []
    with netns.Namespace.create(hosts=10, silent=True, tag="bench") as ns:
        responder = ns.spawn([sys.executable, "-m", "netwatch.lab.echo", "--delay",
                              f"{TRUTH_DELAY * 1000:g}ms", "--lifetime", "60s"],
                             stdout=subprocess.PIPE, cwd=str(ROOT))
        assert responder.stdout is not None and responder.stdout.readline().strip() == b"ready"
        truth = [Target((f"truth{i}", "rtr", "icmp"), "icmp", a, policy)
                 for i, a in enumerate(ns.addresses)]
        results = await asyncio.gather(*(prober.poll(t) for t in [*targets, *truth]))
    return [rtt - TRUTH_DELAY for r in results[len(targets):] for rtt in r.rtts]


async def scheduled(n: int, intervals: int) -> dict[str, object]:
    import aiohttp

    from netwatch.app import Daemon
    from netwatch.inventory import load_inventory

    rtts: list[float] = []
    sent = [0]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_config(Path(tmp) / "bench.yml", loopback_addresses(n),
                            interval=f"{INTERVAL:g}s", count=COUNT)
        daemon = Daemon(path, load_inventory(path), probers={"icmp": _recording_prober(rtts, sent)},
                        listen="127.0.0.1:0")
        await daemon.start()
        host, port = daemon.addresses[0]
        url = f"http://{host}:{port}/metrics"
        try:
            async with aiohttp.ClientSession(auto_decompress=False) as http:
                await asyncio.sleep(INTERVAL + 1)  # warm-up: every timer has fired once
                rtts.clear()
                sent[0] = 0
                polls0, cpu0, wall0 = daemon.scheduler.polls, cpu_seconds(), time.monotonic()
                samples, scraped = [], 0
                for _ in range(intervals):
                    async with http.get(url, headers={"Accept-Encoding": "gzip"}) as response:
                        scraped += len(await response.read())
                    for _ in range(int(INTERVAL)):
                        await asyncio.sleep(1)
                        samples.append(rss_bytes())
                wall, cpu = time.monotonic() - wall0, cpu_seconds() - cpu0
                polls = daemon.scheduler.polls - polls0
        finally:
            await daemon.shutdown()
    return {"mode": "scheduled", "n": n, "wall": wall, "cpu": cpu, "echoes": sent[0], "polls": polls,
            "received": len(rtts), "p50": percentile(rtts, 50), "p99": percentile(rtts, 99),
            "rss": statistics.median(samples), "peak": peak_rss_bytes(),
            "scrape_bytes": scraped // max(1, intervals)}


def _row(r: dict[str, object]) -> str:
    echoes = int(r["echoes"])  # type: ignore[call-overload]
    cpu, wall = float(r["cpu"]), float(r["wall"])  # type: ignore[arg-type]
    per10k = cpu / echoes * 10_000 if echoes else float("nan")
    loss = 1 - int(r["received"]) / echoes if echoes else float("nan")  # type: ignore[call-overload]
    figure = f"{wall:6.2f} s wall" if r["mode"] == "burst" else f"{cpu / wall:6.3f} cores"
    return (f"{r['mode']:<10} {int(r['n']):>6}  {figure:>14}  {per10k:7.3f} s  "  # type: ignore[call-overload]
            f"{float(r['p50']) * 1e3:8.3f} {float(r['p99']) * 1e3:8.3f} ms  "  # type: ignore[arg-type]
            f"{loss:6.2%}  {float(r['rss']) / 1e6:6.0f} {float(r['peak']) / 1e6:6.0f} MB")  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and 10,000, 1 interval")
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--intervals", type=int, default=3, help="measured scheduled intervals")
    parser.add_argument("--modes", default="burst,scheduled")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import json

        _quiet_logs()
        mode, n = args.worker[0], int(args.worker[1])
        coro = burst(n) if mode == "burst" else scheduled(n, args.intervals)
        print(json.dumps(asyncio.run(coro)))
        return 0
    sizes = [1000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    intervals = 1 if args.quick else args.intervals
    truths: list[tuple[int, dict[str, object]]] = []
    print(f"netwatch ICMP benchmark: count {COUNT}, loopback targets, {os.cpu_count()} cores, "
          f"scheduled at {INTERVAL:g} s over {intervals} interval(s)")
    print(f"{'mode':<10} {'N':>6}  {'wall / cores':>14}  {'CPU/10k':>9}  "
          f"{'p50':>8} {'p99':>8}     {'loss':>6}  {'RSS':>6} {'peak':>6}")
    for mode in args.modes.split(","):
        for n in sizes:
            budget = 120 if mode == "burst" else INTERVAL * (intervals + 2) + 120
            result = run_json([__file__, "--worker", mode, str(n), "--intervals",
                               str(intervals)], timeout=budget)
            print(_row(result), flush=True)
            if result.get("truth_p50") is not None and result["truth_p50"] == result["truth_p50"]:
                truths.append((n, result))
    for n, r in truths:
        print(f"RTT truth, burst of {n} + 10 targets answering after {TRUTH_DELAY * 1000:g} ms "
              f"(lab echo responder in a namespace): error p50 "
              f"{float(r['truth_p50']) * 1e3:.3f} ms, p99 {float(r['truth_p99']) * 1e3:.3f} ms")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
