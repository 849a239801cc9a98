"""Site state logic: the pure verdict (table-driven) and the engine over fake device results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from structlog.testing import capture_logs

from netwatch.config.model import MaintenanceWindow
from netwatch.sites.maintenance import window_start
from netwatch.sites.targets import Status
from netwatch.sites.verdict import DeviceView, Thresholds, evaluate
from tests.fakes import SiteHarness

LIMITS = Thresholds(loss_ratio=0.05, rtt_p90=0.150)
R, A = "rtr", "ap1"


def v(name: str, status: Status, parent: str | None = None, loss: float | None = 0.0,
      p90: float | None = 0.001) -> DeviceView:
    return DeviceView(name, status, parent, loss, p90)


CASES = [
    # (id, devices, upstream_down, maintenance, state, cause, suppressed)
    ("all up", [v(R, "up"), v(A, "up", R)], None, None, "up", "", {}),
    ("nothing known", [v(R, "unknown"), v(A, "unknown", R)], None, None, None, "no result yet", {}),
    ("router down", [v(R, "down"), v(A, "down", R)], None, None, "down", "rtr down",
     {A: "parent_down"}),
    ("router down, upstream down", [v(R, "down"), v(A, "down", R)], "pop-a", None,
     "unreachable", "upstream pop-a down", {R: "upstream_down", A: "upstream_down"}),
    ("unknown router, upstream down", [v(R, "unknown")], "pop-a", None,
     "unreachable", "upstream pop-a down", {R: "upstream_down"}),
    ("router answers although upstream down", [v(R, "up")], "pop-a", None, "up", "", {}),
    ("ap down on its own", [v(R, "up"), v(A, "down", R)], None, None, "degraded", "ap1 down", {}),
    ("lossy router", [v(R, "up", loss=0.10), v(A, "up", R)], None, None, "degraded",
     "rtr loss 10% > 5%", {}),
    ("slow router", [v(R, "up", p90=0.2)], None, None, "degraded",
     "rtr rtt p90 200ms > 150ms", {}),
    ("loss at the threshold is fine", [v(R, "up", loss=0.05)], None, None, "up", "", {}),
    ("maintenance wins", [v(R, "down"), v(A, "down", R)], "pop-a", "fibre work", "maintenance",
     "maintenance: fibre work", {R: "maintenance", A: "maintenance"}),
    ("two roots, one down", [v(R, "up"), v("srv", "down")], None, None, "degraded", "srv down", {}),
    ("deep parent chain", [v(R, "down"), v("sw", "up", R), v(A, "down", "sw")], None, None,
     "down", "rtr down", {"sw": "parent_down", A: "parent_down"}),
]


@pytest.mark.parametrize(("devices", "upstream", "maint", "state", "cause", "suppressed"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_verdict(devices: list[DeviceView], upstream: str | None, maint: str | None,
                 state: str | None, cause: str, suppressed: dict[str, str]) -> None:
    verdict = evaluate(devices, upstream_down=upstream, maintenance=maint, thresholds=LIMITS)
    assert (verdict.state, verdict.cause, verdict.suppressed) == (state, cause, suppressed)


JAKARTA = ZoneInfo("Asia/Jakarta")


def _weekly(days: list[str], at: str, duration: float) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate(
        {"weekly": {"days": days, "at": at}, "duration": duration})


@pytest.mark.parametrize(("local", "active"), [
    ("2026-12-05T23:29:00", False),  # Saturday, before the start
    ("2026-12-05T23:30:00", True),   # Saturday 23:30 start
    ("2026-12-06T00:59:00", True),   # across midnight into Sunday
    ("2026-12-06T01:30:00", False),  # ended at 01:30
])
def test_weekly_window_across_midnight(local: str, active: bool) -> None:
    window = _weekly(["sat"], "23:30", 2 * 3600)
    now = datetime.fromisoformat(local).replace(tzinfo=JAKARTA)
    assert (window_start(window, now.astimezone(UTC), JAKARTA) is not None) is active


@pytest.mark.parametrize(("local", "active"), [
    ("2026-12-06T22:00:00", True),   # Sunday 22:00 start
    ("2026-12-07T03:00:00", True),   # Monday morning: across the week boundary
    ("2026-12-07T06:00:00", False),
    ("2026-12-13T21:59:00", False),  # next Sunday, just before
])
def test_weekly_window_across_week_boundary(local: str, active: bool) -> None:
    window = _weekly(["sun"], "22:00", 8 * 3600)
    now = datetime.fromisoformat(local).replace(tzinfo=JAKARTA)
    assert (window_start(window, now, JAKARTA) is not None) is active


def test_weekly_window_uses_local_time_not_utc() -> None:
    window = _weekly(["mon"], "06:00", 3600)
    # Monday 06:30 WIB is Sunday 23:30 UTC: inside the window that began at 06:00 WIB
    started = window_start(window, datetime(2026, 12, 6, 23, 30, tzinfo=UTC), JAKARTA)
    assert started == datetime(2026, 12, 7, 6, 0, tzinfo=JAKARTA)
    assert window_start(window, datetime(2026, 12, 7, 6, 30, tzinfo=UTC), JAKARTA) is None


# --- the engine over fake device results ---------------------------------------------------

CONFIG = """
defaults:
  snmp: {enabled: false}
  state: {down_after: 2, up_after: 2, degraded: {loss_ratio: 0.05, rtt_p90: 150ms}}
