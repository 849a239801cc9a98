"""`netwatch demo`: the whole product on this machine, no network and no hardware needed.

The lab and the run itself: netwatch/lab/demo.py.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the simulated Bandar Lampung city and poll it",
                       description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--listen", default="127.0.0.1:9430", help="HOST:PORT of /metrics")
    p.add_argument("--kecamatan", action="append", metavar="CODE_OR_NAME",
                   help="only these kecamatan (repeatable; default: all 20)")
    p.add_argument("--no-trouble", action="store_true", help="a healthy city, no scripted trouble")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--with-prometheus", action="store_true",
                   help="also run Debian's Prometheus and Alertmanager on loopback with the "
                        "shipped rules")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from netwatch.lab import demo  # the lab's imports only when the demo runs

    return demo.run(args)
