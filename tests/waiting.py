"""Waiting in tests: poll a condition with a bound (never a bare sleep as synchronisation)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Check = Callable[[], object | Awaitable[object]]


async def until(check: Check, timeout: float = 5.0, what: str | Callable[[], str] = "condition",
                step: float = 0.05) -> None:
    """Wait until `check()` (sync or async) is true; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"not reached within {timeout} s: {what if isinstance(what, str) else what()}")
        await asyncio.sleep(step)
