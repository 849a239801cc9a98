"""`netwatch import-csv`: a spreadsheet of sites becomes `sites:` YAML.

Header (case-insensitive; `;` or `,` separated; UTF-8 with or without BOM):

    kode_wilayah  kelurahan  kecamatan  lat  lon       required (kode_wilayah may be
                                                        called kode_kelurahan, kode or id)
    isp  upstream  sla_target                           optional, per site
    device  role  address  profile  parent              optional: one row per device;
                                                        rows of one kode_wilayah form a site

Without device columns, `--devices rtr:router,ap1:ap` gives every site those devices (an `ap`,
`switch` or `server` gets the first router as parent, or name it: `ap1:ap:rtr`). Their
addresses come from columns named `<device>_address` (e.g. `rtr_address`) or from
`--address-plan`, a pattern with {kec} (kecamatan number of the code), {kel} (the site's
number within its kecamatan) and {dev} (the device's number in the template). A decimal comma
(`-5,3834`) is accepted. Every bad row is reported with its spreadsheet row number and nothing
is written unless the whole sheet is valid.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from netwatch.base.errors import format_path
from netwatch.config.model import SitesFile, UpstreamConfig
from netwatch.config.read import clean_loc, describe_error

ALIASES = {
    "kode_wilayah": ("kode_wilayah", "kode_kelurahan", "kode", "id", "kode wilayah"),
    "kelurahan": ("kelurahan", "name", "nama"),
    "kecamatan": ("kecamatan",),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "longitude"),
}
OPTIONAL_SITE = ("isp", "upstream", "sla_target")
DEVICE_COLUMNS = ("device", "role", "address", "profile", "parent")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


class ImportError_(Exception):
    """The sheet cannot be imported; `problems` lists every bad row."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class DeviceTemplate:
    name: str
    role: str
    parent: str | None


