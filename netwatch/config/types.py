"""Field types of the config: durations, bandwidths, addresses, names and secrets.

Each parses what operators type (`15s`, `20Mbit`, `{env: NETWATCH_COMMUNITY}`) into one plain
value and says precisely what is wrong otherwise.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from netwatch.config.files import SECRET_LIMIT, FileProblem, read_text

# Polling durations (intervals, timeouts, deadlines, RTT levels) lie between these: below
# 10 ms no network answers; above a day a target is not monitored. Tests use 0.05-0.5 s.
MIN_DURATION = 0.010
MAX_DURATION = 86400.0
MAX_WINDOW = 366 * 86400.0  # a maintenance window (one-off work may take days)
# how long the history keeps transitions: the public page shows 90 days; ten years is plenty
MIN_RETENTION = 86400.0
MAX_RETENTION = 3660 * 86400.0
MAX_BANDWIDTH = 10e12 / 8  # 10 Tbit/s, in bytes per second
_MAX_TEXT = 64  # characters of a duration or bandwidth; longer is no such thing


def _shown(value: Any) -> str:
    """A value for an error message, cut short (it may be a pasted megabyte)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any, low: float = MIN_DURATION, high: float = MAX_DURATION) -> float:
    """`150ms`, `15s`, `2m`, `1h30m` or a number of seconds -> seconds (float), finite and
    within [low, high] (by default the bounds of polling durations)."""
    if isinstance(value, bool):
        raise ValueError("not a duration (use e.g. 15s, 2m, 150ms)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and len(value) <= _MAX_TEXT:
        text = value.strip()
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise ValueError(f"not a duration: {value!r} (use e.g. 15s, 2m, 150ms)")
    elif isinstance(value, str):
        raise ValueError(f"not a duration: {_shown(value)} (use e.g. 15s, 2m, 150ms)")
    else:
        raise ValueError("not a duration (use e.g. 15s, 2m, 150ms)")
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number")
    if seconds <= 0:
        raise ValueError("duration must be greater than 0")
    if seconds < low:
        raise ValueError(f"duration must be at least {format_duration(low)}")
    if seconds > high:
        raise ValueError(f"duration must be at most {format_duration(high)}")
    return seconds


def parse_window(value: Any) -> float:
    """A maintenance window's length: a duration of at least a second, at most 366 days."""
    return parse_duration(value, 1.0, MAX_WINDOW)


def parse_retention(value: Any) -> float:
    """How long the history keeps site transitions: a duration from 1 day to 3660 days."""
    return parse_duration(value, MIN_RETENTION, MAX_RETENTION)


def format_duration(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:g}d"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


_BANDWIDTH = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKMGT]?)(bit|bps|B)(?:/s)?$")
_PREFIX = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def parse_bandwidth(value: Any) -> float:
    """`20Mbit`, `1Gbit`, `100Mbps`, `2MB/s` -> bytes per second."""
    if isinstance(value, str) and len(value) <= _MAX_TEXT:
        match = _BANDWIDTH.match(value.strip())
        if match:
            number = float(match.group(1)) * _PREFIX[match.group(2)]
            per_second = number if match.group(3) == "B" else number / 8
            if per_second > MAX_BANDWIDTH:
                raise ValueError("bandwidth must be at most 10Tbit")
            if per_second > 0:
                return per_second
    raise ValueError(f"not a bandwidth: {_shown(value)} (use e.g. 20Mbit, 1Gbit, 100Mbps)")


