"""A site's state transition, as the history keeps it and the API shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "unknown"  # the state before the first verdict (the exported state set has none)


@dataclass(frozen=True, slots=True)
class SiteEvent:
    """`site` went from `old` to `new` at `at` (Unix time). `cause` is the verdict's text;
    `evidence` the facts it rests on (device states, loss, RTT; the structured causes of the
    "why" add theirs), kept as JSON."""

    at: float
    site: str
    kecamatan: str
    old: str
    new: str
    cause: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    cause_name: str | None = None  # netwatch_site_cause's cause (None: up, or left)

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "site": self.site, "kecamatan": self.kecamatan, "old": self.old,
                "new": self.new, "cause": {"name": self.cause_name, "text": self.cause,
                                           "evidence": self.evidence}}
