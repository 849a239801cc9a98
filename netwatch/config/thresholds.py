"""The thresholds file: one set of numbers for the daemon, the rules and the dashboards.

The packaged file (`netwatch/config/thresholds.yml`) holds every value. A city changes some of
them with an override file of the same shape that sets only those (netwatch.yml's
`thresholds:` for the daemon, `--thresholds` for the rule and dashboard generators). The two
are merged key by key (mappings merge, anything else replaces) and then validated as one, so
each problem names the file and line its value came from:
`/etc/netwatch/thresholds.yml:3: degraded.loss_ratio: must be at most 1`.

    read_thresholds(override=None) -> ThresholdsFile        raises ConfigError

It lives with the config, not in base: it reads with the config's YAML loader (line marks,
YAML 1.2) and validator, which base may not import, and every reader (the inventory, the
generators, grafana/dashgen) sits above config. The site causes are data here too: `causes`
maps each cause to the evidence that names it (`netwatch.sites.causes` holds the evidence
kinds), `baselines` says how each link's own normal is kept (`netwatch.sites.baseline`).
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from netwatch.base.catalog import METRICS
from netwatch.base.errors import ConfigError, ConfigIssue, format_path
from netwatch.config.model import Strict
from netwatch.config.read import validate_document
from netwatch.config.types import Duration, Name, format_duration
from netwatch.config.yamlload import LoadedYaml, PathKey, load_yaml_file

PACKAGED = Path(__file__).with_name("thresholds.yml")
PRODUCTION = "production"  # the rules as the file says, no profile applied


def _scalar(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number or text")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (not .nan or .inf)")
    if isinstance(value, str) and len(value) > 200:
        raise ValueError("must be at most 200 characters")
    return value


RuleValue = Annotated[int | float | str, BeforeValidator(_scalar)]


class DegradedDefaults(Strict):
    """When a reachable site is degraded, unless netwatch.yml says otherwise for it."""

    loss_ratio: float = Field(gt=0, le=1, description="router loss above this is degraded")
    rtt_p90: Duration = Field(description="router RTT p90 above this is degraded")


class BaselineSettings(Strict):
    """How each link's own normal is kept (netwatch.sites.baseline): the median of one bucket
    of readings is one value; the baseline is the median of the values of the last
    `window_days`, trusted once `min_buckets` of them exist."""

    bucket: Duration = Field(description="readings of this long make one median, e.g. 1h")
    window_days: int = Field(ge=1, le=60, description="days of buckets the baseline spans")
    min_buckets: int = Field(ge=1, description="buckets needed before a baseline counts")
    max_series: int = Field(ge=1, le=10_000_000,
                            description="series kept at most (the rest are counted, not kept)")

    @model_validator(mode="after")
    def _fits(self) -> BaselineSettings:
        if self.min_buckets > self.slots:
            raise ValueError(f"min_buckets must be at most the {self.slots} buckets of the "
                             "window")
        return self

    @property
    def slots(self) -> int:
        """Buckets in the window."""
        return max(1, round(self.window_days * 86400 / self.bucket))


def _metric_name(value: str) -> str:
    if value not in METRICS:
        close = difflib.get_close_matches(value, list(METRICS), n=1)
        raise ValueError("not a metric of the catalog" + (f" (did you mean {close[0]!r}?)"
                                                          if close else ""))
    return value


MetricName = Annotated[str, AfterValidator(_metric_name)]
MetricList = Annotated[list[MetricName], Field(min_length=1)]


class NoParameters(Strict):
    """Evidence that takes no numbers."""


class PowerFell(Strict):
    metrics: MetricList = Field(description="voltage, PoE and battery readings")
    ratio: float = Field(gt=0, lt=1, description="a reading below this share of its baseline")
    before: Duration = Field(description="taken at most this long before the loss began")


class FeedDark(Strict):
    min_sites: int = Field(ge=2, description="sites of one power feed down together, at least")
    within: Duration = Field(description="each gone down within this of the others")


class Rebooted(Strict):
    within: Duration = Field(description="a device of the site booted at most this long ago")


class UpstreamLoss(Strict):
    share: float = Field(gt=0, le=1, description="the upstream's loss is at least this share "
                         "of the site's")


class UplinkBusy(Strict):
    above: float = Field(gt=0, le=2, description="uplink use above this share of its capacity")


class RttOrLossRose(Strict):
    rtt_ratio: float = Field(gt=1, description="RTT p90 above this many times its baseline")
    rtt_min_increase: Duration = Field(description="... and at least this much above it")
    loss_above: float = Field(gt=0, le=1, description="or loss above this ratio")


class FellBy(Strict):
    metrics: MetricList
    by: float = Field(gt=0, description="this much below the baseline (dB for dBm readings)")


class FellTo(Strict):
    metrics: MetricList
    ratio: float = Field(gt=0, lt=1, description="below this share of the baseline")


class BelowValue(Strict):
    metrics: MetricList
    value: float = Field(description="below this, whatever the baseline")


class UsedAbove(Strict):
    above: float = Field(gt=0, le=1, description="used above this share of the total")


class Evidence(Strict):
    """The evidence kinds a cause may name, each at most once (docs/causes.md)."""

    maintenance: NoParameters | None = None
    upstream_down: NoParameters | None = None
    power_fell: PowerFell | None = None
    feed_dark: FeedDark | None = None
    rebooted: Rebooted | None = None
    upstream_loss: UpstreamLoss | None = None
    uplink_busy: UplinkBusy | None = None
    rtt_or_loss_rose: RttOrLossRose | None = None
    signal_fell: FellBy | None = None
    quality_fell: FellTo | None = None
    signal_below: BelowValue | None = None
    storage_used: UsedAbove | None = None
    memory_used: UsedAbove | None = None
    cpu_busy: UsedAbove | None = None

    def kinds(self) -> list[tuple[str, Strict]]:
        """The evidence set here, in declaration order."""
        return [(name, value) for name in type(self).model_fields
                if (value := getattr(self, name)) is not None]


class CauseRule(Strict):
    """A cause and the evidence that names it: any one of it (`needs: any`) or all of it."""

    needs: Literal["any", "all"] = "any"
    evidence: Evidence

    @model_validator(mode="after")
    def _some(self) -> CauseRule:
        if not self.evidence.kinds():
            raise ValueError("a cause needs at least one kind of evidence")
        return self


UNKNOWN_CAUSE = "unknown"  # no rule's evidence holds; always the last cause


def _cause_name(value: object) -> object:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", value):
        raise ValueError("a cause is a lower-case name with underscores, e.g. radio_degraded")
    if value == UNKNOWN_CAUSE:
        raise ValueError("'unknown' is the cause when no rule holds; it takes no rule")
    return value


CauseName = Annotated[str, BeforeValidator(_cause_name)]


class DashboardLevels(Strict):
    """Where Grafana panels turn yellow; each turns red at its threshold elsewhere in the file."""

    loss_warn_ratio: float = Field(gt=0, le=1)
    rtt_p90_warn: Duration
    utilization_warn_ratio: float = Field(gt=0, le=1)
    event_loop_lag_warn_seconds: float = Field(gt=0, le=60)


class AlertmanagerTimings(Strict):
    """Group waits a profile puts on every route of the production Alertmanager config."""

    group_wait: str
    group_interval: str
    repeat_interval: str


class TimingProfile(Strict):
    """A timing variant of the rules (short `for:`) and of Alertmanager's waits."""

    rules: dict[str, RuleValue] = Field(default_factory=dict)
    alertmanager: AlertmanagerTimings | None = None


