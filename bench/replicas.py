"""What twins cost Prometheus: the rule groups' evaluation time with one netwatch instance per
shard and with two (twins), at a city's and a province's size.

Stand-in exporters serve what a daemon exports for N sites (the site state set and info, a
router and an access point each with netwatch_up, the suppression state set and ICMP
counters, the router's uplink counter, netwatch_poller_isolated); one per instance. Debian's
Prometheus scrapes them and evaluates the shipped rules (deploy/prometheus/rules, rendered
with `--eval` as every group's interval); the figure is the median of each group's last
evaluation time (`/api/v1/rules`) over the measuring window.

    .venv/bin/python bench/replicas.py            # 126 and 2,650 sites, 1 and 2 instances
    .venv/bin/python bench/replicas.py --sites 2650 --instances 2

Before/after a change of the rule templates: run a copy of this script from outside the
checkout with PYTHONPATH=<the other checkout> (it renders that checkout's templates).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netwatch.lab.ports import free_port
from netwatch.lab.stack import PromStack, missing_binaries

STATES = ("up", "degraded", "down", "unreachable", "maintenance")
REASONS = ("parent_down", "upstream_down", "maintenance", "poller_isolated")
GROUPS = ("netwatch-site-state", "netwatch-availability-5m", "netwatch-icmp",
          "netwatch-interfaces", "netwatch-site-alerts", "netwatch-device-alerts")


def exposition(sites: int, started: float) -> str:
    """One instance's series for `sites` sites: 2% down, the rest up; counters that move."""
    elapsed = int(time.time() - started)
    lines = ["netwatch_poller_isolated 0"]
    for n in range(sites):
        site, kec = f"18.{n // 100:02d}.{n % 100:02d}.1001", f"K{n % 40}"
        labels = f'site="{site}",kecamatan="{kec}"'
        state = "down" if n % 50 == 0 else "up"
        lines += [f'netwatch_site_state{{{labels},state="{s}"}} {int(s == state)}'
                  for s in STATES]
        lines.append(f'netwatch_site_info{{{labels},kelurahan="Kel {n}",latitude="",'
                     f'longitude="",isp="isp-{n % 5}",upstream="pop-{n % 40}"}} 1')
        for device, role in (("rtr", "router"), ("ap1", "ap")):
            dl = f'{labels},device="{device}",role="{role}"'
            up = int(state == "up")
            reason = "parent_down" if device == "ap1" and not up else None
            lines.append(f'netwatch_up{{{dl},probe="icmp"}} {up}')
            lines += [f'netwatch_device_suppressed{{{dl},reason="{r}"}} {int(r == reason)}'
                      for r in REASONS]
            lines.append(f"netwatch_icmp_requests_total{{{dl}}} {5 * elapsed}")
            lines.append(f"netwatch_icmp_responses_total{{{dl}}} {5 * elapsed * up}")
        rl = f'{labels},device="rtr",role="router",ifname="ether1"'
        lines.append(f"netwatch_interface_receive_bytes_total{{{rl}}} {125000 * elapsed}")
        lines.append(f"netwatch_interface_uplink{{{rl}}} 1")
    return "\n".join(lines) + "\n"


async def serve(sites: int, instances: int, every: float
                ) -> tuple[list[str], list[web.AppRunner]]:
    """`instances` stand-in exporters serving the same text (twins that agree), re-rendered
    at most every `every` seconds (rendering competes with Prometheus for the CPU)."""
    started = time.time()
    cache = [exposition(sites, started)]
    rendered = [time.time()]

    async def metrics(_: web.Request) -> web.Response:
        if time.time() - rendered[0] > every:  # counters move; render once per scrape
            cache[0], rendered[0] = exposition(sites, started), time.time()
        return web.Response(text=cache[0])

    targets, runners = [], []
    for _ in range(instances):
        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        targets.append(f"127.0.0.1:{port}")
        runners.append(runner)
    return targets, runners


async def measure(sites: int, instances: int, args: argparse.Namespace) -> dict[str, float]:
    targets, runners = await serve(sites, instances, seconds(args.eval))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
            overrides = {"eval_interval": args.eval, "slow_eval_interval": args.eval}
            async with PromStack(Path(tmp), targets, overrides=overrides,
                                 scrape_interval=args.eval) as stack:
                await asyncio.sleep(args.warmup)
                samples: dict[str, list[float]] = {g: [] for g in GROUPS}
                deadline = time.monotonic() + args.seconds
                async with aiohttp.ClientSession() as session:
                    while time.monotonic() < deadline:
                        async with session.get(f"{stack.prometheus_url}/api/v1/rules") as r:
                            body = await r.json()
                        for group in body["data"]["groups"]:
                            if group["name"] in samples:
                                samples[group["name"]].append(float(group["evaluationTime"]))
                        await asyncio.sleep(2)
                    async with session.get(f"{stack.prometheus_url}/metrics") as r:
                        own = await r.text()
                head = next((float(line.split()[1]) for line in own.splitlines()
                             if line.startswith("prometheus_tsdb_head_series ")), 0.0)
        return {**{g: statistics.median(v) for g, v in samples.items() if v}, "series": head}
    finally:
        for runner in runners:
            await runner.cleanup()


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60}
    return float(duration[:-1]) * units[duration[-1]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[126, 2650])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--eval", default="15s", help="scrape and evaluation interval")
    parser.add_argument("--warmup", type=float, default=45.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="measuring window")
    args = parser.parse_args()
    missing = missing_binaries()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    print(f"rule group evaluation, median ms ({args.eval} interval, {args.seconds:.0f} s "
          f"after {args.warmup:.0f} s warm-up)")
    print(f"  {'sites':>6} {'inst':>4} {'series':>8} " + " ".join(f"{g[9:]:>16}" for g in GROUPS))
    for sites in args.sites:
        for instances in args.instances:
            got = asyncio.run(measure(sites, instances, args))
            cells = " ".join(f"{got[g] * 1e3:16.1f}" if g in got else f"{'-':>16}"
                             for g in GROUPS)
            print(f"  {sites:>6} {instances:>4} {got['series']:>8.0f} {cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
