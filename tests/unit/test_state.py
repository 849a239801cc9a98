"""Per-target state: hysteresis, transition counting and logging, rendered series."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from netwatch.base.exposition import MetricStore
from netwatch.icmp.result import IcmpFamilies, IcmpResult, IcmpSeries
from netwatch.inventory.model import (
    Device,
    DeviceLabels,
    IcmpPolicy,
    Inventory,
    StatePolicy,
    Target,
)
from netwatch.scheduler.prober import Failed, Outcome
from netwatch.sites.targets import State

POLICY = IcmpPolicy(15.0, 3, 1.0, 2.0, 56, 12.0)


def device(name: str = "rtr", down_after: int = 3, up_after: int = 2) -> Device:
    return Device(DeviceLabels("18.71.01.1003", "Kedaton", name, "router"), "127.0.0.1", None,
                  None, POLICY, None, StatePolicy(down_after, up_after, 0.05, 0.15), "g")


def target(dev: Device) -> Target:
    return Target((dev.labels.site, dev.labels.device, "icmp"), "icmp", dev.address, POLICY, dev)


class FakeIcmp:
    probe = "icmp"

    def series(self, t: Target, labels: str, store: MetricStore) -> IcmpSeries:
        return IcmpSeries(IcmpFamilies(store), labels)


def make(*targets: Target) -> tuple[State, MetricStore]:
    store = MetricStore()
    state = State(store, {"icmp": FakeIcmp()})  # type: ignore[dict-item]
    inventory = Inventory(config=None, timezone="Asia/Jakarta")  # type: ignore[arg-type]
    inventory.targets = {t.key: t for t in targets}
    state.sync(inventory)
    return state, store


OK = Outcome(IcmpResult(3, (0.0001, 0.0002, 0.0003)), 0.01, 0.0)
LOST = Outcome(IcmpResult(3, ()), 2.0, 0.0)


def samples(store: MetricStore) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(store.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_hysteresis_down_after_and_up_after() -> None:
    t = target(device(down_after=3, up_after=2))
    state, store = make(t)
    state.record(t, OK)
    assert state.status(t.key) == "up"  # the first verdict needs no streak
    with capture_logs() as logs:
        state.record(t, LOST)
        state.record(t, LOST)
        assert state.status(t.key) == "up"
        state.record(t, LOST)
        assert state.status(t.key) == "down"
        state.record(t, LOST)
        state.record(t, OK)
        assert state.status(t.key) == "down"
        state.record(t, OK)
        assert state.status(t.key) == "up"
    events = [e["event"] for e in logs]
    assert events == ["target_down", "target_recovered"]  # each transition logged once
    assert logs[0]["reason"] == "timeout" and logs[0]["site"] == "18.71.01.1003"
    labels = (("device", "rtr"), ("kecamatan", "Kedaton"), ("probe", "icmp"), ("role", "router"),
              ("site", "18.71.01.1003"))
    got = samples(store)
    assert got[("netwatch_state_changes_total", labels)] == 2
    assert got[("netwatch_poll_errors_total", tuple(sorted((*labels, ("reason", "timeout")))))] == 4
    assert got[("netwatch_up", labels)] == 1


def test_icmp_series_accumulate_and_reload_keeps_counters() -> None:
    t = target(device())
    state, store = make(t)
    for _ in range(4):
        state.record(t, OK)
    state.record(t, LOST)
    dev = (("device", "rtr"), ("kecamatan", "Kedaton"), ("role", "router"),
           ("site", "18.71.01.1003"))
    got = samples(store)
    assert got[("netwatch_icmp_requests_total", dev)] == 15
    assert got[("netwatch_icmp_responses_total", dev)] == 12
    assert got[("netwatch_icmp_rtt_seconds_count", dev)] == 12
    assert got[("netwatch_icmp_rtt_seconds_bucket", tuple(sorted((*dev, ("le", "0.0001")))))] == 4
    assert got[("netwatch_icmp_round_loss_ratio", dev)] == 1.0
    assert ("netwatch_icmp_round_rtt_seconds", tuple(sorted((*dev, ("stat", "min"))))) not in got
    # a reload with the same target keeps its counters
    inventory = Inventory(config=None, timezone="Asia/Jakarta")  # type: ignore[arg-type]
    inventory.targets = {t.key: t}
    state.sync(inventory)
    assert samples(store)[("netwatch_icmp_requests_total", dev)] == 15
    # ... and a removed target's series vanish
    inventory.targets = {}
    state.sync(inventory)
    assert not [k for k in samples(store) if k[0].startswith(("netwatch_icmp", "netwatch_up"))]


def test_failed_poll_without_result_counts_reason_only() -> None:
    t = target(device())
    state, store = make(t)
    state.record(t, Outcome(Failed("internal", "bug"), 0.0, 0.0))
    got = samples(store)
    dev = (("device", "rtr"), ("kecamatan", "Kedaton"), ("role", "router"),
           ("site", "18.71.01.1003"))
    assert got[("netwatch_icmp_requests_total", dev)] == 0
    assert got[("netwatch_poll_errors_total",
                tuple(sorted((*dev, ("probe", "icmp"), ("reason", "internal")))))] == 1
