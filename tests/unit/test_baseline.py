"""Baselines: bucket medians in a ring over days, trusted after min_buckets, bounded, saved."""

from __future__ import annotations

import pytest

from netwatch.config.thresholds import BaselineSettings
from netwatch.sites.baseline import CURRENT_CAP, Baselines, baseline_family

HOUR = 3600.0
KEY = ("18.71.01.1001", "rtr", "netwatch_radio_signal_dbm", 'ifname="wlan1"')


def settings(**changes: object) -> BaselineSettings:
    values: dict[str, object] = {"bucket": HOUR, "window_days": 1, "min_buckets": 3,
                                 "max_series": 100}
    return BaselineSettings.model_validate({**values, **changes})


def feed(b: Baselines, hourly: list[float], start: float = 0.0, key: tuple[str, ...] = KEY,
         per_hour: int = 4) -> float:
    """`per_hour` readings of each value, one hour after another; returns the time after."""
    at = start
    for value in hourly:
        for i in range(per_hour):
            b.observe(key, value, at + i * HOUR / per_hour)  # type: ignore[arg-type]
        at += HOUR
    return at


def test_unknown_until_min_buckets_closed() -> None:
    b = Baselines(settings())
    at = feed(b, [-60, -61, -59])
    assert b.normal(KEY) is None  # the third bucket is still open
    b.observe(KEY, -60, at)  # opens the fourth: the third closes
    assert b.normal(KEY) == -60


def test_median_of_bucket_medians_ignores_an_outage_and_noise() -> None:
    b = Baselines(settings(min_buckets=5))
    # a link at -60 with one bad hour (-80) and one noisy hour: its normal stays -60
    at = feed(b, [-60, -60, -80, -60, -61, -59, -60])
    b.observe(KEY, -90, at)
    assert b.normal(KEY) == -60


def test_buckets_older_than_the_window_leave() -> None:
    b = Baselines(settings(min_buckets=2))
    at = feed(b, [-50] * 24)  # a day at -50
    at = feed(b, [-70] * 13, at)  # then 13 hours at -70: more than half of the window
    b.observe(KEY, -70, at)
    assert b.normal(KEY) == -70


def test_a_silence_longer_than_the_window_forgets_the_normal() -> None:
    b = Baselines(settings(min_buckets=2))
    at = feed(b, [-50] * 5)
    b.observe(KEY, -70, at + 30 * HOUR)  # a day and more without a reading
    assert b.normal(KEY) is None
    assert b.series[KEY].ring.tolist().count(-50) == 0


def test_running_bucket_is_bounded() -> None:
    b = Baselines(settings())
    for i in range(1000):
        b.observe(KEY, float(i), i)
    assert len(b.series[KEY].current) == CURRENT_CAP


def test_series_beyond_max_are_refused_and_counted() -> None:
    b = Baselines(settings(max_series=2))
    for n in range(5):
        b.observe(("s", f"d{n}", "m", ""), 1.0, 0)
    assert len(b.series) == 2 and b.refused == 3


def test_nan_and_inf_are_not_readings() -> None:
    b = Baselines(settings())
    b.observe(KEY, float("nan"), 0)
    b.observe(KEY, float("inf"), 0)
    assert KEY not in b.series


def test_dump_and_load_keep_the_normal_across_a_restart() -> None:
    b = Baselines(settings())
    at = feed(b, [-60, -62, -61, -60])
    b.observe(KEY, -60, at)
    b.observe(("18.71.01.1001", "rtr", "netwatch_icmp_rtt_seconds", ""), 0.002, at)
    assert b.take_dirty().keys() == {("18.71.01.1001", "rtr")}
    assert b.take_dirty() == {}  # nothing closed since
    text = b.dump(("18.71.01.1001", "rtr"))
    again = Baselines(settings())
    assert again.load(("18.71.01.1001", "rtr"), text, now=at + 2 * HOUR) == 2
    assert again.normal(KEY) == b.normal(KEY) == -60.5
    # stored with other buckets: not used (the ring would mean other times)
    other = Baselines(settings(bucket=1800))
    assert other.load(("18.71.01.1001", "rtr"), text, now=at) == 0
    assert other.normal(KEY) is None
    assert Baselines(settings()).load(("s", "d"), "{not json", now=0) == 0


def test_loaded_after_a_long_stop_the_old_buckets_leave() -> None:
    b = Baselines(settings())
    at = feed(b, [-60] * 5)
    b.observe(KEY, -60, at)
    again = Baselines(settings())
    again.load(("18.71.01.1001", "rtr"), b.dump(("18.71.01.1001", "rtr")), now=at + 48 * HOUR)
    assert again.normal(KEY) is None


def test_keep_forgets_removed_devices() -> None:
    b = Baselines(settings())
    b.observe(KEY, -60, 0)
    b.observe(("s2", "rtr", "m", ""), 1, 0)
    b.keep([("s2", "rtr")])
    assert set(b.series) == {("s2", "rtr", "m", "")}


def test_window_longer_than_min_buckets_is_checked() -> None:
    with pytest.raises(ValueError, match="min_buckets must be at most the 24 buckets"):
        settings(min_buckets=25)


@pytest.mark.parametrize(("metric", "unit", "name"), [
    ("netwatch_radio_signal_dbm", "dbm", "netwatch_radio_signal_baseline_dbm"),
    ("netwatch_radio_tx_ccq_ratio", "ratio", "netwatch_radio_tx_ccq_baseline_ratio"),
    ("netwatch_icmp_rtt_seconds", "seconds", "netwatch_icmp_rtt_baseline_seconds"),
    ("netwatch_radio_tx_rate_bytes_per_second", "bytes_per_second",
     "netwatch_radio_tx_rate_baseline_bytes_per_second"),
])
def test_baseline_family_keeps_the_unit_last(metric: str, unit: str, name: str) -> None:
    assert baseline_family(metric, unit) == name
