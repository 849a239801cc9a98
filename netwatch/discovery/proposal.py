"""The YAML `netwatch discover` proposes: for a person to review, never written to a config.

    text = config_proposal(inventory, analysis, readings, header)    # discover --config
    text = sweep_proposal(found, header)                             # discover --sweep

Everything is valid YAML (a test loads it), in the config's own shape where the config can
say it: `sites:` and `upstreams:` entries carrying only the fields to change, each with a
comment giving the evidence (which device saw whom, on which interface, by which
protocol). What the config cannot say goes into lists of its own: devices the neighbours
place at another site (`moved_devices`), and neighbours that are no configured device
(`unknown_neighbors`, one entry per neighbour and interface however many rows and protocols
report it) with the management addresses they advertise (never contacted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from netwatch.discovery.topology import Analysis, Finding, UnknownNeighbour, key_text
from netwatch.discovery.walk import Reading
from netwatch.inventory.model import Inventory

# a role to start from, by profile: the person reviewing decides
ROLE_BY_PROFILE = {"mikrotik": "router", "cisco": "switch", "unifi": "ap",
                   "ubiquiti-airos": "ap", "ubiquiti-ltu": "ap", "ubiquiti-af60": "ap",
                   "ubiquiti-edgemax": "server", "linux": "server"}


# what YAML does not print as is (C1 controls, surrogates, U+FFFE/F) or reads as a line
# break (NEL, U+2028, U+2029): JSON leaves these unescaped, and a neighbour names itself
_NOT_PLAIN = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def q(text: str) -> str:
    """A YAML scalar that stays text, on one line, whatever a device calls itself (JSON
    strings are YAML double-quoted scalars; YAML's own line breaks escaped too)."""
    return _NOT_PLAIN.sub(lambda m: f"\\u{ord(m.group()):04x}",
                          json.dumps(text, ensure_ascii=False))


def _comment(text: str) -> str:
    return " ".join(text.split())


def _group_entries(inventory: Inventory, findings: list[Finding]) -> list[str]:
    """`sites:` and `upstreams:` entries for the findings the config can express."""
    by_group: dict[str, list[str]] = {}
    fields: dict[str, list[str]] = {}
    for f in findings:
        group, name = f.device
        if f.kind in ("upstream", "missing_upstream"):
            was = f"was {f.expected}" if f.expected else "none configured"
            fields.setdefault(group, []).append(
                f"    upstream: {q(f.observed)}    # {was}: {_comment(f.evidence)}")
        elif f.kind == "missing_parent" or f.observed.partition("/")[0] == group:
            parent = f.observed.partition("/")[2]
            was = f"was {f.expected}" if f.expected else "missing"
            by_group.setdefault(group, []).append(
                f"      - name: {q(name)}\n        parent: {q(parent)}    # {was}: "
                f"{_comment(f.evidence)}")
    out: list[str] = []
    for section, groups in (("sites", inventory.sites), ("upstreams", inventory.upstreams)):
        entries = []
        for group in sorted(set(by_group) | set(fields)):
            if group not in groups:
                continue
            title = getattr(groups[group], "name", "")
            lines = [f"  - id: {q(group)}    # {_comment(title)}", *fields.get(group, [])]
            if group in by_group:
                lines += ["    devices:", *by_group[group]]
            entries.append("\n".join(lines))
        if entries:
            out += [f"{section}:", *entries]
    return out


def _moved(findings: Iterable[Finding]) -> list[str]:
    lines = []
    for f in findings:
        if f.kind == "parent" and f.observed.partition("/")[0] != f.device[0]:
            lines.append(f"  - {{site: {q(f.device[0])}, device: {q(f.device[1])}, "
                         f"parent: {q(f.expected)}, seen_behind: {q(f.observed)}}}"
                         f"    # {_comment(f.evidence)}")
    return ["moved_devices:", *lines] if lines else []


def _unknown(neighbours: list[UnknownNeighbour]) -> list[str]:
    lines = []
    for reporter, n, protocols in neighbours:
        fields = [f"seen_by: {q(key_text(reporter))}",
                  f"ifname: {q(n.ifname)}", f"protocol: {q(', '.join(protocols))}",
                  f"name: {q(n.name)}", f"port: {q(n.port)}", f"chassis: {q(n.chassis)}",
                  f"addresses: [{', '.join(q(a) for a in n.addresses)}]"]
        if n.description:
            fields.append(f"platform: {q(n.description[:80])}")
        lines.append("  - {" + ", ".join(fields) + "}")
    return ["unknown_neighbors:", *lines] if lines else []


def config_proposal(inventory: Inventory, analysis: Analysis, readings: list[Reading],
                    header: str) -> str:
    answered = [r for r in readings if r.topology is not None]
    failed = [r for r in readings if r.topology is None]
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [
        "# Proposals to review: nothing was changed. Copy what is right into the config.",
        f"# {len(readings)} devices asked by SNMP, {len(answered)} answered, "
        f"{sum(1 for r in answered if r.topology and r.topology.neighbors)} reported "
        f"neighbours; {len(analysis.findings)} findings, "
        f"{len(analysis.unknown_neighbours())} unknown neighbours.",
    ]
    for reading in failed:
        who = f"{reading.key[0]}/{reading.key[1]}" if reading.key else reading.address
        lines.append(f"# not read: {who} ({_comment(reading.error)})")
    body = [*_group_entries(inventory, analysis.findings), *_moved(analysis.findings),
            *_unknown(analysis.unknown_neighbours())]
    if not body:
        body = ["{}    # the neighbours agree with the config; nothing to propose"]
    return "\n".join([*lines, *body]) + "\n"


def device_name(sysname: str, address: str, taken: set[str]) -> str:
    """A config device name from the sysName (else the address), unique among `taken`."""
    base = re.sub(r"[^a-z0-9]+", "-", sysname.lower().split(".")[0]).strip("-")[:40].strip("-")
    base = base or "dev-" + re.sub(r"[^0-9a-f]+", "-", address.lower()).strip("-")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def sweep_proposal(found: list[Reading], silent: list[str], header: str) -> str:
    """`devices:` entries for the swept devices that answered SNMP and are not configured."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines.append("# Devices not in the config, to review: names from sysName, roles guessed "
                 "from the profile.")
    if silent:
        lines.append(f"# answered ping but not SNMP ({len(silent)}): " + ", ".join(silent))
    taken: set[str] = set()
    entries = []
    for reading in found:
        name = device_name(reading.sysname, reading.address, taken)
        role = ROLE_BY_PROFILE.get(reading.profile, "router")
        what = " ".join(v for v in (reading.identity.get("vendor"),
                                    reading.identity.get("model"),
                                    reading.identity.get("os_version")) if v)
        entries.append(f"  - {{name: {q(name)}, role: {role}, address: {q(reading.address)}, "
                       f"profile: {reading.profile}}}    # {_comment(what) or 'unknown model'}"
                       f"; sysName {q(reading.sysname)}")
    body = ["devices:", *entries] if entries else ["{}    # nothing new answered SNMP"]
    return "\n".join([*lines, *body]) + "\n"