canaries: [{name: core, address: 127.0.0.1}]
upstreams:
  - {id: pop-a, name: POP A, kecamatan: Kedaton,
     devices: [{name: sw, role: upstream, address: 127.0.9.1}]}
sites:
  - id: s1
    name: Satu
    kecamatan: Kedaton
    upstream: pop-a
    maintenance: [{start: "2026-12-06T22:00:00+07:00", duration: 1h, reason: fibre}]
    devices:
      - {name: rtr, role: router, address: 127.0.1.1}
      - {name: ap1, role: ap, address: 127.0.1.2, parent: rtr}
  - id: s2
    name: Dua
    kecamatan: Kedaton
    upstream: pop-a
    devices: [{name: rtr, role: router, address: 127.0.2.1}]
"""


@pytest.fixture
def h(tmp_path: Path) -> SiteHarness:
    return SiteHarness(tmp_path, CONFIG)


def test_router_down_makes_site_down_and_ap_suppressed(h: SiteHarness) -> None:
    h.round()
    assert h.site("s1") == "up"
    for _ in range(2):
        h.poll("s1", "rtr", ok=False)
        h.poll("s1", "ap1", ok=False)
    assert h.site("s1") == "down"
    assert h.sites.groups["s1"].cause == "rtr down"
    assert h.sample('netwatch_device_suppressed{site="s1",kecamatan="Kedaton",device="ap1",'
                    'role="ap",reason="parent_down"}') == "1"
    assert h.sample('netwatch_site_state{site="s1",kecamatan="Kedaton",state="down"}') == "1"
    assert h.sample('netwatch_site_state{site="s1",kecamatan="Kedaton",state="up"}') == "0"
    assert h.site("s2") == "up"


def test_upstream_down_makes_sites_unreachable(h: SiteHarness) -> None:
    h.round()
    for _ in range(2):
        h.poll("pop-a", "sw", ok=False)
        h.poll("s1", "rtr", ok=False)
        h.poll("s2", "rtr", ok=False)
    assert h.site("s1") == "unreachable" and h.site("s2") == "unreachable"
    assert h.sample('netwatch_device_suppressed{site="s2",kecamatan="Kedaton",device="rtr",'
                    'role="router",reason="upstream_down"}') == "1"
    h.poll("pop-a", "sw")
    h.poll("pop-a", "sw")  # upstream back (up_after 2), the routers still down
    assert h.site("s1") == "down" and h.site("s2") == "down"


def test_degraded_hysteresis_both_ways(h: SiteHarness) -> None:
    h.round()
    h.poll("s2", "rtr", lost=2)  # 40% of one round: loss over the window 20% > 5%
    assert h.site("s2") == "up"  # one bad round is not enough (down_after 2)
    h.poll("s2", "rtr", lost=2)
    assert h.site("s2") == "degraded"
    assert "loss" in h.sites.groups["s2"].cause
    for _ in range(4):  # the window (4 rounds) must forget the lossy rounds first
        h.poll("s2", "rtr")
    assert h.site("s2") == "degraded"  # window clean now, but one good round < up_after 2
    assert h.sites.groups["s2"].cause.startswith("recovering from rtr loss")
    h.poll("s2", "rtr")
    assert h.site("s2") == "up"
    assert h.sample('netwatch_site_state_changes_total{site="s2"') == "2"


def test_degraded_by_latency(h: SiteHarness) -> None:
    h.round()
    for _ in range(2):
        h.poll("s2", "rtr", rtt=0.3)
    assert h.site("s2") == "degraded"
    assert h.sites.groups["s2"].cause == "rtr rtt p90 300ms > 150ms"


def test_maintenance_start_and_end(h: SiteHarness) -> None:
    h.round()
    h.now = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)  # 22:30 WIB, inside the window
    h.sites.evaluate("s1")
    assert h.site("s1") == "maintenance"
    assert h.sample('netwatch_maintenance_active{site="s1"') == "1"
    assert h.sample('netwatch_device_suppressed{site="s1",kecamatan="Kedaton",device="rtr",'
                    'role="router",reason="maintenance"}') == "1"
    for _ in range(2):
        h.poll("s1", "rtr", ok=False)  # work in progress: no "down"
    assert h.site("s1") == "maintenance"
    h.now += timedelta(hours=1)  # window over, router still down
    h.sites.evaluate("s1")
    assert h.site("s1") == "down"
    assert h.sample('netwatch_maintenance_active{site="s1"') == "0"


def test_isolation_freezes_states_and_recovers_without_a_burst(h: SiteHarness) -> None:
    h.round()
    assert h.sample("netwatch_poller_isolated") == "0"
    with capture_logs() as logs:
        for _ in range(3):  # the poller is cut off: canary and everything else fail
            h.round(ok=False)
    assert h.sites.isolated
    assert h.sample("netwatch_poller_isolated") == "1"
    assert h.site("s1") == "up" and h.site("s2") == "up"  # last known state kept
    assert h.sample('netwatch_device_suppressed{site="s2",kecamatan="Kedaton",device="rtr",'
                    'role="router",reason="poller_isolated"}') == "1"
    assert [e["event"] for e in logs].count("poller_isolated") == 1
    assert not [e for e in logs if e["event"] == "site_state"]
    with capture_logs() as logs:
        for _ in range(3):
            h.round()
    assert not h.sites.isolated
    assert h.site("s1") == "up" and h.site("s2") == "up"
    assert not [e for e in logs if e["event"] == "site_state"], "no burst of transitions"
    assert h.sample('netwatch_device_suppressed{site="s2",kecamatan="Kedaton",device="rtr",'
                    'role="router",reason="poller_isolated"}') == "0"


def test_transition_logged_once_with_cause(h: SiteHarness) -> None:
    h.round()
    with capture_logs() as logs:
        for _ in range(3):
            h.poll("s2", "rtr", ok=False)
    lines = [e for e in logs if e["event"] == "site_state"]
    assert lines == [{"event": "site_state", "log_level": "info", "site": "s2",
                      "kecamatan": "Kedaton", "old": "up", "new": "down", "cause": "rtr down",
                      "cause_name": "unknown",
                      "evidence": {"devices": {"rtr": {"status": "down"}}, "findings": []}}]
    assert h.sample('netwatch_site_cause{site="s2",kecamatan="Kedaton",cause="unknown"}') == "1"
    assert h.sample('netwatch_site_cause{site="s1",kecamatan="Kedaton",cause="unknown"}') == "0"


def test_site_info_and_sla_series(h: SiteHarness) -> None:
    body = h.store.render().decode()
    assert ('netwatch_site_info{site="s1",kelurahan="Satu",kecamatan="Kedaton",latitude="",'
            'longitude="",isp="",upstream="pop-a"} 1') in body
    assert "netwatch_site_sla_target_ratio{" not in body  # no sla_target configured


def test_outage_rounds_do_not_make_a_recovered_site_degraded(h: SiteHarness) -> None:
    h.round()
    for _ in range(3):  # silent rounds: the ICMP prober reports them as 100 % loss
        h.poll("s2", "rtr", lost=5)
    assert h.site("s2") == "down"
    for _ in range(4):
        h.poll("s2", "rtr")
    assert h.site("s2") == "up"  # the outage was "down", not loss: no "recovering" degraded
    assert h.sample('netwatch_site_state_changes_total{site="s2"') == "2"


def test_the_round_that_ends_an_outage_is_not_loss(h: SiteHarness) -> None:
    h.round()
    for _ in range(3):
        h.poll("s2", "rtr", lost=5)
    assert h.site("s2") == "down"
    h.poll("s2", "rtr")  # answering again (the target recovers after up_after rounds)
    h.poll("s2", "rtr", lost=4)  # the round that ends the outage began before its end
    assert h.site("s2") == "up"
    for _ in range(3):  # clean rounds after it: the partial round never comes back as loss
        h.poll("s2", "rtr")
        assert h.site("s2") == "up"
    assert h.sample('netwatch_site_state_changes_total{site="s2"') == "2"
