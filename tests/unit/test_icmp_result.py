"""Round statistics as ping prints them, and the per-target series rendered from rounds."""

from __future__ import annotations

import math

import pytest

from netwatch.base.exposition import MetricStore
from netwatch.icmp.result import RTT_BUCKETS, IcmpFamilies, IcmpResult, IcmpSeries
from tests.metrics import Samples, labelled, parse, pick

LABELS = 'site="18.71.01.1003",kecamatan="Kedaton",device="rtr",role="router"'


def test_stats_are_min_avg_max_mdev_like_ping() -> None:
    result = IcmpResult(sent=4, rtts=(0.001, 0.002, 0.003))
    stats = result.stats()
    assert stats is not None
    low, avg, high, mdev = stats
    assert (low, avg, high) == pytest.approx((0.001, 0.002, 0.003))
    # ping's mdev: sqrt(mean(x^2) - mean(x)^2)
    assert mdev == pytest.approx(math.sqrt((1 + 4 + 9) / 3 * 1e-6 - 4e-6))
    assert result.loss_ratio == pytest.approx(0.25)
    assert result.received == 3 and result.ok and result.reason is None


def test_empty_round_fails_with_timeout_or_unreachable() -> None:
    assert IcmpResult(3, ()).stats() is None
    assert IcmpResult(3, ()).reason == "timeout"
    assert IcmpResult(3, (), unreachable=1).reason == "unreachable"
    assert IcmpResult(3, (), late=3).reason == "timeout"  # late replies are no answers
    assert IcmpResult(0, ()).loss_ratio == 1.0


def _render(series: IcmpSeries) -> Samples:
    return parse("".join(t if isinstance(t, str) else t() for _, t in series.render()))  # lazy too


def test_series_accumulates_counters_and_a_cumulative_histogram() -> None:
    series = IcmpSeries(IcmpFamilies(MetricStore()), LABELS)
    series.apply(IcmpResult(3, (0.00004, 0.0003), duplicates=1, late=1))
    series.apply(IcmpResult(3, (40.0,)))  # beyond the last bucket: only +Inf
    series.count_late(2)  # replies after their round ended
    series.count_duplicate()
    got = _render(series)
    assert pick(got, "netwatch_icmp_requests_total") == 6
    assert pick(got, "netwatch_icmp_responses_total") == 3
    assert pick(got, "netwatch_icmp_late_responses_total") == 3
    assert pick(got, "netwatch_icmp_duplicate_responses_total") == 2
    assert pick(got, "netwatch_icmp_rtt_seconds_count") == 3
    assert pick(got, "netwatch_icmp_rtt_seconds_sum") == pytest.approx(40.00034)
    buckets = {labels["le"]: v for labels, v in labelled(got, "netwatch_icmp_rtt_seconds_bucket")}
    assert len(buckets) == len(RTT_BUCKETS) + 1
    assert buckets["5e-05"] == 1 and buckets["0.0004"] == 2 and buckets["+Inf"] == 3
    assert pick(got, "netwatch_icmp_round_loss_ratio") == pytest.approx(2 / 3)
    stats = {labels["stat"]: v for labels, v in labelled(got, "netwatch_icmp_round_rtt_seconds")}
    assert stats == {"min": 40.0, "avg": 40.0, "max": 40.0, "mdev": 0.0}


def test_a_round_without_answers_drops_the_rtt_gauges() -> None:
    series = IcmpSeries(IcmpFamilies(MetricStore()), LABELS)
    series.apply(IcmpResult(3, (0.001,)))
    series.apply(IcmpResult(3, ()))
    got = _render(series)
    assert labelled(got, "netwatch_icmp_round_rtt_seconds") == []
    assert pick(got, "netwatch_icmp_round_loss_ratio") == 1.0
