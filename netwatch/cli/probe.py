"""`netwatch probe`: check targets once from the shell.

    netwatch probe 127.0.0.1 ::1                 ICMP (icmplib), a table, exit 1 if any fails
    netwatch probe --snmp 127.0.0.1 --community public
    netwatch probe --snmp 127.0.0.1 --auth city-v3 --config /etc/netwatch/netwatch.yml
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def add_parser(sub: Any) -> None:
    probe = sub.add_parser("probe", help="one-shot ICMP (or SNMP) check of addresses")
    probe.add_argument("addresses", nargs="+", metavar="ADDRESS")
    probe.add_argument("--count", type=int, default=5, help="ICMP echoes per address")
    probe.add_argument("--interval", type=float, default=0.2, help="seconds between echoes")
    probe.add_argument("--timeout", type=float, default=2.0, help="seconds per echo or request")
    snmp = probe.add_argument_group("SNMP (with --snmp)")
    snmp.add_argument("--snmp", action="store_true", help="poll SNMP instead of ICMP")
    snmp.add_argument("--community", help="v1/v2c community (inline)")
    snmp.add_argument("--version", dest="snmp_version", choices=("1", "2c"), default="2c")
    snmp.add_argument("--auth", help="name of an auth in --config")
    snmp.add_argument("--config", help="config file holding --auth")
    snmp.add_argument("--port", type=int, default=161)
    snmp.add_argument("--profile", default="auto")
    snmp.add_argument("--retries", type=int, default=1)
    probe.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.snmp:
        from netwatch.snmp import oneshot as snmp_probe

        return asyncio.run(snmp_probe.run(args))
    from netwatch.icmp import oneshot

    return asyncio.run(oneshot.run(args))
