"""`netwatch demo`: the whole product on this machine, no network and no hardware needed.

Starts the lab (the Bandar Lampung city on loopback, trouble in namespaces when root), then
the daemon polling it with the real ICMP and SNMP code, serving /metrics on loopback. Ctrl-C
(or --duration) stops everything and checks that nothing is left behind.

The banner with the URLs would scroll away under the daemon's log lines: a status line with
the site counts and the URLs follows every STATUS_EVERY seconds, with each site that is not
up and its cause (power, radio_degraded, ...: docs/causes.md) under it. The links are the ones that
work with Debian's versions: Prometheus 2.42 serves its alerts page at /classic/alerts, and
Debian's Alertmanager 0.25 has no web UI (its API and `amtool` show the alerts).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module for its parser only: keep start-up light
    from netwatch.daemon.service import Daemon
    from netwatch.lab.lab import Lab

STATUS_EVERY = 120.0  # seconds between status lines
LISTED = 25  # sites not up listed with their cause under each status line


def _banner(lab: Lab, daemon: Daemon, extra: list[str]) -> str:
    url = f"http://{daemon.listen}"
    lines = [
        "",
        f"netwatch demo: {len(lab.plan.sites)} kelurahan of Kota Bandar Lampung on this machine",
        f"  status page   {url}/",
        f"  metrics       {url}/metrics",
        *extra,
        f"  config        {lab.config_path}",
        "  trouble       " + ("; ".join(
            f"{t.kind} ({len(t.sites)} site{'s' if len(t.sites) != 1 else ''})"
            for t in lab.plan.troubles) or "none"),
    ]
    lines += [f"  not played    {s}" for s in lab.skipped]
    lines += ["Stop with Ctrl-C: namespaces, agents and ports are removed.", ""]
    return "\n".join(lines)


def status_line(daemon: Daemon, links: str) -> str:
    """`netwatch demo 09:45: 126 sites: 118 up, 3 down, ... | http://...` (the URLs again),
    then one line per site that is not up with the daemon's cause (at most LISTED):
    `  down         power             Way Halim (18.71.07.1001), Kec. ...: rtr down`."""
    from collections import Counter
    from datetime import datetime

    rows = daemon.status_rows()  # worst first
    states = Counter(row[3] for row in rows)
    order = ("down", "unreachable", "degraded", "maintenance", "unknown", "up")
    counts = ", ".join(f"{states[s]} {s}" for s in order if states[s])
    troubled = [row for row in rows if row[3] not in ("up", "unknown")]
    lines = [f"netwatch demo {datetime.now():%H:%M}: {sum(states.values())} sites: {counts} | "
             f"{links}"]
    lines += [f"  {state:<12} {(cause or '-'):<17} {name} ({site}), Kec. {kecamatan}: {text}"
              for site, name, kecamatan, state, text, cause, *_ in troubled[:LISTED]]
    if len(troubled) > LISTED:
        lines.append(f"  ... and {len(troubled) - LISTED} more on the status page")
    return "\n".join(lines)


async def _repeat_status(daemon: Daemon, links: str) -> None:
    while True:
        await asyncio.sleep(STATUS_EVERY)
        print(status_line(daemon, links), file=sys.stderr, flush=True)


def _site_lookup(daemon: Daemon) -> Any:
    def lookup(site: str) -> tuple[str, str]:
        for row in daemon.status_rows():
            if row[0] == site:
                return row[1], row[4]
        return "", ""
    return lookup


async def _run(args: argparse.Namespace, lab: Lab) -> int:
    from netwatch.base.errors import ListenError, StartupError
    from netwatch.daemon.inventory_file import read_inventory
    from netwatch.daemon.service import Daemon

    inventory = read_inventory(lab.config_path)
    daemon = Daemon(lab.config_path, inventory)
    try:
        await daemon.start()
    except ListenError as exc:
        print(f"netwatch demo: cannot listen on {exc.listen}: {exc.reason} (another netwatch "
              "running? choose another port: --listen 127.0.0.1:9431)", file=sys.stderr)
        return 1
    except StartupError as exc:
        print(f"netwatch demo: {exc}", file=sys.stderr)
        return 1
    from netwatch.lab.alertlog import AlertLog

    extra: list[str] = []
    links = f"status page http://{daemon.listen}/"
    stack = None
    if args.with_prometheus:
        from netwatch.lab.stack import PromStack, missing_binaries

        reason = missing_binaries()
        if reason:
            print(f"netwatch demo: --with-prometheus {reason}", file=sys.stderr)
            await daemon.shutdown()
            return 1
        stack = PromStack(lab.workdir / "stack", [daemon.listen], profile="production",
                          scrape_interval="5s",
                          on_notification=AlertLog(lookup=_site_lookup(daemon)))
        (lab.workdir / "stack").mkdir(exist_ok=True)
        try:
            await stack.__aenter__()
        except BaseException:
            await daemon.shutdown()
            raise
        alerts = f"{stack.prometheus_url}/classic/alerts"
        extra = [f"  alerts        {alerts}  (Prometheus)",
                 f"  alertmanager  {stack.alertmanager_url}/api/v2/alerts  (JSON; or `amtool "
                 f"--alertmanager.url={stack.alertmanager_url} alert query`)",
                 "  notifications printed here: one line when an alert fires or resolves"]
        links += f" | alerts {alerts}"
    print(_banner(lab, daemon, extra), file=sys.stderr, flush=True)
    if args.duration:
        asyncio.get_running_loop().call_later(args.duration, daemon.stop)
    repeat = asyncio.create_task(_repeat_status(daemon, links), name="demo status line")
    try:
        await daemon.run_until_stopped()
    finally:
        repeat.cancel()
        if stack is not None:
            await stack.close()
    return 0


def run(args: argparse.Namespace) -> int:
    from netwatch.lab.lab import Lab
    from netwatch.lab.plan import city, default_scenario

    plan = city(kecamatan=args.kecamatan)
    if not plan.sites:
        print(f"netwatch demo: no kecamatan matches {args.kecamatan}", file=sys.stderr)
        return 2
    if not args.no_trouble:
        plan = default_scenario(plan)
    lab = Lab(plan, listen=args.listen)
    try:
        lab.start()
        return asyncio.run(_run(args, lab))
    except KeyboardInterrupt:
        return 130
    finally:
        lab.stop()
        left = lab.leftovers()
        if left:
            print("netwatch demo: left behind: " + ", ".join(left), file=sys.stderr)
        else:
            print("netwatch demo: stopped; nothing left behind", file=sys.stderr)
