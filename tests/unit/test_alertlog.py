"""The demo's terminal notifications: one line per alert change, with time, kelurahan, cause."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from netwatch.lab.alertlog import AlertLog
from netwatch.lab.stack import Notification

WIB = timezone(timedelta(hours=7))


def alert(status: str, name: str = "NetwatchSiteDown", site: str = "18.71.01.1003",
          fingerprint: str = "f1", ends: str = "0001-01-01T00:00:00Z",
          **annotations: str) -> dict[str, object]:
    labels = {"alertname": name, "severity": "critical", "kecamatan": "Kedaton"}
    if site:
        labels["site"] = site
    return {"status": status, "labels": labels, "annotations": annotations,
            "fingerprint": fingerprint, "startsAt": "2026-12-03T02:41:07.123456789Z",
            "endsAt": ends}


def log_of(*payload_alerts: list[dict[str, object]],
           receivers: tuple[str, ...] = ("noc-telegram",)) -> list[str]:
    out = io.StringIO()
    log = AlertLog(lookup=lambda site: ("Kedaton", "rtr down") if site == "18.71.01.1003"
                   else ("", ""), out=out, now=lambda: datetime(2026, 12, 3, 9, 41, 7,
                                                                tzinfo=WIB))
    for alerts in payload_alerts:
        for receiver in receivers:  # Alertmanager sends the same group to every receiver
            log(Notification(receiver, {"alerts": alerts}, 0.0))
    return out.getvalue().splitlines()


def test_one_line_per_change_not_per_receiver_or_group_update() -> None:
    firing = alert("firing")
    other = alert("firing", site="18.71.01.1004", fingerprint="f2")
    lines = log_of([firing], [firing, other], [firing, other],
                   receivers=("noc-telegram", "noc-email", "oncall-bridge"))
    assert lines == [
        "09:41:07 FIRING   NetwatchSiteDown [critical] Kedaton (18.71.01.1003), Kec. Kedaton: "
        "rtr down",
        "09:41:07 FIRING   NetwatchSiteDown [critical] 18.71.01.1004, Kec. Kedaton"]


def test_resolved_is_printed_once_with_the_duration() -> None:
    firing = alert("firing")
    resolved = alert("resolved", ends="2026-12-03T02:46:12.5Z")
    lines = log_of([firing], [resolved], [resolved])
    assert len(lines) == 2
    assert lines[1] == ("09:41:07 RESOLVED NetwatchSiteDown [critical] Kedaton (18.71.01.1003), "
                        "Kec. Kedaton, after 5m05s")
    assert log_of([resolved]) == []  # resolved without having fired here: nothing changed
    assert len(log_of([firing], [resolved], [firing])) == 3  # fires again: a new change


def test_kelurahan_from_the_alert_and_alerts_without_a_site() -> None:
    named = alert("firing", site="18.71.02.1001", kelurahan="Sukarame")
    area = alert("firing", name="NetwatchAreaOutage", site="", fingerprint="f3")
    lines = log_of([named, area])
    assert "Sukarame (18.71.02.1001), Kec. Kedaton" in lines[0]
    assert lines[1].endswith("NetwatchAreaOutage [critical] Kec. Kedaton")


def test_demo_status_line_repeats_the_counts_and_links() -> None:
    from netwatch.lab.demo import status_line

    class Rows:
        def status_rows(self) -> list[tuple[str, ...]]:
            return [("b", "B", "K", "down", "rtr down", "power"), ("a", "A", "K", "up", "", ""),
                    ("c", "C", "K", "up", "", "")]

    text = status_line(Rows(), "status page http://127.0.0.1:9430/")  # type: ignore[arg-type]
    line, *causes = text.splitlines()
    assert line.endswith(": 3 sites: 1 down, 2 up | status page http://127.0.0.1:9430/")
    assert causes == ["  down         power             B (b), Kec. K: rtr down"]
