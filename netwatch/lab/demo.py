"""`netwatch demo`: the whole product on this machine, no network and no hardware needed.

Starts the lab (the Bandar Lampung city on loopback, trouble in namespaces when root), then
the daemon polling it with the real ICMP and SNMP code, serving /metrics on loopback. Ctrl-C
(or --duration) stops everything and checks that nothing is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module for its parser only: keep start-up light
    from netwatch.daemon.service import Daemon
    from netwatch.lab.lab import Lab


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


async def _run(args: argparse.Namespace, lab: Lab) -> int:
    from netwatch.base.errors import StartupError
    from netwatch.daemon.inventory_file import read_inventory
    from netwatch.daemon.service import Daemon

    inventory = read_inventory(lab.config_path)
    daemon = Daemon(lab.config_path, inventory)
    try:
        await daemon.start()
    except StartupError as exc:
        print(f"netwatch demo: {exc}", file=sys.stderr)
        return 1
    extra: list[str] = []
    stack = None
    if args.with_prometheus:
        from netwatch.lab.stack import PromStack, missing_binaries

        reason = missing_binaries()
        if reason:
            print(f"netwatch demo: --with-prometheus {reason}", file=sys.stderr)
            await daemon.shutdown()
            return 1
        stack = PromStack(lab.workdir / "stack", [daemon.listen], profile="production",
                          scrape_interval="5s", on_notification=_print_notification)
        (lab.workdir / "stack").mkdir(exist_ok=True)
        try:
            await stack.__aenter__()
        except BaseException:
            await daemon.shutdown()
            raise
        extra = [f"  prometheus    {stack.prometheus_url}  (alerts: {stack.prometheus_url}/alerts)",
                 f"  alertmanager  {stack.alertmanager_url}  (notifications are printed here)"]
    print(_banner(lab, daemon, extra), file=sys.stderr, flush=True)
    if args.duration:
        asyncio.get_running_loop().call_later(args.duration, daemon.stop)
    try:
        await daemon.run_until_stopped()
    finally:
        if stack is not None:
            await stack.close()
    return 0


def _print_notification(notification: Any) -> None:
    """Alertmanager's notifications stay on this machine: show them on the terminal."""
    for alert in notification.alerts():
        labels, notes = alert["labels"], alert.get("annotations", {})
        where = labels.get("site") or labels.get("kecamatan") or ""
        print(f"[{notification.receiver}] {labels.get('alertname')} {where}: "
              f"{notes.get('summary', '')}", file=sys.stderr, flush=True)


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
