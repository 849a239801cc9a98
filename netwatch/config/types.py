"""Field types of the config: durations, bandwidths, addresses, names and secrets.

Each parses what operators type (`15s`, `20Mbit`, `{env: NETWATCH_COMMUNITY}`) into one plain
value and says precisely what is wrong otherwise.
"""

from __future__ import annotations

import ipaddress
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

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """`150ms`, `15s`, `2m`, `1h30m` or a number of seconds -> seconds (float)."""
    if isinstance(value, bool):
        raise ValueError("not a duration (use e.g. 15s, 2m, 150ms)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise ValueError(f"not a duration: {value!r} (use e.g. 15s, 2m, 150ms)")
    else:
        raise ValueError("not a duration (use e.g. 15s, 2m, 150ms)")
    if seconds <= 0:
        raise ValueError("duration must be greater than 0")
    return seconds


def format_duration(seconds: float) -> str:
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
    if isinstance(value, str):
        match = _BANDWIDTH.match(value.strip())
        if match:
            number = float(match.group(1)) * _PREFIX[match.group(2)]
            per_second = number if match.group(3) == "B" else number / 8
            if per_second > 0:
                return per_second
    raise ValueError(f"not a bandwidth: {value!r} (use e.g. 20Mbit, 1Gbit, 100Mbps)")


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
    "anyOf": [{"type": "number", "exclusiveMinimum": 0},
              {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"}],
    "description": "a duration: 150ms, 15s, 2m, 1h30m, or seconds"})]
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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    value = text.rstrip("\r\n")
    if not value:
        raise ValueError(f"{what} {str(path)!r} is empty")
    return value


def _resolve_secret(value: Any, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str) and value:
        return Secret(value, "inline")
    if isinstance(value, dict) and len(value) == 1:
        ((kind, name),) = value.items()
        if not isinstance(name, str) or not name:
            raise ValueError(f"secret {kind}: must name something")
        if kind == "env":
            env_value = os.environ.get(name)
            if not env_value:
                raise ValueError(f"environment variable {name} is not set")
            return Secret(env_value, f"env:{name}")
        if kind == "file":
            base = Path((info.context or {}).get("base_dir", "."))
            return Secret(_read_secret_file(base / name, "secret file"), f"file:{name}")
        if kind == "credential":
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
