"""/metrics at scale (issue 9, item 4): a synthetic state of N devices (10,000 by default),
each with an ICMP target and an SNMP target of the `generic` profile with 8 interfaces,
built by the real daemon's state, sites and collector (netwatch.daemon.service.Daemon, not started:
no polling, outcomes recorded as the scheduler would record them), served by the real web
handler (aiohttp test server) and fetched with real HTTP GETs, plain and gzip.

Reported: the series mix, build time, scrape time and size (plain and gzip, median of 3),
and the event-loop lag during the scrapes (a concurrent task measuring its own wake-up
delay every 5 ms), RSS. The samples of one SNMP poll come from a recording (RouterOS,
decoded with the generic profile, 8 of its interfaces), values varied per device so gzip
sees realistic entropy.

    .venv/bin/python bench/exposition.py [--devices 10000]     JSON on the last line
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_seconds, peak_rss_bytes, percentile, rss_bytes, site_id

RECORDING = Path(__file__).resolve().parent.parent / "netwatch/lab/recordings/routeros.snmprec"
INTERFACES = 8


def config_text(n: int) -> str:
    lines = ['listen: "127.0.0.1:0"', "defaults:", "  snmp: {enabled: true, auth: bench}",
             "auths:", "  bench: {version: 2c, community: public}", "sites:"]
    for i in range(n):
        address = f"127.{1 + i // 65024}.{(i // 254) % 256}.{i % 254 + 1}"
        lines.append(f'  - {{id: "{site_id(i)}", name: Site {i}, kecamatan: K{i % 20}, '
                     f'devices: [{{name: rtr, role: router, address: "{address}", '
                     f"profile: generic}}]}}")
    return "\n".join(lines) + "\n"


async def template_samples() -> tuple[tuple[str, str, float], ...]:
    """One generic-profile poll's samples, restricted to 8 interfaces."""
    from netwatch.snmp import profiles
    from netwatch.snmp.poller import DeviceState, poll_device
    from netwatch.snmp.recorded import RecordedClient

    client = RecordedClient.from_file(RECORDING)
    state = DeviceState("generic")
    loaded = profiles.load()
    await poll_device(client, state, loaded, 10.0)
    result = await poll_device(client, state, loaded, 10.0)
    names = list(dict.fromkeys(extra.split(",")[0] for metric, extra, _ in result.samples
                               if extra.startswith("ifname=")))[:INTERFACES]
    keep = set(names)
    return tuple(s for s in result.samples
                 if not s[1].startswith("ifname=") or s[1].split(",")[0] in keep)


def build(daemon: Any, samples: tuple[tuple[str, str, float], ...]) -> None:
    """Every target's outcome recorded once, through the daemon's own recording path."""
    from netwatch.icmp.result import IcmpResult
    from netwatch.scheduler.prober import Outcome
    from netwatch.snmp.result import SnmpResult

    for i, target in enumerate(daemon.inventory.targets.values()):
        if target.probe == "icmp":
            base = 0.0002 + (i % 997) * 1e-6
            result: Any = IcmpResult(3, (base, base * 1.1, base * 0.9))
        else:
            varied = tuple((m, extra, v + i * 7919 if v > 1000 else v)
                           for m, extra, v in samples)
            result = SnmpResult(varied, "generic", values=len(varied), requests=3)
        daemon._record(target, Outcome(result, 0.05 + (i % 100) * 1e-3, 0.0))


def series_mix(body: bytes) -> dict[str, int]:
    mix: Counter[str] = Counter()
    for line in body.split(b"\n"):
        if not line or line.startswith(b"#"):
            continue
        name = line.split(b"{", 1)[0].split(b" ", 1)[0].decode()
        if name.startswith("netwatch_icmp_"):
            mix["icmp"] += 1
        elif name.startswith("netwatch_interface_"):
            mix["snmp interfaces"] += 1
        elif name.startswith("netwatch_device_"):
            mix["snmp device"] += 1
        elif name.startswith(("netwatch_up", "netwatch_poll_", "netwatch_state_changes")):
            mix["per target (up, duration, errors, changes)"] += 1
        elif name.startswith(("netwatch_site_", "netwatch_maintenance")):
            mix["sites"] += 1
        else:
            mix["other"] += 1
    return dict(mix)