_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def parse_address(value: Any) -> str:
    """An IPv4/IPv6 address or a DNS host name, returned normalised."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            pass
        labels = text.rstrip(".").split(".")
        looks_numeric = all(part.isdigit() for part in labels)
        if (
            text
            and len(text) <= 253
            and not looks_numeric
            and all(_HOSTNAME_LABEL.match(part) for part in labels)
        ):
            return text.lower()
    raise ValueError("not an IP address or host name")


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def parse_name(value: Any) -> str:
    """Device, auth and canary names: lower-case letters, digits, `-` and `_`."""
    if isinstance(value, str) and _NAME.match(value):
        return value
    raise ValueError(
        "must be lower-case letters, digits, '-' or '_' (starting with a letter or digit)"
    )


_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def parse_ident(value: Any) -> str:
    """Site and upstream ids (e.g. the kode wilayah `18.71.01.1003`)."""
    if isinstance(value, str) and _IDENT.match(value):
        return value
    raise ValueError("must be letters, digits, '.', '-' or '_' (e.g. 18.71.01.1003)")


Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema({
    "anyOf": [{"type": "number", "minimum": MIN_DURATION, "maximum": MAX_DURATION},
              {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"}],
    "description": "a duration from 10ms to 1d: 150ms, 15s, 2m, 1h30m, or seconds"})]
WindowDuration = Annotated[float, BeforeValidator(parse_window), WithJsonSchema({
    "anyOf": [{"type": "number", "minimum": 1, "maximum": MAX_WINDOW},
              {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"}],
    "description": "a duration from 1s to 366d: 2h, 1d, 90m, or seconds"})]
RetentionDuration = Annotated[float, BeforeValidator(parse_retention), WithJsonSchema({
    "anyOf": [{"type": "number", "minimum": MIN_RETENTION, "maximum": MAX_RETENTION},
              {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"}],
    "description": "a duration from 1d to 3660d: 400d, 90d, or seconds"})]
Bandwidth = Annotated[float, BeforeValidator(parse_bandwidth), WithJsonSchema({
    "type": "string", "pattern": r"^\d+(\.\d+)?\s*[kKMGT]?(bit|bps|B)(/s)?$",
    "description": "a bandwidth: 20Mbit, 1Gbit, 100Mbps, 2MB/s"})]
Address = Annotated[str, BeforeValidator(parse_address), WithJsonSchema({
    "type": "string", "description": "an IPv4/IPv6 address or a host name"})]
Name = Annotated[str, BeforeValidator(parse_name), WithJsonSchema({
    "type": "string", "pattern": _NAME.pattern})]
Ident = Annotated[str, BeforeValidator(parse_ident), WithJsonSchema({
    "type": "string", "pattern": _IDENT.pattern})]


class Secret:
    """A resolved secret. Its repr and str never show the value; `reveal()` does."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source  # "inline", "env:NAME", "file:PATH", "credential:NAME"

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    def __str__(self) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_before_validator_function(
            _resolve_secret,
            core_schema.is_instance_schema(cls),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda s: str(s)),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        ref = {"type": "string", "minLength": 1}
        return {
            "description": "A secret: inline text, or {env: NAME}, {file: PATH}, "
            "{credential: NAME} (systemd LoadCredential)",
            "oneOf": [
                ref,
                {"type": "object", "properties": {"env": ref}, "required": ["env"],
                 "additionalProperties": False},
                {"type": "object", "properties": {"file": ref}, "required": ["file"],
                 "additionalProperties": False},
                {"type": "object", "properties": {"credential": ref},
                 "required": ["credential"], "additionalProperties": False},
            ],
        }


class DeferredCredential(Secret):
    """A `{credential: NAME}` read where systemd has not passed credentials in (check-config on
    the admin's shell): systemd resolves it when it starts the service, so the check can only
    warn. It has no value; revealing it is a bug (`run` never defers: it refuses instead)."""

    __slots__ = ()

    def __init__(self, name: str) -> None:
        super().__init__("", f"credential:{name}")

    @property
    def name(self) -> str:
        return self.source.partition(":")[2]

    def reveal(self) -> str:
        raise RuntimeError(f"{self.source} was deferred to systemd and has no value here")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeferredCredential) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)


DEFER_CREDENTIALS = "defer_credentials"  # validation context key: check-config, not `run`


def _read_secret_file(path: Path, what: str) -> str:
    """A secret from a file: regular, at most SECRET_LIMIT, UTF-8 without NUL bytes; one
    trailing newline dropped. Errors name the file, never a byte of it."""
    try:
        text = read_text(path, SECRET_LIMIT, what)
    except FileProblem as exc:
        raise ValueError(str(exc)) from None
    value = text.rstrip("\r\n")
    if not value:
        raise ValueError(f"{what} {str(path)!r} is empty")
    return value


def _resolve_secret(value: Any, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str) and value:
        if "\0" in value:
            raise ValueError("a secret cannot contain a NUL byte")
        return Secret(value, "inline")
    if isinstance(value, dict) and len(value) == 1:
        ((kind, name),) = value.items()
        if not isinstance(name, str) or not name:
            raise ValueError(f"secret {kind}: must name something")
        if kind == "env":
            env_value = os.environ.get(name)
            if not env_value:
                raise ValueError(f"environment variable {name} is not set")
            if len(env_value) > SECRET_LIMIT:
                raise ValueError(f"environment variable {name} is longer than "
                                 f"{SECRET_LIMIT >> 10} KiB")
            return Secret(env_value, f"env:{name}")
        if kind == "file":
            base = Path((info.context or {}).get("base_dir", "."))
            return Secret(_read_secret_file(base / name, "secret file"), f"file:{name}")
        if kind == "credential":
            if "/" in name or name in (".", ".."):
                raise ValueError(f"credential {name!r}: a credential is a plain name, not a path")
            directory = os.environ.get("CREDENTIALS_DIRECTORY")
            if not directory:
                if (info.context or {}).get(DEFER_CREDENTIALS):
                    return DeferredCredential(name)
                # no fallback to a file: a daemon started outside systemd must be told
                raise ValueError(
                    f"credential {name!r}: $CREDENTIALS_DIRECTORY is not set: systemd passes "
                    "credentials to the service it starts (LoadCredential=); outside systemd, "
                    "set it to a directory holding the file, or use {env:} or {file:}"
                )
            return Secret(_read_secret_file(Path(directory) / name, "credential"),
                          f"credential:{name}")
    raise ValueError("a secret is text or one of {env: NAME}, {file: PATH}, {credential: NAME}")
