"""The `test` timing profile the alerting tests run the rules and Alertmanager with
(netwatch/config/thresholds.yml, `profiles: test:`)."""

from __future__ import annotations

from netwatch.config.thresholds import read_thresholds
from netwatch.config.types import parse_duration


def alertmanager_waits() -> dict[str, str]:
    """group_wait, group_interval, repeat_interval as the profile writes them."""
    timings = read_thresholds().profiles["test"].alertmanager
    assert timings is not None, "the test profile sets Alertmanager's waits"
    return timings.model_dump()


def seconds(*names: str) -> dict[str, float]:
    """Rule thresholds (`site_down_for`) and Alertmanager waits (`group_wait`), in seconds."""
    values = {**read_thresholds().rule_values("test"), **alertmanager_waits()}
    return {name: parse_duration(values[name]) for name in names}
