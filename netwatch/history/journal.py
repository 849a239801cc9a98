"""The daemon's history: transitions recorded on the loop, written to the store off it.

`record()` is called by the site engine on every transition, on the event loop: it only
appends to memory (the last day of events, which the pages read, and the events not yet
written). `run()`, a background task of the daemon, writes the pending events every second on
the store's own thread, beats the run's heartbeat and prunes to the retention.

Polling never waits for the file and never stops because of it. When the store cannot be
written (a full disk, a read-only or vanished directory, a locked file) the error is logged
once, counted in `netwatch_history_write_errors_total`, and the events stay in memory
(`netwatch_history_pending_events`, at most MAX_PENDING) until a retry succeeds; then they are
written in order and the recovery is logged. A corrupt file is moved aside and replaced by a
new one at the next open (HistoryStore.open). Without a path (no `history.path` and no
systemd state directory) the history lives in memory only.

The links' baselines live here too: `start()` reads them into `baselines` (device -> dump)
for the daemon to load, and `baseline_source` (set by the daemon: the baselines closed since
the last call, dumped) is written every BASELINE_SECONDS and at a clean stop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import structlog

from netwatch.base.exposition import MetricStore
from netwatch.history import availability
from netwatch.history.events import UNKNOWN, SiteEvent
from netwatch.history.store import HistoryStore, is_corrupt

log = structlog.get_logger("netwatch.history")

DAY = 86400.0
FLUSH_SECONDS = 1.0
RETRY_SECONDS = 5.0  # a failing store is retried this often
HEARTBEAT_SECONDS = 10.0  # the run's "seen": after a crash, availability stops counting at
# most this long before the end Prometheus saw (a clean stop marks the very end)
PRUNE_SECONDS = 6 * 3600.0
MAX_PENDING = 100_000  # events kept while the store is unwritable (the oldest go first)
MAX_DAY = 100_000  # events of the last day kept in memory for the pages
BASELINE_SECONDS = 60.0  # changed baselines are written this often (and at a clean stop)
T = TypeVar("T")


class History:
    def __init__(self, path: Path | None, metrics: MetricStore, retention: float = 400 * DAY,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.retention = retention
        self.clock = clock
        self.store = HistoryStore(path) if path is not None else None
        self._pool: ThreadPoolExecutor | None = None
        self.day: deque[SiteEvent] = deque()  # the last day, oldest first
        self.pending: deque[SiteEvent] = deque()  # recorded, not yet written
        self._flushing = asyncio.Lock()
        self.restored: dict[str, SiteEvent] = {}
        self.baselines: dict[tuple[str, str], str] = {}  # as saved: (site, device) -> dump
        self.baseline_source: Callable[[], dict[tuple[str, str], str]] | None = None
        self._unsaved: dict[tuple[str, str], str] = {}  # taken, not yet written
        self._last_baselines = 0.0
        self.writable = False
        self.errors = 0
        self.dropped = 0
        self.started = clock()
        self._run: int | None = None
        self._failure: str | None = None
        self._next_try = 0.0
        self._last_beat = self._last_prune = 0.0
        self._day_floor = 0.0
        errors = metrics.family("netwatch_history_write_errors_total", lazy=True)
        pending = metrics.family("netwatch_history_pending_events", lazy=True)
        metrics.set(errors, "history", partial(self._count_text, errors.name))
        metrics.set(pending, "history", partial(self._pending_text, pending.name))

    def _count_text(self, name: str) -> str:
        return f"{name} {self.errors}\n"

    def _pending_text(self, name: str) -> str:
        return f"{name} {len(self.pending)}\n"

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> dict[str, SiteEvent]:
        """Open the store, load the last day, begin this run; return each site's last
        transition (what the daemon restores). A store that fails leaves memory only."""
        self.started = self.clock()  # the run: from here the daemon serves its verdicts
        if self.store is None:
            log.info("history_in_memory", reason="no history.path and no systemd "
                     "StateDirectory: transitions are not kept across restarts")
            return {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="history")
        if await self._reopen():
            try:
                self.restored = await self._call(self.store.latest)
                self.baselines = await self._call(self.store.baselines)
                events = await self._call(partial(self.store.events, self.clock() - DAY,
                                                  limit=MAX_DAY, newest=True))
            except sqlite3.Error as exc:
                self._failed(exc)
            else:
                self.day.extend(events)
                log.info("history_opened", path=str(self.path), sites=len(self.restored),
                         last_day=len(events), baselines=len(self.baselines))
        return dict(self.restored)

    async def close(self) -> None:
        """Write what is pending and mark the run's end (a clean stop)."""
        if self.store is None or self._pool is None:
            return
        await self.flush()
        await self.save_baselines()
        if self.writable and self._run is not None:
            try:
                await self._call(partial(self.store.run_seen, self._run, self.clock()))
            except sqlite3.Error as exc:
                self._failed(exc)
        if self.pending:
            log.error("history_lost_on_stop", path=str(self.path), events=len(self.pending))
        await self._call(self.store.close)
        self._pool.shutdown(wait=True)
        self._pool = None

    async def run(self) -> None:
        """The background task: write pending events, heartbeat, prune."""
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()
            now = self.clock()
            if self.writable and self.store is not None and self._run is not None:
                try:
                    if now - self._last_baselines >= BASELINE_SECONDS:
                        self._last_baselines = now
                        await self.save_baselines()
                    if now - self._last_beat >= HEARTBEAT_SECONDS:
                        await self._call(partial(self.store.run_seen, self._run, now))
                        self._last_beat = now
                    if now - self._last_prune >= PRUNE_SECONDS:
                        self._last_prune = now
                        gone = await self._call(partial(self.store.prune, now - self.retention))
                        if gone:
                            log.info("history_pruned", transitions=gone)
                except sqlite3.Error as exc:
                    self._failed(exc)

    # --- writing -----------------------------------------------------------------------------
    def record(self, event: SiteEvent) -> None:
        """On the loop, from the site engine: memory only, never blocks."""
        self.day.append(event)
        horizon = event.at - DAY
        while self.day and self.day[0].at < horizon:
            self.day.popleft()
        if len(self.day) > MAX_DAY:
            self._day_floor = self.day.popleft().at  # memory no longer holds all before this
        if self.store is None:
            return
        self.pending.append(event)
        if len(self.pending) > MAX_PENDING:
            self.pending.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.error("history_dropping", path=str(self.path), kept=MAX_PENDING,
                          effect="the oldest unwritten transitions are lost")

    async def save_baselines(self) -> None:
        """Write the baselines changed since the last save; kept for the next try when the
        store fails (the newest dump of a device wins)."""
        if self.store is None or self.baseline_source is None:
            return
        self._unsaved.update(self.baseline_source())
        if not self._unsaved or not self.writable:
            return
        batch, self._unsaved = self._unsaved, {}
        try:
            await self._call(partial(self.store.save_baselines, batch, self.clock()))
        except sqlite3.Error as exc:
            self._unsaved = batch | self._unsaved
            self._failed(exc)

    async def flush(self) -> None:
        """Write what is pending. One flush at a time (the background task's and close()'s
        would otherwise write a batch twice and drop events they never wrote); a write whose
        caller was cancelled (a stop during the write) still completes on the store's thread
        and its events stay pending: written again, the store ignores them (HistoryStore.append
        is idempotent)."""
        if self.store is None:
            return
        async with self._flushing:
            if not self.writable and (self.clock() < self._next_try
                                      or not await self._reopen()):
                return
            batch = list(self.pending)
            if not batch:
                return
            try:
                await self._call(partial(self.store.append, batch))
            except sqlite3.Error as exc:
                self._failed(exc)
                return
            written = {id(e) for e in batch}  # the oldest may have been dropped meanwhile
            while self.pending and id(self.pending[0]) in written:
                self.pending.popleft()

    async def _reopen(self) -> bool:
        assert self.store is not None
        try:
            await self._call(self.store.open)
            if self.store.set_aside is not None:
                log.error("history_corrupt", path=str(self.path),
                          moved_to=str(self.store.set_aside), effect="a new file was started")
                self.store.set_aside = None
            if self._run is None:
                self._run = await self._call(partial(self.store.run_started, self.started))
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return False
        self.writable = True
        if self._failure is not None:
            log.info("history_writable", path=str(self.path), pending=len(self.pending))
            self._failure = None
        return True

    def _failed(self, exc: Exception) -> None:
        """Count, log once per episode, close; the next try comes after RETRY_SECONDS."""
        self.errors += 1
        self.writable = False
        self._next_try = self.clock() + RETRY_SECONDS
        if self.store is not None:
            self.store.close()  # the executor is idle here: no call is in flight
        if self._failure is None:
            self._failure = str(exc)
            log.error("history_unwritable", path=str(self.path), error=str(exc),
                      corrupt=isinstance(exc, sqlite3.Error) and is_corrupt(exc),
                      effect="transitions kept in memory until the file is writable")

    async def _call(self, fn: Callable[[], T]) -> T:
        assert self._pool is not None
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    # --- reading -----------------------------------------------------------------------------
    def last_day(self, site: str | None = None, since: float = 0.0) -> list[SiteEvent]:
        """Transitions of the last day from memory, oldest first."""
        return [e for e in self.day if e.at >= since and (site is None or e.site == site)]

    def changes_since(self, since: float) -> tuple[dict[str, int], float | None]:
        """Transitions per site since `since` (within the last day), for flap markers, and
        the time of the oldest one counted (the first count to drop is its site's, when it
        leaves the window)."""
        counts: dict[str, int] = {}
        oldest = None
        for event in reversed(self.day):
            if event.at < since:
                break
            if event.old != UNKNOWN:
                counts[event.site] = counts.get(event.site, 0) + 1
                oldest = event.at
        return counts, oldest

    async def events(self, since: float, until: float | None = None, site: str | None = None,
                     limit: int = 1000) -> list[SiteEvent]:
        """Transitions with since <= at < until, oldest first: from memory when the last day
        covers it, else from the store plus what is not yet written."""
        end = until if until is not None else float("inf")
        covered = since >= max(self.clock() - DAY, self._day_floor)
        if covered or not self.writable or self.store is None:
            found = [e for e in self.day if since <= e.at < end
                     and (site is None or e.site == site)]
            return found[:limit]
        stored = await self._call(partial(self.store.events, since, until, site, limit))
        unwritten = [e for e in self.pending if since <= e.at < end
                     and (site is None or e.site == site)]
        return (stored + unwritten)[:limit]

    async def kecamatan_of(self) -> dict[str, str]:
        """Each site's kecamatan as its last transition recorded it: the roll-ups count a
        site that has left the config in the kecamatan it was in, as Prometheus does."""
        found = {site: e.kecamatan for site, e in self.restored.items()}
        if self.writable and self.store is not None:
            try:
                found = {s: e.kecamatan for s, e in (await self._call(self.store.latest)).items()}
            except sqlite3.Error as exc:
                self._failed(exc)
        found.update((e.site, e.kecamatan) for e in self.day)
        found.update((e.site, e.kecamatan) for e in self.pending)
        return found

    async def site_seconds(self, start: float, end: float) -> dict[str, availability.Totals]:
        """Available and counted seconds per site in [start, end) (see availability)."""
        now = self.clock()
        current = (self.started, min(end, now))
        if self.writable and self.store is not None and self._run is not None:
            store, run = self.store, self._run
            try:
                states = await self._call(partial(store.states_at, start))
                changes = await self._call(partial(store.changes, start))
                runs = [(a, b) for rid, a, b in await self._call(partial(store.runs, start))
                        if rid != run]
            except sqlite3.Error as exc:
                self._failed(exc)
            else:
                changes += [(e.at, e.site, e.new) for e in self.pending if e.at >= start]
                return availability.site_seconds(start, end, states, changes, [*runs, current])
        # memory only: the day in memory and the states restored at start
        states = {s: e.new for s, e in self.restored.items() if e.at < start}
        for event in self.day:
            if event.at < start:
                states[event.site] = event.new
        changes = [(e.at, e.site, e.new) for e in self.day if e.at >= start]
        return availability.site_seconds(start, end, states, changes, [current])
