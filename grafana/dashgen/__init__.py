"""netwatch's Grafana dashboards as code (grafana-foundation-sdk builders).

`grafana/generate.py` writes them to grafana/dashboards/*.json; see docs/grafana.md. Colour
levels and the runbook link (`runbook_base_url`) come from netwatch's thresholds file
(netwatch.config.thresholds), the same the daemon and the rule generator read."""

from __future__ import annotations

from typing import Any

from netwatch.config.thresholds import ThresholdsFile, read_thresholds

from . import kecamatan, overview, poller, site, sla
from .common import UID, Levels, render, runbook_link


def dashboards(basemap: str = "offline",
               thresholds: ThresholdsFile | None = None) -> dict[str, dict[str, Any]]:
    """File name (without .json) -> Grafana JSON of every dashboard, coloured by `thresholds`
    (default: the packaged file)."""
    thresholds = thresholds if thresholds is not None else read_thresholds()
    levels = Levels.of(thresholds)
    built = {
        "overview": overview.build(levels, basemap),
        "kecamatan": kecamatan.build(levels),
        "site": site.build(levels),
        "sla": sla.build(),
        "poller": poller.build(levels),
    }
    runbooks = runbook_link(thresholds.runbook_base_url)
    return {UID[kind]: render(dash.link(runbooks)) for kind, dash in built.items()}