class ThresholdsFile(Strict):
    """The whole file, one section per reader: `degraded`, `baselines` and `causes` (the
    daemon), `rules` and `runbook_base_url` (the rule templates), `dashboards`
    (grafana/dashgen)."""

    degraded: DegradedDefaults
    baselines: BaselineSettings
    causes: dict[CauseName, CauseRule] = Field(
        description="while a site is not up, the first cause whose evidence holds")
    runbook_base_url: str = Field(description="docs/runbooks.md as served; alerts add #heading")
    rules: dict[str, RuleValue] = Field(description="`${name}` values of the rule templates")
    dashboards: DashboardLevels
    profiles: dict[Name, TimingProfile] = Field(default_factory=dict)

    @field_validator("runbook_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or "#" in value:
            raise ValueError("must be an http(s) URL without #anchor "
                             "(e.g. https://noc.example.org/docs/runbooks.md)")
        return value

    def rule_values(self, profile: str = PRODUCTION) -> dict[str, RuleValue]:
        """The rules' values with a profile's applied (production: none)."""
        if profile == PRODUCTION:
            return dict(self.rules)
        if profile not in self.profiles:
            known = ", ".join([PRODUCTION, *sorted(self.profiles)])
            raise KeyError(f"no profile {profile!r} (known: {known})")
        return {**self.rules, **self.profiles[profile].rules}

    @property
    def cause_names(self) -> tuple[str, ...]:
        """Every cause netwatch_site_cause can show, in the order they are tried."""
        return (*self.causes, UNKNOWN_CAUSE)

    def rule_number(self, name: str) -> float:
        """A numeric rule value (a ratio, a count, seconds) for code that needs the number."""
        value = self.rules[name]
        if isinstance(value, str):
            raise TypeError(f"rules.{name} is {value!r}, not a number")
        return float(value)


# --- reading ---------------------------------------------------------------------------------

def _layer(base: Any, top: Any) -> Any:
    """`top` over `base`: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(top, dict):
        return {**base, **{k: _layer(base[k], v) if k in base else v for k, v in top.items()}}
    return top


def _unknown_rules(base: LoadedYaml, top: LoadedYaml) -> list[ConfigIssue]:
    """An override may change rule values, not invent them (a template would not use them)."""
    known, given = base.data.get("rules"), top.data.get("rules")
    if not isinstance(known, dict) or not isinstance(given, dict):
        return []
    return [_issue(top, ("rules", name), _unknown("rule setting", name, known))
            for name in given if name not in known]


def _unknown(what: str, name: str, known: dict[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"unknown {what}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _issue(loaded: LoadedYaml, path: PathKey, message: str) -> ConfigIssue:
    mark = loaded.mark_for(path)
    return ConfigIssue(mark.file if mark else "?", mark.line if mark else 0, path, message)


def _cross_checks(values: ThresholdsFile, loaded: LoadedYaml) -> list[ConfigIssue]:
    """What one field cannot check alone: profiles name known rules, yellow comes before red.
    A yellow/red conflict is reported where the operator changed something: at the yellow
    level, or at the red one when the yellow is the packaged value."""
    issues = [_issue(loaded, ("profiles", profile, "rules", name),
                     _unknown("rule setting (not under rules:)", name, values.rules))
              for profile, timing in values.profiles.items()
              for name in timing.rules if name not in values.rules]
    levels, degraded = values.dashboards, values.degraded
    pairs: list[tuple[str, float, PathKey, float]] = [
        ("loss_warn_ratio", levels.loss_warn_ratio, ("degraded", "loss_ratio"),
         degraded.loss_ratio),
        ("rtt_p90_warn", levels.rtt_p90_warn, ("degraded", "rtt_p90"), degraded.rtt_p90),
    ]
    shown = {"rtt_p90_warn": format_duration}  # as written; the rest are plain numbers
    for field, rule in (("utilization_warn_ratio", "link_saturated_ratio"),
                        ("event_loop_lag_warn_seconds", "event_loop_lag_seconds")):
        red = values.rules.get(rule)
        if isinstance(red, str) or red is None:
            issues.append(_issue(loaded, ("rules", rule),
                                 f"must be a number (dashboards.{field} is its yellow level)"))
        else:
            pairs.append((field, getattr(levels, field), ("rules", rule), float(red)))
    for field, warn, red_path, red in pairs:
        if warn < red:
            continue
        fmt = shown.get(field, lambda number: f"{number:g}")
        warn_path: PathKey = ("dashboards", field)
        warn_mark = loaded.mark_for(warn_path)
        if warn_mark is not None and warn_mark.file == str(PACKAGED):
            issues.append(_issue(loaded, red_path, f"{fmt(red)} must be above the yellow level "
                                 f"dashboards.{field} ({fmt(warn)}): lower that too"))
        else:
            issues.append(_issue(loaded, warn_path, f"{fmt(warn)} must be below "
                                 f"{format_path(red_path)} ({fmt(red)})"))
    return issues


def read_thresholds(override: Path | None = None) -> ThresholdsFile:
    """The packaged thresholds, with `override`'s values over them; ConfigError when invalid."""
    loaded = load_yaml_file(PACKAGED)
    issues: list[ConfigIssue] = []
    if override is not None:
        top = load_yaml_file(override)
        if not isinstance(top.data, dict):
            raise ConfigError([ConfigIssue(str(override), 1, (), "must be a mapping (key: value)")])
        issues += _unknown_rules(loaded, top)
        loaded = LoadedYaml(_layer(loaded.data, top.data), {**loaded.marks, **top.marks})
    values, invalid = validate_document(ThresholdsFile, loaded, PACKAGED.parent)
    issues += invalid
    if isinstance(values, ThresholdsFile):
        issues += _cross_checks(values, loaded)
    if issues:
        raise ConfigError(issues)
    assert isinstance(values, ThresholdsFile)
    return values


__all__ = [
    "PACKAGED",
    "PRODUCTION",
    "UNKNOWN_CAUSE",
    "AlertmanagerTimings",
    "BaselineSettings",
    "CauseRule",
    "DashboardLevels",
    "DegradedDefaults",
    "Evidence",
    "RuleValue",
    "ThresholdsFile",
    "TimingProfile",
    "read_thresholds",
]
