"""snmpsim's recording format (`OID|TAG|VALUE`), read into plain values.

Tags: 2 Integer32, 4 OCTET STRING, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32,
67 TimeTicks, 70 Counter64; a trailing `x` means the value is hex; `TAG:module` marks a
snmpsim variation (`numeric` reads its `initial=`). Used by the recorded test client and by
the lab, which serves sorted copies (snmpsim needs OID order).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from netwatch.snmp.oid import Oid, Value, parse_oid

INTEGER_TAGS = {"2", "65", "66", "67", "70"}
Record = tuple[Oid, str, str]  # OID, tag (with variation), raw value text


def parse_lines(lines: Iterable[str]) -> list[Record]:
    """Records in file order; blank lines and comments skipped."""
    out = []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line or line.startswith("#"):
            continue
        oid_text, tag, value = line.split("|", 2)
        out.append((parse_oid(oid_text), tag, value))
    return out


def read_records(path: str | Path) -> list[Record]:
    return parse_lines(Path(path).read_text(encoding="utf-8", errors="replace").splitlines())


def format_records(records: Iterable[Record]) -> str:
    return "".join(f"{'.'.join(map(str, oid))}|{tag}|{value}\n" for oid, tag, value in records)


def sorted_records(records: Iterable[Record]) -> list[Record]:
    """OID order (numeric, component by component), last duplicate wins."""
    unique = {oid: (oid, tag, value) for oid, tag, value in records}
    return [unique[oid] for oid in sorted(unique)]


def decode_value(tag: str, text: str) -> Value:
    """A record's value as the client would return it."""
    base, _, variation = tag.partition(":")
    hexed = base.endswith("x")
    base = base.rstrip("x")
    if variation:
        settings = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        text = settings.get("initial", settings.get("value", "0"))
    if base in INTEGER_TAGS:
        return int(float(text))
    if base == "6":
        return parse_oid(text)
    raw = _unhex(text) if hexed else text.encode("utf-8", "surrogateescape")
    if base == "64" and not hexed:
        raw = bytes(int(p) for p in text.split("."))
    return raw


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:  # anonymised recordings hold things like "346288XXYYZZ"
        return text.encode("ascii", "replace")


def clean_hex(text: str) -> str:
    """Valid hex for snmpsim: anonymisation letters become 0, odd lengths get padded."""
    cleaned = "".join(c if c in "0123456789abcdefABCDEF" else "0" for c in text)
    return cleaned if len(cleaned) % 2 == 0 else "0" + cleaned


def read_values(path: str | Path) -> dict[Oid, Value]:
    """{OID: value} of a recording, in OID order."""
    return {oid: decode_value(tag, value) for oid, tag, value in sorted_records(read_records(path))}
