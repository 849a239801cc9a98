"""structlog to stderr: readable on a terminal, JSON lines otherwise (journald, files).

stdout stays free for command output (`schema`, `probe`, `check-config`). Tracebacks are
rendered without local variables, so secrets held in locals never reach a log.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog
from structlog.tracebacks import ExceptionDictTransformer

LEVELS = ("debug", "info", "warning", "error")

# journald reads a "<N>" prefix as the priority when SyslogLevelPrefix=yes (the default)
_SYSLOG_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}


def _journald_priority(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    event["_priority"] = _SYSLOG_PRIORITY.get(event.get("level", "info"), 6)
    return event


class _PriorityPrefixRenderer:
    """JSON line with a `<N>` prefix, so journald shows warnings and errors as such."""

    def __init__(self) -> None:
        self._json = structlog.processors.JSONRenderer()

    def __call__(self, logger: Any, name: str, event: dict[str, Any]) -> str:
        priority = event.pop("_priority", 6)
        line = self._json(logger, name, event)  # str: JSONRenderer's default serializer
        return f"<{priority}>{line!s}"


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (tests and daemons may swap it after configure)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "info", json: bool | None = None) -> None:
    """Set up structlog (and route stdlib logging, e.g. aiohttp's, through it)."""
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json:
        exceptions = structlog.processors.ExceptionRenderer(
            ExceptionDictTransformer(show_locals=False))
        if os.environ.get("JOURNAL_STREAM"):
            render: list[Any] = [exceptions, _journald_priority, _PriorityPrefixRenderer()]
        else:
            render = [exceptions, structlog.processors.JSONRenderer()]
    else:
        render = [structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
            if _has_rich() else structlog.dev.plain_traceback)]
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=shared + render,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # structlog only calls write() and flush(): a TextIO in spirit, not in type
        logger_factory=structlog.WriteLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING))  # libraries: warnings and up only


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True
