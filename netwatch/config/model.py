"""The config file as pydantic models: what an operator may write, and nothing else.

Sections `icmp`, `snmp` and `state` appear under `defaults`, and again (partially) on a site,
an upstream, a canary or a device to override the defaults there. A field left out (None)
inherits; `netwatch.inventory.model` merges the layers and checks the result.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netwatch.config.types import (
    Address,
    Bandwidth,
    DeferredCredential,
    Duration,
    Ident,
    Name,
    RetentionDuration,
    Secret,
    WindowDuration,
)

Role = Literal["router", "ap", "switch", "server", "upstream"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = dict(zip(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                       "sunday"), WEEKDAYS, strict=True))


class Strict(BaseModel):
    # allow_inf_nan: `.nan` or `.inf` in any number field is an error, not a poll interval
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class IcmpSection(Strict):
    """ICMP echo polling. Every echo of a round must be answered within `timeout`."""

    enabled: bool | None = None
    interval: Duration | None = Field(None, description="time between rounds, e.g. 15s")
    count: int | None = Field(None, ge=1, le=100, description="echoes per round")
    spacing: Duration | None = Field(None, description="time between echoes of a round")
    timeout: Duration | None = Field(None, description="per echo; later replies count as late")
    size: int | None = Field(None, ge=0, le=65000, description="echo payload bytes")
    deadline: Duration | None = Field(None,
                                      description="bound of one round (default 0.8 x interval)")


class SnmpSection(Strict):
    """SNMP polling. `timeout` and `retries` are per request; the poll must fit in `deadline`."""

    enabled: bool | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    retries: int | None = Field(None, ge=0, le=10)
    deadline: Duration | None = None
    auth: Name | None = Field(None, description="name of an entry under auths:")
    profile: str | None = Field(None, description="device profile, or auto")
    port: int | None = Field(None, ge=1, le=65535)


class DegradedThresholds(Strict):
    """Overrides of the thresholds file's `degraded` for the sites of this layer."""

    loss_ratio: float | None = Field(None, gt=0, le=1, description="loss above this is degraded")
    rtt_p90: Duration | None = Field(None, description="RTT p90 above this is degraded")


class StateSection(Strict):
    """Hysteresis of device and site states."""

    down_after: int | None = Field(None, ge=1, le=100, description="bad rounds before down")
    up_after: int | None = Field(None, ge=1, le=100, description="good rounds before up")
    degraded: DegradedThresholds | None = None


class DefaultsConfig(Strict):
    icmp: IcmpSection = IcmpSection()
    snmp: SnmpSection = SnmpSection()
    state: StateSection = StateSection()


class AuthConfig(Strict):
    """SNMP credentials, referenced by name from `snmp.auth`."""

    version: Literal["1", "2c", "3"]
    community: Secret | None = None
    username: str | None = None
    security_level: Literal["noAuthNoPriv", "authNoPriv", "authPriv"] | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_password: Secret | None = None
    priv_protocol: Literal["DES", "3DES", "AES", "AES128", "AES192", "AES256"] | None = None
    priv_password: Secret | None = None
    context_name: str = ""

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _fields_match_version(self) -> AuthConfig:
        if self.version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"SNMP v{self.version} needs a community")
            if self.username or self.auth_password or self.priv_password:
                raise ValueError(f"SNMP v{self.version} takes a community, not v3 user settings")
            return self
        if self.community is not None:
            raise ValueError("SNMP v3 takes a username, not a community")
        if not self.username:
            raise ValueError("SNMP v3 needs a username")
        level = self.security_level or "authPriv"
        needs_auth = level in ("authNoPriv", "authPriv")
        if needs_auth != (self.auth_password is not None):
            verb = "needs" if needs_auth else "takes no"
            raise ValueError(f"security_level {level} {verb} auth_password")
        if (level == "authPriv") != (self.priv_password is not None):
            verb = "needs" if level == "authPriv" else "takes no"
            raise ValueError(f"security_level {level} {verb} priv_password")
        for secret_name in ("auth_password", "priv_password"):
            secret = getattr(self, secret_name)
            if secret is not None and not isinstance(secret, DeferredCredential) \
                    and len(secret.reveal()) < 8:
                raise ValueError(f"{secret_name} must be at least 8 characters (RFC 3414)")
        return self

    @property
    def level(self) -> str:
        return self.security_level or "authPriv"


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class UplinkConfig(Strict):
    """The interface that carries the site's traffic upstream."""

    ifname: str = Field(min_length=1)
    capacity: Bandwidth | None = Field(None, description="contracted capacity, e.g. 20Mbit")


class RadioConfig(Strict):
    """A backhaul radio: one series per radio peer (the `peer` label), for at most
    `max_peers` peers; the rest are counted in netwatch_radio_peers_over_limit. Without it,
    a radio's peers are aggregated (clients; min, median and max signal)."""

    per_peer: bool = Field(False, description="one series per radio peer (backhaul links)")
    max_peers: int = Field(16, ge=1, le=256, description="peers that get their own series")


