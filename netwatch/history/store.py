"""The history file: site transitions and the daemon's runs in one SQLite database.

stdlib sqlite3 in WAL mode with synchronous=NORMAL: a commit appends to the write-ahead log
without an fsync, so a batch of transitions costs well under a millisecond, and a crash loses
at most the last batches (never the file). Every call happens on one thread (the journal's
executor), so the connection is never shared.

    store = HistoryStore(path)
    store.open()                        # sqlite3.Error when unusable; a corrupt file is moved
    store.append([event, ...])          #   aside (path.corrupt-YYYYmmddTHHMMSS) and replaced;
                                        #   idempotent: a retried batch writes nothing twice
    store.latest()                      # each site's last transition: what the daemon restores
    store.events(since, until, site, limit)
    store.states_at(t), store.runs(since)   # for availability
    store.prune(before)                 # retention: each site keeps at least its last row
    store.save_baselines({(site, device): text}, at), store.baselines()

Runs: each start of the daemon is a row (started, seen); `seen` moves with a heartbeat and on
a clean stop. Time outside every run is not counted for availability, as Prometheus counts
no samples while the daemon is not scraped.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from netwatch.history.events import SiteEvent

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    site TEXT NOT NULL,
    kecamatan TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    cause TEXT NOT NULL,
    cause_name TEXT,
    evidence TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_site_at ON transitions (site, at);
-- a transition is written once, however often its batch is retried
CREATE UNIQUE INDEX IF NOT EXISTS transitions_once ON transitions (site, at, old, new);
CREATE INDEX IF NOT EXISTS transitions_at ON transitions (at);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    seen REAL NOT NULL
);
-- each device's baselines (netwatch.sites.baseline's dump): the links' normal survives a
-- restart. A table an older netwatch ignores, so the schema version stays.
CREATE TABLE IF NOT EXISTS baselines (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    saved REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (site, device)
);
"""
_COLUMNS = "at, site, kecamatan, old, new, cause, cause_name, evidence"
# what SQLite says when the file is not (or no longer) a database
CORRUPT = ("file is not a database", "database disk image is malformed")


def is_corrupt(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and any(m in str(exc) for m in CORRUPT)


def _event(row: tuple[Any, ...]) -> SiteEvent:
    at, site, kecamatan, old, new, cause, cause_name, evidence = row
    return SiteEvent(float(at), str(site), str(kecamatan), str(old), str(new), str(cause),
                     json.loads(str(evidence)), str(cause_name) if cause_name else None)


class HistoryStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self.set_aside: Path | None = None  # where the last corrupt file went

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.OperationalError("history store not open")
        return self._db

    def open(self) -> None:
        """Open (creating it and its directory); a corrupt file is moved aside first."""
        try:
            self._connect()
        except sqlite3.Error as exc:
            self.close()
            if not is_corrupt(exc):
                raise
            self.set_aside = self.path.with_name(
                f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{self.path}{suffix}")
                if part.exists():
                    part.rename(Path(f"{self.set_aside}{suffix}"))
            self._connect()

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False,
                             isolation_level=None)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")  # the first read: fails here on a corrupt file
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.OperationalError(
                f"history schema {version} is newer than this netwatch's {SCHEMA_VERSION}")
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    # --- writing --------------------------------------------------------------------------
    def append(self, events: Sequence[SiteEvent]) -> None:
        rows = [(e.at, e.site, e.kecamatan, e.old, e.new, e.cause, e.cause_name,
                 json.dumps(e.evidence, separators=(",", ":"))) for e in events]
        with self._transaction():  # a retried batch: the rows already there are skipped
            self.db.executemany(f"INSERT OR IGNORE INTO transitions ({_COLUMNS}) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def run_started(self, at: float) -> int:
        with self._transaction():
            cursor = self.db.execute("INSERT INTO runs (started, seen) VALUES (?, ?)", (at, at))
        return int(cursor.lastrowid or 0)

    def run_seen(self, run: int, at: float) -> None:
        with self._transaction():
            self.db.execute("UPDATE runs SET seen = ? WHERE id = ?", (at, run))

    def prune(self, before: float) -> int:
        """Drop transitions older than `before`, except each site's last one (its "since"
        must survive a site that stays up longer than the retention), and old runs."""
        with self._transaction():
            gone = self.db.execute(
                "DELETE FROM transitions WHERE at < ? AND id NOT IN "
                "(SELECT MAX(id) FROM transitions GROUP BY site)", (before,)).rowcount
            self.db.execute("DELETE FROM runs WHERE seen < ?", (before,))
            self.db.execute("DELETE FROM baselines WHERE saved < ?", (before,))
        return int(gone)

    def save_baselines(self, dumps: Mapping[tuple[str, str], str], at: float) -> None:
        """Each device's baselines as dumped, replacing what was saved before."""
        rows = [(site, device, at, text) for (site, device), text in dumps.items()]
        with self._transaction():
            self.db.executemany("INSERT OR REPLACE INTO baselines (site, device, saved, data) "
                                "VALUES (?, ?, ?, ?)", rows)

    def baselines(self) -> dict[tuple[str, str], str]:
        return {(str(site), str(device)): str(data) for site, device, data in
                self.db.execute("SELECT site, device, data FROM baselines")}

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # --- reading --------------------------------------------------------------------------
    def latest(self) -> dict[str, SiteEvent]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM transitions WHERE id IN "
            "(SELECT MAX(id) FROM transitions GROUP BY site)").fetchall()
        return {e.site: e for e in map(_event, rows)}

    def events(self, since: float, until: float | None = None, site: str | None = None,
               limit: int = 1000, newest: bool = False) -> list[SiteEvent]:
        """Transitions with since <= at < until, oldest first, at most `limit`: the oldest
        ones, or with `newest` the newest ones."""
        query = f"SELECT {_COLUMNS} FROM transitions WHERE at >= ?"
        args: list[object] = [since]
        if until is not None:
            query += " AND at < ?"
            args.append(until)
        if site is not None:
            query += " AND site = ?"
            args.append(site)
        order = " ORDER BY at DESC, id DESC" if newest else " ORDER BY at, id"
        rows = self.db.execute(query + order + " LIMIT ?", (*args, limit)).fetchall()
        found = [_event(r) for r in rows]
        return found[::-1] if newest else found

    def states_at(self, at: float) -> dict[str, str]:
        """Each site's state at time `at` (its last transition before it)."""
        rows = self.db.execute(
            "SELECT site, new FROM transitions WHERE id IN "
            "(SELECT MAX(id) FROM transitions WHERE at < ? GROUP BY site)", (at,)).fetchall()
        return {str(site): str(new) for site, new in rows}

    def changes(self, since: float) -> list[tuple[float, str, str]]:
        """(at, site, new) of every transition since `since`, oldest first."""
        rows = self.db.execute("SELECT at, site, new FROM transitions WHERE at >= ? "
                               "ORDER BY at, id", (since,)).fetchall()
        return [(float(at), str(site), str(new)) for at, site, new in rows]

    def runs(self, since: float) -> list[tuple[int, float, float]]:
        """(id, started, last seen) of the runs that reach past `since`."""
        rows = self.db.execute("SELECT id, started, seen FROM runs WHERE seen >= ? "
                               "ORDER BY started", (since,)).fetchall()
        return [(int(i), float(a), float(b)) for i, a, b in rows]


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error (autocommit mode otherwise)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            try:
                self.db.execute("COMMIT")  # a full disk fails here
            except sqlite3.Error:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
