"""Maintenance windows: is a site inside one right now, and which one.

One-off windows have an absolute start; weekly windows start on the given weekdays at a local
time in the config's timezone (Asia/Jakarta by default), and may run across midnight or from
Sunday into Monday.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from netwatch.config.model import WEEKDAYS, MaintenanceWindow


def window_start(window: MaintenanceWindow, now: datetime, tz: ZoneInfo) -> datetime | None:
    """Start of the occurrence of `window` that contains `now`, or None if none does."""
    length = timedelta(seconds=window.duration)
    if window.start is not None:
        return window.start if window.start <= now < window.start + length else None
    assert window.weekly is not None
    local_now = now.astimezone(tz)
    days = {WEEKDAYS.index(d) for d in window.weekly.days}
    # the occurrence containing now started at most a week ago (duration <= 7 days)
    for back in range(8):
        day = local_now.date() - timedelta(days=back)
        if day.weekday() not in days:
            continue
        start = datetime.combine(day, window.weekly.at, tzinfo=tz)
        if start <= local_now < start + length:
            return start
    return None


def active_window(windows: Iterable[MaintenanceWindow], now: datetime,
                  tz: ZoneInfo) -> MaintenanceWindow | None:
    """The first window that covers `now` (aware datetime), if any."""
    for window in windows:
        if window_start(window, now, tz) is not None:
            return window
    return None
