"""The history room without a daemon: a corrupt file set aside, a failing store keeps events
in memory and writes them in order later, availability by the recording rules' definition,
the minute rings, and the committed map."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from netwatch.base.exposition import MetricStore
from netwatch.generators import webmap
from netwatch.history.availability import by_kecamatan, ratio, site_seconds
from netwatch.history.events import SiteEvent
from netwatch.history.journal import History
from netwatch.history.recent import SLOTS, RecentSeries
from netwatch.icmp.result import IcmpResult
from netwatch.scheduler.prober import Failed


def event(at: float, site: str = "s1", old: str = "up", new: str = "down") -> SiteEvent:
    return SiteEvent(at, site, "Kedaton", old, new, f"{new} cause", {"devices": {}})


def history_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


async def test_corrupt_file_is_moved_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    history = History(path, MetricStore())
    assert await history.start() == {}
    history.record(event(1000.0))
    await history.flush()
    await history.close()
    aside = [p for p in history_files(tmp_path) if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT site, new FROM transitions").fetchall() == [("s1", "down")]


async def test_failing_writes_keep_events_then_write_them_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MetricStore()
    clock = [1000.0]
    history = History(tmp_path / "h.sqlite", store, clock=lambda: clock[0])
    await history.start()
    assert history.store is not None
    real_append = history.store.append

    def full(_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(history.store, "append", full)
    history.record(event(1001.0, new="down"))
    await history.flush()
    history.record(event(1002.0, old="down", new="up"))
    await history.flush()  # within the retry delay: not even tried
    body = store.render().decode()
    assert "netwatch_history_write_errors_total 1\n" in body
    assert "netwatch_history_pending_events 2\n" in body
    monkeypatch.setattr(history.store, "append", real_append)
    clock[0] += 10  # past RETRY_SECONDS
    await history.flush()
    assert not history.pending
    assert [e.new for e in await history.events(0, limit=10)] == ["down", "up"]
    await history.close()
    reopened = History(tmp_path / "h.sqlite", MetricStore())
    assert (await reopened.start())["s1"].new == "up"
    await reopened.close()


async def test_a_write_cancelled_by_a_stop_or_raced_by_another_flush_writes_each_event_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's stop cancels the background flush while its write runs on the store's
    thread; close() then flushes again. And two flushes may meet. Either way every event is
    in the file exactly once (a duplicate once showed a site's last change twice)."""
    history = History(tmp_path / "h.sqlite", MetricStore())
    await history.start()
    assert history.store is not None
    real_append = history.store.append
    entered, release = threading.Event(), threading.Event()

    def slow_append(events: list[SiteEvent]) -> None:
        entered.set()
        release.wait(5)
        real_append(events)

    monkeypatch.setattr(history.store, "append", slow_append)
    history.record(event(1001.0, new="down"))
    background = asyncio.create_task(history.flush())
    await asyncio.to_thread(entered.wait, 5)
    background.cancel()  # the stop: the coroutine goes, the write on the thread goes on
    with pytest.raises(asyncio.CancelledError):
        await background
    history.record(event(1002.0, old="down", new="up"))
    release.set()
    await asyncio.gather(history.flush(), history.flush())  # close()'s flush, and a racer
    await history.close()
    with sqlite3.connect(tmp_path / "h.sqlite") as db:
        rows = db.execute("SELECT at, new FROM transitions ORDER BY at").fetchall()
    assert rows == [(1001.0, "down"), (1002.0, "up")]
    assert not history.pending


def test_availability_counts_like_the_recording_rules() -> None:
    changes = [(100.0, "s1", "up"), (200.0, "s1", "down"), (250.0, "s1", "maintenance"),
               (300.0, "s1", "up"), (150.0, "s2", "degraded")]
    runs = [(0.0, 350.0), (360.0, 400.0)]  # the daemon was stopped from 350 to 360
    totals = site_seconds(0.0, 400.0, {}, sorted(changes), runs)
    # s1: up 100-200 and 300-350, 360-400 (190 s); down 200-250 (50 s); maintenance not counted
    assert totals["s1"] == (190.0, 240.0)
    assert totals["s2"] == (240.0, 240.0)  # degraded counts as available
    assert ratio(*totals["s1"]) == pytest.approx(190 / 240)
    assert by_kecamatan(totals, {"s1": "K", "s2": "K"}) == {"K": (430.0, 480.0)}
    assert ratio(0.0, 0.0) is None
    before = site_seconds(150.0, 250.0, {"s1": "up"}, [(200.0, "s1", "down")], [(0.0, 400.0)])
    assert before["s1"] == (50.0, 100.0)