def parse_template(text: str) -> list[DeviceTemplate]:
    """`rtr:router,ap1:ap[:parent]` -> templates; non-routers hang off the first router."""
    templates: list[DeviceTemplate] = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        parts = item.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise ImportError_([f"--devices: {item!r} is not name:role[:parent]"])
        templates.append(DeviceTemplate(parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    router = next((t.name for t in templates if t.role == "router"), None)
    return [t if t.parent or t.role in ("router", "upstream") or router is None
            else DeviceTemplate(t.name, t.role, router) for t in templates]


@dataclass
class _Site:
    rows: list[int]
    data: dict[str, Any]
    devices: list[dict[str, Any]] = field(default_factory=list)


def _read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    # newline="": the csv module itself reads \n, \r\n and a bare \r (old Mac exports) as
    # line ends, and keeps them inside quoted fields
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            values = [v.strip() for v in values]
            if delimiter == ";":
                values = [v.replace(",", ".") if _DECIMAL_COMMA.match(v) else v for v in values]
            rows.append((number, dict(zip(header, values, strict=False))))  # ragged: see later
    except csv.Error as exc:  # found by bench/fuzz.py: a malformed sheet is a row problem
        raise ImportError_([f"row {reader.line_num}: not readable as CSV ({exc})"]) from None
    return header, rows


def _column(header: list[str], key: str) -> str | None:
    return next((a for a in ALIASES[key] if a in header), None)


def _number(row: dict[str, str], column: str, number: int, problems: list[str]) -> float | None:
    value = row.get(column, "")
    try:
        return float(value)
    except ValueError:
        problems.append(f"row {number}: {column}: not a number: {value!r}")
        return None


class _Importer:
    def __init__(self, header: list[str], templates: list[DeviceTemplate],
                 address_plan: str | None, upstream_plan: str | None) -> None:
        self.header = header
        self.templates = templates
        self.address_plan = address_plan
        self.upstream_plan = upstream_plan
        self.problems: list[str] = []
        self.columns = {k: _column(header, k) for k in ALIASES}
        missing = [k for k, c in self.columns.items() if c is None]
        if missing:
            raise ImportError_([f"header: missing column(s) {', '.join(missing)} "
                                f"(found: {', '.join(header)})"])
        self.per_row_devices = "device" in header
        if not self.per_row_devices and not templates:
            raise ImportError_(
                ["header: no device columns; give --devices (e.g. rtr:router,ap1:ap)"])
        self.sites: dict[str, _Site] = {}
        self.kel_numbers: dict[str, int] = {}

    def add(self, number: int, row: dict[str, str]) -> None:
        c = self.columns
        code = row.get(c["kode_wilayah"] or "", "")
        site = self.sites.get(code)
        if site is None:
            site = self._new_site(code, number, row)
        else:
            site.rows.append(number)
        if self.per_row_devices:
            device = {"name": row.get("device", "")}
            device.update({k: row[k] for k in DEVICE_COLUMNS[1:] if row.get(k)})
            site.devices.append(device)

    def _new_site(self, code: str, number: int, row: dict[str, str]) -> _Site:
        c = self.columns
        lat = _number(row, c["lat"] or "", number, self.problems)
        lon = _number(row, c["lon"] or "", number, self.problems)
        data: dict[str, Any] = {"id": code, "name": row.get(c["kelurahan"] or "", ""),
                                "kecamatan": row.get(c["kecamatan"] or "", "")}
        if lat is not None and lon is not None:
            data["location"] = {"lat": round(lat, 6), "lon": round(lon, 6)}  # ~0.1 m
        for key in OPTIONAL_SITE:
            if row.get(key):
                data[key] = (_number(row, key, number, self.problems)
                             if key == "sla_target" else row[key])
        site = _Site([number], data)
        self.sites[code] = site
        kec = code.split(".")[2] if code.count(".") >= 3 else "0"
        self.kel_numbers[kec] = self.kel_numbers.get(kec, 0) + 1
        if self.upstream_plan and "upstream" not in data:
            data["upstream"] = self.upstream_plan.format(**_slots(code, data["kecamatan"], 0, 0))
        if not self.per_row_devices:
            site.devices = [self._templated(t, i, code, data["kecamatan"], row, number)
                            for i, t in enumerate(self.templates, start=1)]
        return site

    def _templated(self, t: DeviceTemplate, index: int, code: str, kecamatan: str,
                   row: dict[str, str], number: int) -> dict[str, Any]:
        device: dict[str, Any] = {"name": t.name, "role": t.role}
        address = row.get(f"{t.name}_address")
        if not address and self.address_plan:
            kec = code.split(".")[2] if code.count(".") >= 3 else "0"
            address = self.address_plan.format(
                **_slots(code, kecamatan, self.kel_numbers[kec], index))
        if not address:
            self.problems.append(f"row {number}: no address for {t.name} "
                                 f"(add a {t.name}_address column or --address-plan)")
        device["address"] = address or ""
        if row.get(f"{t.name}_profile"):
            device["profile"] = row[f"{t.name}_profile"]
        if t.parent:
            device["parent"] = t.parent
        return device


def _slots(code: str, kecamatan: str, kel: int, dev: int) -> dict[str, Any]:
    parts = code.split(".")
    kec = int(parts[2]) if len(parts) >= 3 and parts[2].isdigit() else 0
    slug = re.sub(r"[^a-z0-9]+", "-", kecamatan.lower()).strip("-")
    return {"kec": kec, "kel": kel, "dev": dev, "kecamatan": slug, "code": code}


def import_sites(text: str, templates: list[DeviceTemplate] | None = None,
                 address_plan: str | None = None, upstream_plan: str | None = None,
                 sla_target: float | None = None, uplink: str | None = None
                 ) -> list[dict[str, Any]]:
    """Sheet text -> validated site dicts, or ImportError_ listing every bad row."""
    header, rows = _read_rows(text)
    importer = _Importer(header, templates or [], address_plan, upstream_plan)
    for number, row in rows:
        importer.add(number, row)
    sites = list(importer.sites.values())
    for site in sites:
        if sla_target is not None:
            site.data.setdefault("sla_target", sla_target)
        site.data["devices"] = site.devices
        _apply_uplink(site.data, uplink)
    problems = importer.problems + _validate(sites)
    if problems:
        raise ImportError_(sorted(set(problems), key=_row_key))
    if not sites:
        raise ImportError_(["the sheet has no rows"])
    return [s.data for s in sites]


def _row_key(problem: str) -> tuple[int, str]:
    match = re.match(r"rows? (\d+)", problem)
    return (int(match.group(1)) if match else 0, problem)


def _validate(sites: list[_Site]) -> list[str]:
    try:
        SitesFile.model_validate({"sites": [s.data for s in sites]})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = clean_loc(error["loc"])
            site = sites[loc[1]] if len(loc) > 1 and isinstance(loc[1], int) else None
            where = ("row " if site and len(site.rows) == 1 else "rows ") + \
                ", ".join(map(str, site.rows)) if site else "sheet"
            message = describe_error(dict(error), SitesFile, loc)
            problems.append(f"{where}: {format_path(tuple(loc[2:]))}: {message}")
        return problems
    return []


def upstreams_for(sites: list[dict[str, Any]], address_plan: str) -> list[dict[str, Any]]:
    """One upstream per distinct `upstream` id, with a switch addressed from the plan."""
    seen: dict[str, dict[str, Any]] = {}
    for site in sites:
        up = site.get("upstream")
        if up and up not in seen:
            slots = _slots(site["id"], site["kecamatan"], 0, 1)
            seen[up] = {"id": up, "name": f"POP {site['kecamatan']}",
                        "kecamatan": site["kecamatan"],
                        "devices": [{"name": "sw", "role": "upstream",
                                     "address": address_plan.format(**slots)}]}
    result = list(seen.values())
    for item in result:
        UpstreamConfig.model_validate(item)
    return result


class _Flow(dict):  # type: ignore[type-arg]
    pass


class _Quoted(str):
    pass


def to_yaml(document: dict[str, Any]) -> str:
    """Readable YAML: one block per site, devices as one-line mappings, codes quoted."""

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping(
        "tag:yaml.org,2002:map", v.items(), flow_style=True))
    Dumper.add_representer(_Quoted, lambda d, v: d.represent_scalar(
        "tag:yaml.org,2002:str", str(v), style='"'))

    def shape(item: Any, key: str = "") -> Any:
        if isinstance(item, dict):
            inner = {k: shape(v, k) for k, v in item.items()}
            return _Flow(inner) if key in ("location", "device", "uplink") else inner
        if isinstance(item, list):
            return [_Flow(shape(v)) if key == "devices" else shape(v) for v in item]
        return _Quoted(item) if key == "id" and isinstance(item, str) else item

    return yaml.dump(shape(document), Dumper=Dumper, sort_keys=False, allow_unicode=True,
                     width=100)


def write_atomically(path: Path, text: str) -> None:
    """All or nothing: a temp file in the same directory, renamed over the target."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _apply_uplink(site: dict[str, Any], uplink: str | None) -> None:
    if not uplink:
        return
    name, _, capacity = uplink.partition(":")
    for device in site["devices"]:
        if device.get("role") == "router":
            uplink_config = {"ifname": name, **({"capacity": capacity} if capacity else {})}
            device.setdefault("uplink", uplink_config)
