"""Alertmanager's notifications as lines a person can follow (`netwatch demo --with-prometheus`).

Alertmanager sends a group again on every group update and once per receiver it routes to,
so printing its notifications as they come repeats each alert (one area outage was printed 6
times in 5 minutes). A person on the terminal wants one line per alert *change*: this log
keeps the last status printed per alert (Alertmanager's fingerprint: the alert's labels) and
prints only when it fires or resolves, with the time, the kelurahan name beside the kode, and
the daemon's cause for the site where it knows one:

    09:41:07 FIRING   NetwatchSiteDown [critical] Kedaton (18.71.01.1003), Kec. Kedaton: rtr down
    09:46:12 RESOLVED NetwatchSiteDown [critical] Kedaton (18.71.01.1003), Kec. Kedaton, after 5m05s
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from netwatch.lab.stack import Notification

# site id -> (kelurahan name, the daemon's cause now; "" when it has none)
SiteLookup = Callable[[str], tuple[str, str]]


def _parse_time(text: str) -> datetime | None:
    try:  # Alertmanager's RFC 3339, with up to nanoseconds: keep microseconds
        head, dot, tail = text.partition(".")
        if dot:
            digits = "".join(c for c in tail if c.isdigit())
            text = f"{head}.{digits[:6]}{tail[len(digits):]}"
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@dataclass
class AlertLog:
    """Call it with each Notification (PromStack's on_notification)."""

    lookup: SiteLookup | None = None
    out: TextIO = field(default_factory=lambda: sys.stderr)
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    _printed: dict[str, str] = field(default_factory=dict)  # fingerprint -> status

    def __call__(self, notification: Notification) -> None:
        for alert in notification.payload.get("alerts", []):
            line = self.change(alert)
            if line:
                print(line, file=self.out, flush=True)

    def change(self, alert: dict[str, Any]) -> str | None:
        """The line for this alert if its status changed since the last one printed."""
        labels = alert.get("labels", {})
        key = str(alert.get("fingerprint") or sorted(labels.items()))
        status = str(alert.get("status", "firing"))
        if self._printed.get(key, "resolved" if status == "resolved" else "") == status:
            return None  # a repeat (group update, another receiver), or resolved unseen
        self._printed[key] = status
        return self.line(alert, status)

    def line(self, alert: dict[str, Any], status: str) -> str:
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        where, cause = self._where(labels, notes)
        text = (f"{self.now():%H:%M:%S} {status.upper():<8} {labels.get('alertname', '?')} "
                f"[{labels.get('severity', '?')}] {where}")
        if status == "resolved":
            start, end = _parse_time(alert.get("startsAt", "")), _parse_time(
                alert.get("endsAt", ""))
            if start and end and end > start:
                text += f", after {_duration((end - start).total_seconds())}"
        elif cause:
            text += f": {cause}"
        return text

    def _where(self, labels: dict[str, str], notes: dict[str, str]) -> tuple[str, str]:
        site, kecamatan = labels.get("site", ""), labels.get("kecamatan", "")
        name, cause = self.lookup(site) if site and self.lookup else ("", "")
        name = notes.get("kelurahan") or name
        parts = []
        if site:
            parts.append(f"{name} ({site})" if name else site)
        if labels.get("device"):
            parts.append(f"device {labels['device']}")
        if kecamatan:
            parts.append(f"Kec. {kecamatan}")
        if not parts and labels.get("instance"):
            parts.append(labels["instance"])
        return ", ".join(parts) or "-", cause
