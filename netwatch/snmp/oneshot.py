"""`netwatch probe --snmp ADDRESS...`: one SNMP poll from the shell, through the daemon's
prober and profiles.

Prints per address the identity (vendor, model, version, uptime), the profile chosen (and
whether `auto` chose it), health values, a line per radio or LTE interface (frequency,
signal, noise, CCQ, clients; RSRP, RSRQ, SINR), and the interface table (name, alias, state,
speed, octets in/out; "-" for what the device does not report) to stdout. Exit 0 when
every poll succeeded, 1 when one failed, 2 on a usage or config error. Credentials come
inline (`--community`) or by name from a config (`--auth NAME --config FILE`); they are
never printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

from netwatch.base.errors import ConfigError, ProbeError
from netwatch.base.exposition import parse_labels
from netwatch.config.model import AuthConfig
from netwatch.config.read import read_config
from netwatch.snmp import profiles
from netwatch.snmp.prober import SnmpProber, adhoc_target
from netwatch.snmp.result import SnmpResult


def resolve_auth(args: argparse.Namespace) -> AuthConfig:
    """The credentials asked for; raises ValueError with what to fix."""
    if args.auth:
        if not args.config:
            raise ValueError("--auth NAME needs --config FILE (the config that defines it)")
        config, _ = read_config(args.config)
        auth = config.auths.get(args.auth)
        if auth is None:
            known = ", ".join(sorted(config.auths)) or "none"
            raise ValueError(f"no auth {args.auth!r} in {args.config} (known: {known})")
        return auth
    if not args.community:
        raise ValueError("give --community (v1/v2c) or --auth NAME --config FILE")
    return AuthConfig.model_validate({"version": args.snmp_version, "community": args.community})


@dataclass
class _Interface:
    index: int = 0
    alias: str = ""
    values: dict[str, float] = field(default_factory=dict)


def _human(value: float, unit: str) -> str:
    for prefix in ("", "k", "M", "G", "T"):
        if abs(value) < 1000 or prefix == "T":
            return f"{value:.3g} {prefix}{unit}"
        value /= 1000
    return ""


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    return (f"{days}d " if days else "") + time.strftime("%H:%M:%S", time.gmtime(rest))


# radio and LTE values shown per interface: metric -> (name, factor, unit)
_RADIO = {
    "netwatch_radio_frequency_hertz": ("frequency", 1e-6, "MHz"),
    "netwatch_radio_signal_dbm": ("signal", 1, "dBm"),
    "netwatch_radio_noise_floor_dbm": ("noise", 1, "dBm"),
    "netwatch_radio_tx_ccq_ratio": ("ccq", 100, "%"),
    "netwatch_wireless_clients": ("clients", 1, ""),
    "netwatch_lte_rsrp_dbm": ("rsrp", 1, "dBm"),
    "netwatch_lte_rsrq_db": ("rsrq", 1, "dB"),
    "netwatch_lte_sinr_db": ("sinr", 1, "dB"),
}


def _radio_lines(radios: dict[str, dict[str, float]]) -> list[str]:
    lines = []
    for ifname, values in sorted(radios.items()):
        parts = [f"{label} {values[metric] * factor:g}{' ' + unit if unit else ''}"
                 for metric, (label, factor, unit) in _RADIO.items() if metric in values]
        lines.append(f"  radio {ifname}  " + "  ".join(parts))
    return lines


def report(address: str, result: SnmpResult, setting: str) -> str:
    single: dict[str, float] = {}
    info: dict[str, str] = {}
    sensors: list[str] = []
    interfaces: dict[str, _Interface] = {}
    radios: dict[str, dict[str, float]] = {}
    for name, text, value in result.samples:
        labels = parse_labels(text)
        if name == "netwatch_device_info":
            info = labels
        elif name in _RADIO:
            radios.setdefault(labels.get("ifname", "?"), {})[name] = value
        elif "ifname" in labels and name.startswith("netwatch_interface_"):
            row = interfaces.setdefault(labels["ifname"], _Interface())
            if name == "netwatch_interface_info":
                row.index, row.alias = int(labels.get("ifindex", "0") or 0), labels["ifalias"]
            row.values[name] = value
        elif "sensor" in labels:
            unit = "°C" if "temperature" in name else "V"
            sensors.append(f"{labels['sensor']} {value:g} {unit}")
        elif not labels:
            single[name] = value
    chosen = "chosen by auto" if setting == "auto" else "as configured"
    lines = [f"{address}  profile {result.profile} ({chosen})"]
    lines.append("  " + "  ".join(f"{k} {info.get(k) or '-'}" for k in
                                  ("vendor", "model", "os_version", "sysname")))
    if "netwatch_device_uptime_seconds" in single:
        boot = time.strftime("%Y-%m-%d %H:%M:%S UTC",
                             time.gmtime(single["netwatch_device_boot_time_seconds"]))
        lines.append(f"  uptime {_duration(single['netwatch_device_uptime_seconds'])}"
                     f" (booted {boot})")
    health = []
    if "netwatch_device_cpu_utilization_ratio" in single:
        health.append(f"cpu {single['netwatch_device_cpu_utilization_ratio'] * 100:.1f} %")
    if "netwatch_device_memory_total_bytes" in single:
        total = _human(single["netwatch_device_memory_total_bytes"], "B")
        used = single.get("netwatch_device_memory_used_bytes")
        health.append(f"memory {_human(used, 'B')} of {total}" if used is not None
                      else f"memory {total}")
    if health or sensors:
        lines.append("  " + "  ".join(health + sensors))
    lines += _radio_lines(radios)
    lines += _table(interfaces)
    if not result.ok:
        lines.append(f"  INCOMPLETE: {result.reason}: {result.detail}")
    return "\n".join(lines)


def _count(value: float | None) -> str:
    """A counter as printed: "-" when the device does not report it (0 is a reading)."""
    return "-" if value is None else str(int(value))


def _table(interfaces: dict[str, _Interface]) -> list[str]:
    if not interfaces:
        return ["  (no interfaces)"]
    rows = [("ifname", "alias", "state", "speed", "in octets", "out octets")]
    for name, row in sorted(interfaces.items(), key=lambda kv: (kv[1].index, kv[0])):
        v = row.values
        oper = {1.0: "up", 0.0: "down"}.get(v.get("netwatch_interface_oper_up", -1), "?")
        admin = {1.0: "up", 0.0: "down"}.get(v.get("netwatch_interface_admin_up", -1), "?")
        speed = v.get("netwatch_interface_speed_bytes")
        rows.append((name, row.alias[:24], f"{oper}/{admin}",
                     _human(speed * 8, "bit/s") if speed else "-",
                     _count(v.get("netwatch_interface_receive_bytes_total")),
                     _count(v.get("netwatch_interface_transmit_bytes_total"))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) if i < 4 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in rows]


async def run(args: argparse.Namespace) -> int:
    try:
        auth = resolve_auth(args)
    except (ValueError, ConfigError) as exc:
        print(f"netwatch probe --snmp: {exc}", file=sys.stderr)
        return 2
    if args.profile != "auto" and args.profile not in profiles.available():
        print(f"netwatch probe --snmp: unknown profile {args.profile!r} (known: auto, "
              f"{', '.join(profiles.available())})", file=sys.stderr)
        return 2
    prober = SnmpProber()
    await prober.start()
    failed = False
    try:
        for index, address in enumerate(args.addresses):
            target = adhoc_target(address, auth, port=args.port, profile=args.profile,
                                  timeout=args.timeout, retries=args.retries,
                                  name=f"probe{index}")
            try:
                result = await prober.poll(target)
            except ProbeError as exc:
                print(f"{address}  FAILED ({exc.reason}): {exc}")
                failed = True
                continue
            print(report(address, result, args.profile))
            failed = failed or not result.ok
    finally:
        await prober.close()
    return 1 if failed else 0
