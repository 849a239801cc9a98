"""The exceptions netwatch raises, in one tree.

    NetwatchError
    ├── ConfigError          a config file is unreadable or invalid (carries every issue found)
    ├── StartupError         the daemon cannot start (no ICMP permission, port in use, ...)
    │   └── ListenError          its listen address is taken or not this machine's
    └── ProbeError           one poll of one target failed; `reason` is its metric label
        ├── ProbeTimeout         no answer within the timeout/deadline       reason="timeout"
        ├── Unreachable          the network said no (ICMP unreachable, ...)  reason="unreachable"
        ├── SnmpAuthError        SNMPv3 authentication or privacy failed     reason="auth"
        └── SnmpProtocolError    malformed reply or PDU error status          reason="protocol"

Anything else escaping a prober is counted with reason="internal".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Reason = Literal["timeout", "unreachable", "auth", "protocol", "internal"]
REASONS: tuple[Reason, ...] = ("timeout", "unreachable", "auth", "protocol", "internal")


class NetwatchError(Exception):
    """Base of every error netwatch raises on purpose."""


def format_path(path: tuple[str | int, ...]) -> str:
    """('sites', 3, 'devices', 0, 'address') -> 'sites[3].devices[0].address'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    file: str
    line: int  # 0 when unknown
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = format_path(self.path)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class ConfigError(NetwatchError):
    """Invalid configuration; `issues` holds every problem found, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line))
        super().__init__("\n".join(str(i) for i in self.issues))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[list[ConfigIssue]]]:
        return (ConfigError, (self.issues,))  # crosses the process boundary of read_inventory_apart


class StartupError(NetwatchError):
    """The daemon cannot start; the message says what to fix."""


class ListenError(StartupError):
    """The listen address cannot be bound; callers say how to change it (config or flag)."""

    def __init__(self, listen: str, reason: str, setting: str = "listen") -> None:
        self.listen, self.reason, self.setting = listen, reason, setting
        super().__init__(f"cannot listen on {listen}: {reason} "
                         f"(another netwatch running? change {setting}: in the config)")


class ProbeError(NetwatchError):
    reason: Reason = "internal"


class ProbeTimeout(ProbeError):
    reason: Reason = "timeout"


class Unreachable(ProbeError):
    reason: Reason = "unreachable"


class SnmpAuthError(ProbeError):
    reason: Reason = "auth"


class SnmpProtocolError(ProbeError):
    reason: Reason = "protocol"