def test_minute_rings_fill_clear_gaps_and_forget_a_day() -> None:
    recent = RecentSeries()
    start = 1_000_000 * 60.0
    recent.observe("d", start, 5, 5, 0.005)  # 1 ms mean
    recent.observe("d", start + 30, 5, 0, 0.0)  # same minute: 50 % lost overall
    recent.observe("d", start + 180, 5, 5, 0.010)  # two minutes skipped
    series = recent.series("d", start + 180)
    assert series is not None
    assert series.rtt_ms[-4:] == [pytest.approx(1.0), None, None, pytest.approx(2.0)]
    assert series.loss[-4:] == [0.5, None, None, 0.0]
    later = recent.series("d", start + 180 + 86400)
    assert later is not None and all(v is None for v in later.rtt_ms[:-1])
    recent.keep(["other"])
    assert recent.series("d", start) is None


def test_ring_loss_is_lost_over_sent_echoes_of_the_rounds_that_ran() -> None:
    """The arithmetic behind the site page's loss: per minute, echoes lost over echoes sent
    by the rounds that ran; a poll that failed without a round adds nothing (as the
    netwatch_icmp_*_total counters); the minute being filled reads its running sums."""
    recent = RecentSeries()
    minute = 1_000_000 * 60.0
    key = ("18.71.01.1003", "rtr")
    recent.observe_round(key, minute + 1, IcmpResult(5, (0.001,) * 5))
    recent.observe_round(key, minute + 2, Failed("timeout", "deadline exceeded"))
    recent.observe_round(key, minute + 3, IcmpResult(5, (0.001,) * 3))
    partial = recent.series(key, minute + 3)
    assert partial is not None
    assert partial.loss[-1] == pytest.approx(2 / 10)  # not 7/15: the failed poll sent nothing
    assert partial.rtt_ms[-1] == pytest.approx(1.0)
    # the next minute: a device down (every echo of the round lost), then one that answers
    recent.observe_round(key, minute + 61, IcmpResult(5, ()))
    recent.observe_round(key, minute + 62, IcmpResult(5, (0.002,) * 5))
    # a minute with nothing but a failed poll has no loss to show, not 100 %
    recent.observe_round(key, minute + 121, Failed("internal", "crash"))
    series = recent.series(key, minute + 121)
    assert series is not None
    assert series.loss[-3:] == [pytest.approx(0.2), pytest.approx(0.5), None]
    assert series.rtt_ms[-3:] == [pytest.approx(1.0), pytest.approx(2.0), None]
    assert series.start == int(minute // 60) + 2 - SLOTS + 1


def test_ring_slots_wrap_without_showing_yesterday() -> None:
    """Minute m and m + 1440 share a slot: yesterday's value never shows as today's, and a
    device silent for longer than a day reads as no data at all."""
    recent = RecentSeries()
    start = 1_000_000 * 60.0
    for m in range(SLOTS + 5):  # a day and five minutes, one lossy minute a day ago
        answered = 0 if m == 2 else 5
        recent.observe_round("d", start + m * 60, IcmpResult(5, (0.001,) * answered))
    now = start + (SLOTS + 4) * 60
    series = recent.series("d", now)
    assert series is not None
    assert series.loss.count(None) == 0 and max(v or 0.0 for v in series.loss) == 0.0
    later = recent.series("d", now + 2 * 86400)
    assert later is not None and all(v is None for v in later.loss)
    recent.observe_round("d", now + 2 * 86400, IcmpResult(5, (0.001,) * 4))
    again = recent.series("d", now + 2 * 86400)
    assert again is not None
    assert [v for v in again.loss if v is not None] == [pytest.approx(0.2)]


def test_committed_map_is_the_rendering() -> None:
    assert webmap.MAP_FILE.read_text(encoding="utf-8") == webmap.render(), \
        "run: python -m netwatch.generators.webmap render"