def fetch(url: str, gzip: bool) -> None:
    """One GET from a separate process (the server's loop must not pay for the client):
    prints seconds and bytes received."""
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip" if gzip
                                                   else "identity"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        size = len(response.read())
    print(json.dumps({"s": time.perf_counter() - started, "bytes": size}))


async def scrape_under_watch(url: str, gzip: bool, repeats: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    running = True

    async def watch(period: float = 0.005) -> None:
        while running:
            before = loop.time()
            await asyncio.sleep(period)
            lags.append(max(0.0, loop.time() - before - period))

    times, sizes = [], []
    watcher = asyncio.create_task(watch())
    for _ in range(repeats):
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--fetch", url, *(["--gzip"] if gzip else []),
            stdout=asyncio.subprocess.PIPE)
        out, _ = await child.communicate()
        got = json.loads(out)
        times.append(got["s"])
        sizes.append(got["bytes"])
    running = False
    await watcher
    return {"s": statistics.median(times), "s_max": max(times), "bytes": sizes[-1],
            "lag_max": max(lags, default=0.0), "lag_p99": percentile(lags, 99)}


def render_split(daemon: Any) -> dict[str, float]:
    """Where a scrape's time goes, timed directly: joining the fragments, gzip level 1."""
    import gzip

    started = time.perf_counter()
    body = daemon.render_metrics()
    rendered = time.perf_counter()
    gzip.compress(body, compresslevel=1)
    return {"render_s": rendered - started, "gzip_s": time.perf_counter() - rendered}


async def measure(n: int, repeats: int) -> dict[str, Any]:
    from aiohttp.test_utils import TestServer

    from netwatch.base import logs
    from netwatch.daemon.inventory_file import read_inventory
    from netwatch.daemon.service import Daemon
    from netwatch.icmp.prober import IcmpProber
    from netwatch.inventory.model import Probe
    from netwatch.scheduler.prober import Prober
    from netwatch.snmp.prober import SnmpProber
    from netwatch.web.server import make_app

    logs.configure("error", json=True)
    samples = await template_samples()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.yml"
        path.write_text(config_text(n))
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        inventory = read_inventory(path)
        load_s = time.perf_counter() - wall0
        probers: dict[Probe, Prober] = {"icmp": IcmpProber(), "snmp": SnmpProber()}
        daemon = Daemon(path, inventory, probers=probers)
        daemon.state.sync(inventory)  # what Daemon._apply does, minus starting the scheduler
        daemon.sites.sync(inventory)
        build(daemon, samples)
        build_s, build_cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    server = TestServer(make_app(daemon), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/metrics"))
        plain = await scrape_under_watch(url, False, repeats)
        gz = await scrape_under_watch(url, True, repeats)
    finally:
        await server.close()
    split = render_split(daemon)
    mix = series_mix(daemon.render_metrics())
    return {"devices": n, "series": sum(mix.values()), "mix": mix,
            "samples_per_snmp_poll": len(samples), "config_load_s": load_s, "build_s": build_s,
            "build_cpu": build_cpu, "plain": plain, "gzip": gz, **split, "rss": rss_bytes(),
            "peak": peak_rss_bytes()}


def show(r: dict[str, Any]) -> None:
    mix = ", ".join(f"{k} {v:,}" for k, v in sorted(r["mix"].items(), key=lambda kv: -kv[1]))
    print(f"  {r['devices']:,} devices, {r['series']:,} series ({mix})")
    print(f"  state built in {r['build_s']:.1f} s (config load {r['config_load_s']:.1f} s); "
          f"RSS {r['rss'] / 1e6:.0f} MB, peak {r['peak'] / 1e6:.0f} MB")
    for kind in ("plain", "gzip"):
        x = r[kind]
        print(f"  GET /metrics {kind:<5}: {x['s']:.2f} s (max {x['s_max']:.2f}), "
              f"{x['bytes'] / 1e6:.1f} MB; event-loop lag max {x['lag_max'] * 1000:.1f} ms, "
              f"p99 {x['lag_p99'] * 1000:.1f} ms")
    print(f"  where the time goes: joining the fragments {r['render_s']:.2f} s, "
          f"gzip {r['gzip_s']:.2f} s (timed directly, no HTTP)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    parser.add_argument("--fetch", help=argparse.SUPPRESS)
    parser.add_argument("--gzip", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fetch:
        fetch(args.fetch, args.gzip)
        return 0
    result = asyncio.run(measure(args.devices, args.repeats))
    if not args.json:
        show(result)
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
