"""netwatch's Grafana dashboards as code (grafana-foundation-sdk builders).

`grafana/generate.py` writes them to grafana/dashboards/*.json; see docs/grafana.md."""

from __future__ import annotations

from typing import Any

from . import kecamatan, overview, poller, site, sla
from .common import UID, render


def dashboards(basemap: str = "offline") -> dict[str, dict[str, Any]]:
    """File name (without .json) -> Grafana JSON of every dashboard."""
    built = {
        "overview": overview.build(basemap),
        "kecamatan": kecamatan.build(),
        "site": site.build(),
        "sla": sla.build(),
        "poller": poller.build(),
    }
    return {UID[kind]: render(dash) for kind, dash in built.items()}
