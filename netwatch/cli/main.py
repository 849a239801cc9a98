"""The `netwatch` command line: the parser, logging set-up and dispatch.

Each command is a module of this package with `add_parser(subparsers)`, which adds one
subcommand with `func` set (COMMANDS, in the order `--help` lists them). Command output goes
to stdout, logs to stderr. Commands import their heavy parts when they run, so `--help` and
`check-config` stay light.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from netwatch import __version__
from netwatch.base import logs

COMMANDS = ["run", "check_config", "schema", "probe", "discover", "import_csv", "demo",
            "report"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netwatch", description="network monitoring for city networks: ICMP and SNMP "
        "polling, site states, Prometheus metrics")
    parser.add_argument("--version", action="version", version=f"netwatch {__version__}")
    parser.add_argument("--log-level", choices=logs.LEVELS, default="info")
    parser.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                        help="log lines on stderr (auto: JSON unless stderr is a terminal)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"netwatch.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    json_logs = {"auto": None, "json": True, "console": False}[args.log_format]
    logs.configure(args.log_level, json=json_logs)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
