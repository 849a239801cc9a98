"""`netwatch run CONFIG [--shard K/N] [--web.config.file FILE] [--web.enable-lifecycle]`:
the daemon (SIGHUP reloads; SIGTERM stops). The `--web.*` flags are those of the Prometheus
exporters (exporter-toolkit): TLS and basic auth from one file, the lifecycle API off unless
asked for."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from netwatch.cli.shard_arg import shard_arg


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("config", help="YAML config file")
    run.add_argument("--shard", type=shard_arg, metavar="K/N",
                     help="poll only shard K of N (whole upstream groups; canaries on every shard)")
    run.add_argument("--web.config.file", dest="web_config", metavar="FILE",
                     help="TLS and basic auth (exporter-toolkit's web configuration format)")
    run.add_argument("--web.enable-lifecycle", dest="lifecycle", action="store_true",
                     help="allow POST/PUT /-/reload (SIGHUP always reloads)")
    run.add_argument("--web.max-connections", dest="max_connections", type=int, default=512,
                     metavar="N", help="HTTP connections open at once (default 512)")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from netwatch.daemon import service
    from netwatch.web.connections import Limits

    return asyncio.run(service.run(args.config, shard=args.shard, web_config=args.web_config,
                                   lifecycle=args.lifecycle,
                                   limits=Limits(max_connections=args.max_connections)))
