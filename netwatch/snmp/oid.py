"""Object identifiers and the plain values the SNMP code works with.

The clients produce these at the edge (ber.py directly, the v3 session from pysnmp's pyasn1
objects), so everything behind them (walks, profile decoding, tests with recorded agents)
handles plain Python:

    Oid      tuple of ints, e.g. (1, 3, 6, 1, 2, 1, 1, 3, 0)
    Value    int (every integer type), bytes (OCTET STRING, IpAddress, Opaque),
             Oid (OBJECT IDENTIFIER), MISSING (noSuchObject/noSuchInstance/NULL)
             or END_OF_MIB (endOfMibView)
"""

from __future__ import annotations

import re
from typing import Final

Oid = tuple[int, ...]


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Final = _Marker("MISSING")  # noSuchObject, noSuchInstance (and NULL)
END_OF_MIB: Final = _Marker("END_OF_MIB")  # endOfMibView

Value = int | bytes | Oid | _Marker
VarBind = tuple[Oid, Value]


def parse_oid(text: str | Oid) -> Oid:
    """'1.3.6.1.2.1.1.3.0' (a leading dot is allowed) -> (1, 3, 6, 1, 2, 1, 1, 3, 0)."""
    if isinstance(text, tuple):
        return text
    parts = text.strip().lstrip(".").split(".")
    try:
        oid = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"not a numeric OID: {text!r}") from None
    if len(oid) < 2 or any(n < 0 for n in oid):
        raise ValueError(f"not a numeric OID: {text!r}")
    return oid


def format_oid(oid: Oid) -> str:
    return ".".join(map(str, oid))


def in_subtree(oid: Oid, root: Oid) -> bool:
    """True when oid lies strictly below root."""
    return len(oid) > len(root) and oid[: len(root)] == root


def is_present(value: Value) -> bool:
    return value is not MISSING and value is not END_OF_MIB


def as_text(value: Value, limit: int = 256) -> str:
    """A value as label text: printable, trimmed, bounded in length."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, tuple):
        text = format_oid(value)
    elif isinstance(value, int):
        text = str(value)
    else:
        return ""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text.strip()[:limit]


_HEX_TEXT = re.compile(r"(?:0x)?[0-9a-fA-F]{2}(?:[ :.-]?[0-9a-fA-F]{2}){2,}")


def clean_text(value: Value, limit: int = 256) -> str:
    """A name as agents send it, cleaned: cut at the first NUL (names padded with NULs and
    whatever followed in the agent's buffer), hex text decoded when it spells printable
    text ("4d696b726f54696b", "4D 69 6B ..."), other control characters dropped, runs of
    white space made one space. Not a name: ""."""
    if not isinstance(value, bytes):
        return as_text(value, limit)
    raw = value.split(b"\0", 1)[0]
    text = raw.decode("utf-8", "replace").replace("\ufffd", "")
    if _HEX_TEXT.fullmatch(text.strip()):
        digits = re.sub(r"[^0-9a-fA-F]", "", text.strip().removeprefix("0x"))
        decoded = bytes.fromhex(digits).split(b"\0", 1)[0]
        if decoded.isascii() and decoded.decode().isprintable() and \
                any(chr(c).isalpha() for c in decoded):
            text = decoded.decode()
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:limit]


def as_number(value: Value) -> int | None:
    """An integer value, or None for anything else (text, OIDs, missing)."""
    return value if isinstance(value, int) else None
