"""Per-target state: hysteresis, transition counting and logging, rendered series."""

from __future__ import annotations

from structlog.testing import capture_logs

from netwatch.base.exposition import MetricStore
from netwatch.icmp.result import IcmpResult
from netwatch.inventory.model import Device, DeviceLabels, IcmpPolicy, StatePolicy, Target
from netwatch.scheduler.prober import Failed, Outcome
from netwatch.sites.targets import State
from tests.fakes import FakeIcmp, inventory_of
from tests.metrics import key, parse

POLICY = IcmpPolicy(15.0, 3, 1.0, 2.0, 56, 12.0)


def device(name: str = "rtr", down_after: int = 3, up_after: int = 2) -> Device:
    return Device(DeviceLabels("18.71.01.1003", "Kedaton", name, "router"), "127.0.0.1", None,
                  None, POLICY, None, StatePolicy(down_after, up_after, 0.05, 0.15), "g")


def target(dev: Device) -> Target:
    return Target((dev.labels.site, dev.labels.device, "icmp"), "icmp", dev.address, POLICY, dev)


def make(*targets: Target) -> tuple[State, MetricStore]:
    store = MetricStore()
    state = State(store, {"icmp": FakeIcmp()})
    state.sync(inventory_of(*targets))
    return state, store


OK = Outcome(IcmpResult(3, (0.0001, 0.0002, 0.0003)), 0.01, 0.0)
LOST = Outcome(IcmpResult(3, ()), 2.0, 0.0)
DEVICE = {"site": "18.71.01.1003", "kecamatan": "Kedaton", "device": "rtr", "role": "router"}


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
    got = parse(store.render())
    assert got[key("netwatch_state_changes_total", DEVICE, probe="icmp")] == 2
    assert got[key("netwatch_poll_errors_total", DEVICE, probe="icmp", reason="timeout")] == 4
    assert got[key("netwatch_up", DEVICE, probe="icmp")] == 1


def test_icmp_series_accumulate_and_reload_keeps_counters() -> None:
    t = target(device())
    state, store = make(t)
    for _ in range(4):
        state.record(t, OK)
    state.record(t, LOST)
    got = parse(store.render())
    assert got[key("netwatch_icmp_requests_total", DEVICE)] == 15
    assert got[key("netwatch_icmp_responses_total", DEVICE)] == 12
    assert got[key("netwatch_icmp_rtt_seconds_count", DEVICE)] == 12
    assert got[key("netwatch_icmp_rtt_seconds_bucket", DEVICE, le="0.0001")] == 4
    assert got[key("netwatch_icmp_round_loss_ratio", DEVICE)] == 1.0
    assert key("netwatch_icmp_round_rtt_seconds", DEVICE, stat="min") not in got
    # a reload with the same target keeps its counters
    state.sync(inventory_of(t))
    assert parse(store.render())[key("netwatch_icmp_requests_total", DEVICE)] == 15
    # ... and a removed target's series vanish
    state.sync(inventory_of())
    left = [name for name, _ in parse(store.render())]
    assert not [name for name in left if name.startswith(("netwatch_icmp", "netwatch_up"))]


def test_failed_poll_without_result_counts_reason_only() -> None:
    t = target(device())
    state, store = make(t)
    state.record(t, Outcome(Failed("internal", "bug"), 0.0, 0.0))
    got = parse(store.render())
    assert got[key("netwatch_icmp_requests_total", DEVICE)] == 0
    assert got[key("netwatch_poll_errors_total", DEVICE, probe="icmp", reason="internal")] == 1