class DeviceConfig(Strict):
    name: Name
    role: Role
    address: Address
    parent: Name | None = Field(None, description="device of the same site this one sits behind")
    profile: str | None = Field(None, description="SNMP profile (shortcut for snmp.profile)")
    uplink: UplinkConfig | None = None
    radio: RadioConfig | None = None
    icmp: IcmpSection | None = None
    snmp: SnmpSection | None = None

    @model_validator(mode="after")
    def _one_profile(self) -> DeviceConfig:
        if self.profile and self.snmp and self.snmp.profile:
            raise ValueError("set profile either on the device or in its snmp section, not both")
        return self


class WeeklyRecurrence(Strict):
    days: list[Weekday] = Field(min_length=1)
    at: time = Field(description="local start time HH:MM in the config timezone")

    @field_validator("days", mode="before")
    @classmethod
    def _lower_days(cls, value: object) -> object:
        # `Sun` and `sunday` are Sunday; `sunny` is not (exact names, any case)
        if isinstance(value, list):
            return [_FULL_DAYS.get(d.lower(), d.lower()) if isinstance(d, str) else d
                    for d in value]
        return value


class MaintenanceWindow(Strict):
    """A one-off window (`start`) or a weekly one (`weekly`), lasting `duration`."""

    start: datetime | None = None
    weekly: WeeklyRecurrence | None = None
    duration: WindowDuration
    reason: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        if (self.start is None) == (self.weekly is None):
            raise ValueError("a maintenance window needs exactly one of start or weekly")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-12-06T22:00:00+07:00")
        if self.weekly is not None and self.duration > 7 * 86400:
            raise ValueError("a weekly window cannot last longer than a week")
        return self


class SiteConfig(Strict):
    id: Ident = Field(description="stable id, e.g. the kode wilayah 18.71.01.1003")
    name: str = Field(min_length=1, description="the kelurahan name")
    kecamatan: str = Field(min_length=1)
    location: Location | None = None
    isp: str | None = None
    upstream: Ident | None = Field(None, description="id of an entry under upstreams:")
    sla_target: float | None = Field(None, gt=0, le=1, description="e.g. 0.99 for 99%")
    power_feed: Name | None = Field(
        None, description="the electricity feed (PLN feeder, gardu) the site's equipment "
        "hangs off: sites of one feed going dark together point at the power")
    maintenance: list[MaintenanceWindow] = []
    icmp: IcmpSection | None = None
    snmp: SnmpSection | None = None
    state: StateSection | None = None
    devices: list[DeviceConfig] = Field(min_length=1)


class UpstreamConfig(Strict):
    """An aggregation point (a kecamatan POP) that sites hang off."""

    id: Ident
    name: str = Field(min_length=1)
    kecamatan: str | None = None
    upstream: Ident | None = Field(None, description="the upstream this one hangs off")
    icmp: IcmpSection | None = None
    snmp: SnmpSection | None = None
    devices: list[DeviceConfig] = Field(min_length=1)


class CanaryConfig(Strict):
    """A target the poller must always reach (the city core); if all fail, we are cut off."""

    name: Name
    address: Address
    icmp: IcmpSection | None = None


class HistoryConfig(Strict):
    """Where site transitions are kept across restarts (SQLite), and for how long."""

    path: str | None = Field(
        None, description="the SQLite file (relative to this file); default: history.sqlite "
        "in systemd's StateDirectory ($STATE_DIRECTORY), else memory only")
    retention: RetentionDuration = Field(400 * 86400.0,
                                         description="transitions older than this go (1d..3660d)")


def _host_port(value: object) -> str:
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9430")
    return str(value)


class Config(Strict):
    listen: str = Field("127.0.0.1:9430", description="HOST:PORT of /metrics and the API")
    public_listen: str | None = Field(
        None, description="HOST:PORT serving only the public status page (/public)")
    history: HistoryConfig = HistoryConfig()
    timezone: str = Field("Asia/Jakarta", description="for maintenance windows and reports")
    defaults: DefaultsConfig = DefaultsConfig()
    auths: dict[Name, AuthConfig] = {}
    canaries: list[CanaryConfig] = []
    upstreams: list[UpstreamConfig] = []
    sites: list[SiteConfig] = []
    sites_files: list[str] = Field([], description="more site lists (globs relative to this file)")
    thresholds: str | None = Field(
        None, description="a thresholds file over the packaged one (relative to this file)")

    @field_validator("listen", mode="before")
    @classmethod
    def _listen(cls, value: object) -> str:
        return _host_port(value)

    @field_validator("public_listen", mode="before")
    @classmethod
    def _public_listen(cls, value: object) -> str | None:
        return None if value is None else _host_port(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Jakarta)") from None
        return value


class SitesFile(Strict):
    """A file named by `sites_files`: just a list of sites."""

    sites: list[SiteConfig] = []


__all__ = [
    "WEEKDAYS",
    "AuthConfig",
    "CanaryConfig",
    "Config",
    "DefaultsConfig",
    "DegradedThresholds",
    "DeviceConfig",
    "HistoryConfig",
    "IcmpSection",
    "Location",
    "MaintenanceWindow",
    "RadioConfig",
    "SiteConfig",
    "SitesFile",
    "SnmpSection",
    "StateSection",
    "Strict",
    "UplinkConfig",
    "UpstreamConfig",
    "WeeklyRecurrence",
]
